import { spawn } from 'node:child_process'
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { GroupRecords } from '../src/supervisor/group-records.js'
import { groupAlive } from '../src/supervisor/kill-group.js'
import { tempDir, type TestContext } from './helper.js'
import { waitFor } from './supervisor-helper.js'

// Which written-down process groups the next server ends: only those whose
// server is gone, and only when the group is still the one written down.

/** A detached `sleep`: the leader of a process group of its own. */
function sleeper (t: TestContext): number {
  const child = spawn('sleep', ['300'], { detached: true, stdio: 'ignore' })
  child.unref()
  t.teardown(() => { try { process.kill(-child.pid!, 'SIGKILL') } catch {} })
  return child.pid!
}

t.test('a group whose server is gone is ended; one whose server runs is left alone', async (t) => {
  const dir = join(tempDir(), 'run')
  const records = new GroupRecords(dir)
  const mine = sleeper(t)
  const orphan = sleeper(t)
  records.started('mine', mine) // written down by this process, which runs
  records.started('orphan', orphan)
  // As if a server that is gone had written it: a pid that does not run.
  const file = join(dir, 'orphan.json')
  const record = JSON.parse(readFileSync(file, 'utf8'))
  writeFileSync(file, JSON.stringify({ ...record, owner: 2 ** 22 + 1 }))

  const ended = await records.endLeftovers()
  t.same(ended, [{ plugin: 'orphan', pgid: orphan, how: 'gone' }])
  await waitFor('the orphan group to end', () => !groupAlive(orphan))
  t.ok(groupAlive(mine), 'the group of a running server is left alone')
  t.same(readdirSync(dir), ['mine.json'], 'the ended group is crossed out')

  records.ended('mine')
  t.same(readdirSync(dir), [])
})

t.test('a group id now led by another process is never signalled', async (t) => {
  const dir = join(tempDir(), 'run')
  mkdirSync(dir)
  const other = sleeper(t)
  // The leader's start time does not match: the pid was handed out again.
  writeFileSync(join(dir, 'old.json'), JSON.stringify({ pgid: other, started: '1', owner: 2 ** 22 + 1, ownerStarted: '1' }))
  t.same(await new GroupRecords(dir).endLeftovers(), [])
  t.ok(groupAlive(other), 'left running')
  t.same(readdirSync(dir), [], 'the stale record is gone')
})

t.test('no run folder, or a record that is not JSON: nothing to do', async (t) => {
  const dir = join(tempDir(), 'run')
  t.same(await new GroupRecords(dir).endLeftovers(), [])
  mkdirSync(dir)
  writeFileSync(join(dir, 'bad.json'), '{not json')
  t.same(await new GroupRecords(dir).endLeftovers(), [])
  t.same(readdirSync(dir), [])
})

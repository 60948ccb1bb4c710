import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { GroupRecords } from '../src/supervisor/group-records.js'
import { groupAlive } from '../src/supervisor/kill-group.js'
import { tempDir, type TestContext } from './helper.js'
import { pidAlive, waitFor, waitGone } from './supervisor-helper.js'

// Which written-down process groups the next server ends: only those whose
// server is gone, and only when the group is still the one written down;
// with them, every process that carries the run's id, wherever it went.

/** A detached `sleep`: the leader of a process group of its own, with `env` added to its environment. */
function sleeper (t: TestContext, env: Record<string, string> = {}): number {
  const child = spawn('sleep', ['300'], { detached: true, stdio: 'ignore', env: { ...process.env, ...env } })
  child.unref()
  t.teardown(() => { try { process.kill(-child.pid!, 'SIGKILL') } catch {} })
  return child.pid!
}

/** As if a server that is gone had written the plugin's record: a pid that does not run. */
function orphanRecord (dir: string, plugin: string): void {
  const file = join(dir, `${plugin}.json`)
  writeFileSync(file, JSON.stringify({ ...JSON.parse(readFileSync(file, 'utf8')), owner: 2 ** 22 + 1 }))
}

const RUN_ID = 'f'.repeat(32)

t.test('a group whose server is gone is ended; one whose server runs is left alone', async (t) => {
  const dir = join(tempDir(), 'run')
  const records = new GroupRecords(dir)
  const mine = sleeper(t)
  const orphan = sleeper(t)
  records.started('mine', mine, RUN_ID) // written down by this process, which runs
  records.started('orphan', orphan, RUN_ID.replace(/f/g, 'e'))
  orphanRecord(dir, 'orphan')

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

t.test('what carries the run id is ended with the group, even once the group is gone', { skip: process.platform !== 'linux' && 'found through /proc (Linux)' }, async (t) => {
  const dir = join(tempDir(), 'run')
  const runId = randomBytes(16).toString('hex')
  const leader = spawn('sleep', ['300'], { detached: true, stdio: 'ignore', env: { ...process.env, AIGIS_RUN_ID: runId } })
  const records = new GroupRecords(dir)
  await once(leader, 'spawn')
  records.started('orphan', leader.pid!, runId)
  orphanRecord(dir, 'orphan')
  // Left the group (a session of its own) and outlived its leader.
  const escapee = sleeper(t, { AIGIS_RUN_ID: runId })
  const stranger = sleeper(t, { AIGIS_RUN_ID: RUN_ID })
  leader.kill('SIGKILL')
  await once(leader, 'exit')
  t.notOk(groupAlive(leader.pid!), 'the group is gone')

  t.same(await records.endLeftovers(), [{ plugin: 'orphan', pgid: leader.pid, how: 'gone' }])
  await waitGone(escapee)
  t.notOk(pidAlive(escapee), 'the process carrying the run id is ended')
  t.ok(pidAlive(stranger), 'one carrying another run id is left alone')
  t.same(readdirSync(dir), [])
})

t.test('a record without a run id (an older server\'s) still ends its group', async (t) => {
  const dir = join(tempDir(), 'run')
  mkdirSync(dir)
  const group = sleeper(t)
  const records = new GroupRecords(dir)
  records.started('old', group, RUN_ID)
  const { runId, ...old } = JSON.parse(readFileSync(join(dir, 'old.json'), 'utf8'))
  t.equal(runId, RUN_ID, 'the run id is written down')
  writeFileSync(join(dir, 'old.json'), JSON.stringify({ ...old, owner: 2 ** 22 + 1 }))
  t.same(await records.endLeftovers(), [{ plugin: 'old', pgid: group, how: 'gone' }])
  await waitFor('the group to end', () => !groupAlive(group))
})

t.test('no run folder, or a record that is not JSON: nothing to do', async (t) => {
  const dir = join(tempDir(), 'run')
  t.same(await new GroupRecords(dir).endLeftovers(), [])
  mkdirSync(dir)
  writeFileSync(join(dir, 'bad.json'), '{not json')
  t.same(await new GroupRecords(dir).endLeftovers(), [])
  t.same(readdirSync(dir), [])
})

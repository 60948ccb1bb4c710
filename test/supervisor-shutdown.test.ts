import t from 'tap'
import { join } from 'node:path'
import { tempDir, writeFiles, type TestContext } from './helper.js'
import { startCli, until, type RunningCli } from './cli-helper.js'
import { externalPlugin, fixture, internalPlugin, pidAlive, waitFor, waitGone } from './supervisor-helper.js'

// The real CLI on SIGTERM and SIGINT: exit 0 with no child or grandchild of
// any plugin left behind, not even one that left the plugin's process group;
// and what a SIGKILLed server left running, ended by the next one.

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  t.test(`${signal}: every plugin's process group is gone when the server exits`, async (t) => {
    const dir = tempDir()
    await writeFiles(dir, {
      'config.aigis': '[internal]\nspawner = "plugins/spawner"\n[external]\ntree = "plugins/tree"\n',
      ...externalPlugin('plugins/tree', 'LAUNCH = ["sh", "tree.sh"]', { 'tree.sh': fixture('proc-tree.sh') }),
      ...internalPlugin('plugins/spawner', 'LAUNCH = "main.ts"', {
        'main.ts': `
          import { spawn } from 'node:child_process'
          export function launch () {
            const child = spawn('sleep', ['1000'], { stdio: 'ignore' })
            console.log('grandchild ' + child.pid)
          }
        `
      })
    })
    const cli = await startCli(t, ['--config', join(dir, 'config.aigis'), '--data-dir', join(dir, 'data')])
    const pids: Record<string, number> = {}
    await until('both plugins to report their grandchild', () => {
      for (const record of cli.records()) {
        if (typeof record.msg === 'string' && record.msg.startsWith('grandchild ')) {
          pids[`${record.plugin} child`] = record.pid
          pids[`${record.plugin} grandchild`] = Number(record.msg.split(' ')[1])
        }
      }
      return Object.keys(pids).length === 4
    })
    for (const [what, pid] of Object.entries(pids)) t.ok(pidAlive(pid), `${what} runs`)

    cli.child.kill(signal)
    const exit = await cli.exited
    t.same(exit, { code: 0, signal: null }, cli.stderr())
    for (const [what, pid] of Object.entries(pids)) t.notOk(pidAlive(pid), `${what} is gone`)
  })
}

/** The pids of the escaped grandchildren (proc-escape.mjs) the CLI's plugin printed. */
function escapees (cli: RunningCli): number[] {
  return cli.records().filter((r) => typeof r.msg === 'string' && /^(escapee|stubborn) \d+$/.test(r.msg)).map((r) => Number(r.msg.split(' ')[1]))
}

async function escapeProject (): Promise<string[]> {
  const dir = tempDir()
  await writeFiles(dir, {
    'config.aigis': '[external]\nescape = "plugins/escape"\n',
    ...externalPlugin('plugins/escape', 'LAUNCH = ["node", "main.mjs"]\nSTOP_TIMEOUT = 0.3', { 'main.mjs': fixture('proc-escape.mjs') })
  })
  return ['--config', join(dir, 'config.aigis'), '--data-dir', join(dir, 'data')]
}

/**
 * Waits (up to 15 s) for the processes to be gone, without failing: the one
 * ignoring SIGTERM is SIGKILLed, and a SIGKILLed process in the middle of a
 * disk wait (other tests writing hundreds of MB) may still be listed for a
 * moment after the server waited 2 s for it. One never signalled is never
 * gone, and fails the assertion after the wait.
 */
async function allGone (pids: number[]): Promise<void> {
  for (const pid of pids) await waitGone(pid).catch(() => {})
}

/** Whatever a failing test leaves running would run for good. */
function killAtEnd (t: TestContext, pids: number[]): void {
  t.teardown(() => {
    for (const pid of pids) {
      try { process.kill(pid, 'SIGKILL') } catch {}
    }
  })
}

t.test('SIGTERM: processes that left their plugin\'s group (setsid) are gone when the server exits', async (t) => {
  const cli = await startCli(t, await escapeProject())
  const pids = await waitFor('both escapees', () => { const found = escapees(cli); return found.length === 2 && found })
  killAtEnd(t, pids)
  for (const pid of pids) t.ok(pidAlive(pid), `escapee ${pid} runs`)
  cli.child.kill('SIGTERM')
  t.same(await cli.exited, { code: 0, signal: null }, cli.stderr())
  await allGone(pids)
  for (const pid of pids) t.notOk(pidAlive(pid), `escapee ${pid} is gone`)
})

t.test('escapees a SIGKILLed server left running are ended by the next server on its data dir', async (t) => {
  const args = await escapeProject()
  const first = await startCli(t, args)
  const pids = await waitFor('both escapees', () => { const found = escapees(first); return found.length === 2 && found })
  killAtEnd(t, pids)
  first.child.kill('SIGKILL')
  await first.exited
  for (const pid of pids) t.ok(pidAlive(pid), `escapee ${pid} outlived its server`)

  const second = await startCli(t, args)
  // Said before the plugins load; stdout and the HTTP answers are two channels, so waited for.
  await until('the next server to say it ended the group', () => second.records().some((r) => r.level === 'warn' && /^ended process group \d+ of plugin "escape"/.test(r.msg)))
  await allGone(pids)
  for (const pid of pids) t.notOk(pidAlive(pid), `escapee ${pid} was ended`)
  second.child.kill('SIGTERM')
  t.same(await second.exited, { code: 0, signal: null })
})

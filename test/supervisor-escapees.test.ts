import t, { type Test } from 'tap'
import type { FastifyInstance } from 'fastify'
import { procStat, STAT } from '../src/supervisor/proc-stat.js'
import { startServer, type TestContext } from './helper.js'
import { externalPlugin, fixture, internalPlugin, logsOf, pidAlive, waitFor, waitForLog, waitForState, waitGone } from './supervisor-helper.js'

// Processes that leave their plugin's process group (setsid, as daemons do)
// are still part of its run: they carry its AIGIS_RUN_ID, and end with it on
// stop, restart, a crash of the plugin, a forced kill and the server
// closing. They are found through /proc: Linux only.

if (process.platform !== 'linux') t.plan(0, 'escaped processes are found through /proc (Linux)')

/** What one run of the proc-escape.mjs fixture printed: two escaped grandchildren and its run id. */
interface EscapeRun { pid: number, runId: string, escapee: number, stubborn: number }

async function escapeRun (t: TestContext, app: FastifyInstance, name: string, pid: number): Promise<EscapeRun> {
  const said = async (prefix: string): Promise<string> => {
    const record = await waitFor(`"${prefix}" from ${pid}`, () => logsOf(app, name).find((r) => r.pid === pid && r.msg.startsWith(`${prefix} `)))
    return record.msg.slice(prefix.length + 1)
  }
  const run = { pid, escapee: Number(await said('escapee')), stubborn: Number(await said('stubborn')), runId: await said('run id') }
  // Whatever a failing test leaves running would run for good.
  t.teardown(() => {
    for (const escaped of [run.escapee, run.stubborn]) {
      try { process.kill(escaped, 'SIGKILL') } catch {}
    }
  })
  return run
}

/** Both grandchildren run, outside the plugin's process group. */
function assertEscaped (t: Test, run: EscapeRun): void {
  for (const [what, escaped] of [['escapee', run.escapee], ['stubborn escapee', run.stubborn]] as const) {
    t.ok(pidAlive(escaped), `the ${what} runs`)
    t.not(Number(procStat(escaped)?.[STAT.pgrp]), run.pid, `the ${what} left the plugin's process group`)
  }
}

/**
 * Both grandchildren end. Waited for, not looked at once: a SIGKILLed process
 * in the middle of a disk wait (other tests writing hundreds of MB) is
 * still listed for a moment after the stop returned; one never signalled
 * is never gone, and fails here after the wait.
 */
async function assertGone (t: Test, run: EscapeRun, when: string): Promise<void> {
  await waitGone(run.escapee).catch(() => {})
  await waitGone(run.stubborn).catch(() => {})
  t.notOk(pidAlive(run.escapee), `${when}: the escapee is gone`)
  t.notOk(pidAlive(run.stubborn), `${when}: the escapee ignoring SIGTERM is gone`)
}

const escaping = (launch = '"node", "main.mjs"', more = ''): Record<string, string> =>
  externalPlugin('plugins/escape', `LAUNCH = [${launch}]\nSTOP_TIMEOUT = 0.3${more}`, { 'main.mjs': fixture('proc-escape.mjs') })

t.test('stop ends the processes that left the group: SIGTERM, then SIGKILL after STOP_TIMEOUT', async (t) => {
  const server = await startServer(t, { config: '[external]\nescape = "plugins/escape"\n', files: escaping() })
  const running = await waitForState(server.app, 'escape', 'running')
  const run = await escapeRun(t, server.app, 'escape', running.pid!)
  t.match(run.runId, /^[0-9a-f]{32}$/, 'the plugin has its run id in AIGIS_RUN_ID')
  assertEscaped(t, run)

  const stopped = await server.call('/plugins/escape/stop', { method: 'POST' })
  t.match(stopped.body, { state: 'stopped', pid: null })
  t.notOk(pidAlive(run.pid), 'stop: the plugin is gone')
  await assertGone(t, run, 'stop')
  t.ok(logsOf(server.app, 'escape').some((r) => r.level === 'warn' && r.msg.includes('killed with SIGKILL')), 'the one ignoring SIGTERM needed SIGKILL')
})

t.test('restart ends the previous run\'s escapees; the new run has a run id of its own', async (t) => {
  const server = await startServer(t, { config: '[external]\nescape = "plugins/escape"\n', files: escaping() })
  const running = await waitForState(server.app, 'escape', 'running')
  const first = await escapeRun(t, server.app, 'escape', running.pid!)
  assertEscaped(t, first)

  const restarted = await server.call('/plugins/escape/restart', { method: 'POST' })
  t.equal(restarted.body.state, 'running')
  await assertGone(t, first, 'restart')
  const second = await escapeRun(t, server.app, 'escape', restarted.body.pid)
  t.not(second.runId, first.runId, 'every run has its own id')
  assertEscaped(t, second)
  await server.call('/plugins/escape/stop', { method: 'POST' })
  await assertGone(t, second, 'stop')
})

t.test('a plugin that exits on its own has the processes that left its group ended too', async (t) => {
  const server = await startServer(t, { config: '[external]\nescape = "plugins/escape"\n', files: escaping('"node", "main.mjs", "crash"') })
  const exited = await waitForState(server.app, 'escape', 'exited')
  t.equal(exited.exitCode, 1)
  const started = logsOf(server.app, 'escape').find((r) => r.msg.startsWith('escapee '))!
  const run = await escapeRun(t, server.app, 'escape', started.pid!)
  await assertGone(t, run, 'crash')
})

t.test('closing the server ends every plugin\'s escapees', async (t) => {
  const server = await startServer(t, { config: '[external]\nescape = "plugins/escape"\n', files: escaping() })
  const running = await waitForState(server.app, 'escape', 'running')
  const run = await escapeRun(t, server.app, 'escape', running.pid!)
  assertEscaped(t, run)
  await server.app.close()
  t.notOk(pidAlive(run.pid), 'close: the plugin is gone')
  await assertGone(t, run, 'close')
})

t.test('a forced kill (second signal) SIGKILLs the escapees with the group', async (t) => {
  const server = await startServer(t, { config: '[external]\nescape = "plugins/escape"\n', files: escaping() })
  const running = await waitForState(server.app, 'escape', 'running')
  const run = await escapeRun(t, server.app, 'escape', running.pid!)
  server.app.aigis.plugins.killAll()
  await waitGone(run.escapee)
  await waitGone(run.stubborn)
  await assertGone(t, run, 'kill')
})

t.test('an internal plugin has its run id in AIGIS_RUN_ID too', async (t) => {
  const server = await startServer(t, {
    config: '[internal]\nreporter = "plugins/reporter"\n',
    files: internalPlugin('plugins/reporter', 'LAUNCH = "main.ts"', {
      'main.ts': 'export function launch () { console.log(`run id ${process.env.AIGIS_RUN_ID}`); setInterval(() => {}, 1000) }'
    })
  })
  t.match((await waitForLog(server.app, 'reporter', 'run id ')).msg, /^run id [0-9a-f]{32}$/)
})

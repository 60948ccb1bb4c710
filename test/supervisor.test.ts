import t from 'tap'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { Child } from '../src/supervisor/child.js'
import { startServer, tempDir } from './helper.js'
import {
  externalPlugin, fixture, logsOf, makeExecutable, pidAlive, recordStates,
  waitFor, waitForLog, waitForState, waitForStatus, waitGone
} from './supervisor-helper.js'

// External plugins as real subprocesses: output into the central log, the
// environment they get, lifecycle routes and their 409s, and whole process
// groups ending on stop, restart and server close.

t.test('an external program runs with ENV, and every line it prints reaches the central log', async (t) => {
  const previous = process.env.AIGIS_TOKEN
  process.env.AIGIS_TOKEN = 'admin-secret'
  t.teardown(() => { if (previous === undefined) delete process.env.AIGIS_TOKEN; else process.env.AIGIS_TOKEN = previous })

  const server = await startServer(t, {
    config: '[external]\necho = "plugins/echo"\n',
    files: externalPlugin('plugins/echo', 'LAUNCH = ["node", "main.mjs"]\nENV = { GREETING = "the echo plugin" }', { 'main.mjs': fixture('proc-echo.mjs') })
  })
  const { app } = server
  const running = await waitForState(app, 'echo', 'running')
  t.type(running.pid, 'number')
  t.equal(running.restarts, 0)
  t.type(running.startedAt, 'string')
  t.equal(running.exitCode, null)

  const hello = await waitForLog(app, 'echo', 'hello from the echo plugin')
  t.match(hello, { plugin: 'echo', stream: 'stdout', level: 'info', pid: running.pid })
  t.match(await waitForLog(app, 'echo', 'a line on stderr'), { stream: 'stderr', level: 'error', pid: running.pid })
  t.match(await waitForLog(app, 'echo', 'structured warning'), { stream: 'stdout', level: 'warn', detail: 7 })
  const env = await waitForLog(app, 'echo', 'env AIGIS_URL=')
  t.equal(env.msg, `env AIGIS_URL=${server.url} AIGIS_PLUGIN=echo AIGIS_TOKEN=<unset>`, 'the admin token is not passed on')
  t.equal((await waitForLog(app, 'echo', 'cwd ')).msg, `cwd ${join(server.dir, 'data', 'ext', 'echo')}`, 'runs in ENTRYPOINT')

  const listed = await server.call('/plugins')
  t.match(listed.body.find((p: { name: string }) => p.name === 'echo'), {
    type: 'external', state: 'running', pid: running.pid, restarts: 0, exitCode: null, exitSignal: null, nextRestartAt: null, lastExit: null
  })
  const logs = await server.call('/plugins/echo/logs?lines=500')
  t.ok(logs.body.some((r: { msg: string }) => r.msg === 'hello from the echo plugin'), 'GET /plugins/{name}/logs has its lines')
})

t.test('lifecycle routes drive the process, with 409 for transitions that make no sense', async (t) => {
  const server = await startServer(t, {
    config: '[external]\necho = "plugins/echo"\n',
    files: externalPlugin('plugins/echo', 'LAUNCH = ["node", "main.mjs"]', { 'main.mjs': fixture('proc-echo.mjs') })
  })
  const first = await waitForState(server.app, 'echo', 'running')
  await waitForLog(server.app, 'echo', 'cwd ') // its SIGTERM handler is installed

  const again = await server.call('/plugins/echo/start', { method: 'POST' })
  t.equal(again.status, 409)
  t.equal(again.body.code, 'AIGIS_INVALID_TRANSITION')

  const stopped = await server.call('/plugins/echo/stop', { method: 'POST' })
  t.equal(stopped.status, 200)
  t.match(stopped.body, { state: 'stopped', pid: null, startedAt: null, exitCode: 0, lastExit: { code: 0, signal: null } })
  t.ok(stopped.body.lastExit.lastLines.includes('got SIGTERM'), 'lastExit keeps what it printed last')
  t.notOk(pidAlive(first.pid!), 'the process is gone once stop answers')
  t.ok(logsOf(server.app, 'echo').some((r) => r.msg.startsWith(`process ${first.pid} stopped: exited with code 0 after`)), 'a record says how it ended')

  const stopAgain = await server.call('/plugins/echo/stop', { method: 'POST' })
  t.equal(stopAgain.status, 409)
  t.equal(stopAgain.body.code, 'AIGIS_INVALID_TRANSITION')

  const started = await server.call('/plugins/echo/start', { method: 'POST' })
  t.equal(started.status, 200)
  t.match(started.body, { state: 'running', restarts: 0, exitCode: null })
  t.not(started.body.pid, first.pid)

  const restarted = await server.call('/plugins/echo/restart', { method: 'POST' })
  t.equal(restarted.status, 200)
  t.equal(restarted.body.state, 'running')
  t.not(restarted.body.pid, started.body.pid)
  t.notOk(pidAlive(started.body.pid), 'restart ended the previous process')

  const missing = await server.call('/plugins/nope/stop', { method: 'POST' })
  t.equal(missing.status, 404)
})

t.test('no child or grandchild survives a stop, a restart or the server closing', async (t) => {
  const server = await startServer(t, {
    config: '[external]\ntree = "plugins/tree"\n',
    files: externalPlugin('plugins/tree', 'LAUNCH = ["sh", "tree.sh"]', { 'tree.sh': fixture('proc-tree.sh') })
  })
  const { app } = server
  const grandchildOf = async (pid: number): Promise<number> => {
    const record = await waitFor(`grandchild of ${pid}`, () => logsOf(app, 'tree').find((r) => r.pid === pid && r.msg.startsWith('grandchild ')))
    return Number(record.msg.split(' ')[1])
  }

  const first = await waitForState(app, 'tree', 'running')
  const firstGrandchild = await grandchildOf(first.pid!)
  t.ok(pidAlive(firstGrandchild))
  await server.call('/plugins/tree/stop', { method: 'POST' })
  t.notOk(pidAlive(first.pid!), 'stop: the child is gone')
  t.notOk(pidAlive(firstGrandchild), 'stop: the grandchild is gone')

  const second = (await server.call('/plugins/tree/start', { method: 'POST' })).body
  const secondGrandchild = await grandchildOf(second.pid)
  const third = (await server.call('/plugins/tree/restart', { method: 'POST' })).body
  t.notOk(pidAlive(second.pid), 'restart: the child is gone')
  t.notOk(pidAlive(secondGrandchild), 'restart: the grandchild is gone')

  const thirdGrandchild = await grandchildOf(third.pid)
  t.ok(pidAlive(thirdGrandchild))
  await app.close()
  t.notOk(pidAlive(third.pid), 'close: the child is gone')
  t.notOk(pidAlive(thirdGrandchild), 'close: the grandchild is gone')
})

t.test('a group that ignores SIGTERM is killed after STOP_TIMEOUT', async (t) => {
  const server = await startServer(t, {
    config: '[external]\nstubborn = "plugins/stubborn"\n',
    // Long enough for the program to answer SIGTERM (print, and the server read it) on a loaded machine before the SIGKILL.
    files: externalPlugin('plugins/stubborn', 'LAUNCH = ["node", "main.mjs"]\nSTOP_TIMEOUT = 3', { 'main.mjs': fixture('proc-stubborn.mjs') })
  })
  const running = await waitForState(server.app, 'stubborn', 'running')
  const grandchild = Number((await waitForLog(server.app, 'stubborn', /^grandchild \d+$/)).msg.split(' ')[1])
  const stopped = await server.call('/plugins/stubborn/stop', { method: 'POST' })
  t.match(stopped.body, { state: 'stopped', exitSignal: 'SIGKILL', lastExit: { signal: 'SIGKILL' } })
  t.notOk(pidAlive(running.pid!))
  // The leader is reaped once stop answers; a SIGKILLed grandchild in a disk wait may still be listed for a moment.
  await waitGone(grandchild).catch(() => {})
  t.notOk(pidAlive(grandchild))
  t.ok(logsOf(server.app, 'stubborn').some((r) => r.msg === 'ignoring SIGTERM'), 'it got SIGTERM first')
  t.ok(logsOf(server.app, 'stubborn').some((r) => r.level === 'warn' && r.msg.includes('killed with SIGKILL')), 'the kill is logged')
})

t.test('a crash loop backs off, counts its restarts and ends fatal when RESTART is used up', async (t) => {
  const server = await startServer(t, {
    config: '[external]\ncrash = "plugins/crash"\n[core]\n',
    restartBackoff: { initialMs: 20, maxMs: 100 },
    files: externalPlugin('plugins/crash', 'LAUNCH = ["node", "main.mjs", "3"]\nRESTART = 2', { 'main.mjs': fixture('proc-crash.mjs') })
  })
  const { app } = server
  const fatal = await waitForState(app, 'crash', 'fatal')
  t.match(fatal, { restarts: 2, exitCode: 3, exitSignal: null, pid: null, nextRestartAt: null })
  t.match(fatal.error, /^gave up after 2 restarts in a row \(RESTART = 2; 2 since it was started\): exited with code 3 after .*; last output: "boom 3"$/)
  t.same(fatal.lastExit!.lastLines.slice(-1), ['boom 3'])
  t.ok(fatal.lastExit!.lastLines.some((l) => l.startsWith('starting ')))

  const records = logsOf(app, 'crash')
  t.ok(records.some((r) => r.level === 'warn' && /exited with code 3 after .*; last output: "boom 3"; restart 1 of 2 in 0\.02 s$/.test(r.msg)), 'each exit is logged with its restart')
  t.ok(records.some((r) => r.level === 'warn' && /restart 2 of 2 in 0\.04 s$/.test(r.msg)), 'the delay doubles')
  t.ok(records.some((r) => r.level === 'error' && r.msg.includes('restarts exhausted')))
  t.equal(records.filter((r) => r.msg.startsWith('starting ')).length, 3, 'it ran three times')

  // A start from fatal begins anew, and the server itself was never hurt.
  const states = recordStates(app, 'crash')
  const started = await server.call('/plugins/crash/start', { method: 'POST' })
  t.equal(started.status, 200)
  await waitForState(app, 'crash', 'fatal')
  t.ok(states.some((s) => s.state === 'backoff' && s.nextRestartAt !== null), 'backoff shows when the next restart is due')
  t.equal((await server.call('/health')).status, 200)
})

t.test('RESTART = -1 restarts forever, until stopped', async (t) => {
  const server = await startServer(t, {
    config: '[external]\nforever = "plugins/forever"\n',
    restartBackoff: { initialMs: 5, maxMs: 20 },
    files: externalPlugin('plugins/forever', 'LAUNCH = ["node", "main.mjs", "1"]\nRESTART = -1', { 'main.mjs': fixture('proc-crash.mjs') })
  })
  await waitForStatus(server.app, 'forever', (s) => s.restarts >= 5)
  const stopped = await server.call('/plugins/forever/stop', { method: 'POST' })
  t.match(stopped.body, { state: 'stopped', pid: null, nextRestartAt: null })
  // The server's own states, not the program's "starting" lines: the server waits for a stopped run's output
  // only so long (its pipes), so a line the last run printed may still come in after stop answered.
  const after = recordStates(server.app, 'forever')
  await new Promise((resolve) => setTimeout(resolve, 200)) // ten backoff steps: nothing may restart it
  t.equal(server.app.aigis.plugins.status('forever').state, 'stopped')
  t.same(after.map((s) => s.state), [], 'no start after the stop')
})

t.test('an exit with no restart allowed leaves the plugin exited', async (t) => {
  const server = await startServer(t, {
    config: '[external]\nclean = "plugins/clean"\nfailing = "plugins/failing"\n',
    files: {
      ...externalPlugin('plugins/clean', 'LAUNCH = ["node", "main.mjs", "0"]', { 'main.mjs': fixture('proc-crash.mjs') }),
      ...externalPlugin('plugins/failing', 'LAUNCH = ["node", "main.mjs", "5"]', { 'main.mjs': fixture('proc-crash.mjs') })
    }
  })
  const clean = await waitForState(server.app, 'clean', 'exited')
  t.match(clean, { error: null, exitCode: 0, restarts: 0, pid: null })
  const failing = await waitForState(server.app, 'failing', 'exited')
  t.match(failing, { exitCode: 5, restarts: 0 })
  t.match(failing.error, /^exited with code 5 after .*; last output: "boom 5"$/)
  t.ok(logsOf(server.app, 'failing').some((r) => r.level === 'error' && r.msg.includes('not restarted')))

  const stop = await server.call('/plugins/failing/stop', { method: 'POST' })
  t.equal(stop.status, 409, 'an exited plugin has nothing to stop')
  const restart = await server.call('/plugins/failing/restart', { method: 'POST' })
  t.equal(restart.status, 200, 'but it can be restarted')
})

t.test('a process that stayed up long enough starts its restart budget over', async (t) => {
  const server = await startServer(t, {
    config: '[external]\nslow = "plugins/slow"\n',
    restartBackoff: { initialMs: 0, resetAfterMs: 100 },
    files: externalPlugin('plugins/slow', 'LAUNCH = ["node", "main.mjs", "1", "300"]\nRESTART = 1', { 'main.mjs': fixture('proc-crash.mjs') })
  })
  const status = await waitForStatus(server.app, 'slow', (s) => s.restarts >= 3)
  t.not(status.state, 'fatal', 'three restarts with RESTART = 1: each long run reset the budget')
  await server.call('/plugins/slow/stop', { method: 'POST' })
})

t.test('what a crashed leader leaves behind in its group is ended too', async (t) => {
  const server = await startServer(t, {
    config: '[external]\norphan = "plugins/orphan"\n',
    files: externalPlugin('plugins/orphan', 'LAUNCH = ["sh", "orphan.sh"]', { 'orphan.sh': fixture('proc-orphan.sh') })
  })
  await waitForState(server.app, 'orphan', 'exited')
  const grandchild = Number((await waitForLog(server.app, 'orphan', /^grandchild \d+$/)).msg.split(' ')[1])
  await waitGone(grandchild)
  t.notOk(pidAlive(grandchild))
})

t.test('POST /plugins adds a running subprocess plugin, reload picks up new code, DELETE ends it', async (t) => {
  const server = await startServer(t, {
    files: externalPlugin('extra', 'LAUNCH = ["sh", "run.sh"]', { 'run.sh': 'echo "version 1"\nexec sleep 1000\n' })
  })
  const added = await server.call('/plugins', { method: 'POST', json: { name: 'extra', source: 'extra', type: 'external' } })
  t.equal(added.status, 201)
  t.match(added.body, { name: 'extra', type: 'external', state: 'running' })
  await waitForLog(server.app, 'extra', 'version 1')

  const taken = await server.call('/plugins', { method: 'POST', json: { name: 'extra', source: 'extra' } })
  t.equal(taken.status, 409)

  const { writeFiles } = await import('./helper.js')
  await writeFiles(server.dir, { 'extra/run.sh': 'echo "version 2"\nexec sleep 1000\n' })
  const reloaded = await server.call('/plugins/extra/reload', { method: 'POST' })
  t.equal(reloaded.body.state, 'running')
  t.not(reloaded.body.pid, added.body.pid)
  t.notOk(pidAlive(added.body.pid))
  await waitForLog(server.app, 'extra', 'version 2')

  const removed = await server.call('/plugins/extra', { method: 'DELETE' })
  t.equal(removed.status, 204)
  t.notOk(pidAlive(reloaded.body.pid), 'DELETE stopped the process')
  t.equal((await server.call('/plugins/extra')).status, 404)
})

t.test('a shell script run directly, by its path', async (t) => {
  const server = await startServer(t, {
    config: '[external]\nscript = "plugins/script"\n',
    files: externalPlugin('plugins/script', 'LAUNCH = "./run.sh --flag"', { 'run.sh': '#!/bin/sh\necho "args: $*"\nexec sleep 1000\n' })
  })
  // Files are written without the executable bit; set it on the source and reload.
  await makeExecutable(join(server.dir, 'plugins/script/run.sh'))
  const reloaded = await server.call('/plugins/script/reload', { method: 'POST' })
  t.equal(reloaded.body.state, 'running', reloaded.body.error ?? '')
  t.equal((await waitForLog(server.app, 'script', 'args:')).msg, 'args: --flag')
})

t.test('a restart that cannot spawn leaves the plugin failed with the OS error', async (t) => {
  const server = await startServer(t, {
    config: '[external]\nvanishing = "plugins/vanishing"\n',
    restartBackoff: { initialMs: 0 },
    files: externalPlugin('plugins/vanishing', 'LAUNCH = ["./run.sh"]\nRESTART = 2', { 'run.sh': '#!/bin/sh\necho "removing myself"\nrm -f run.sh\nexit 1\n' })
  })
  await makeExecutable(join(server.dir, 'plugins/vanishing/run.sh'))
  const started = await server.call('/plugins/vanishing/start', { method: 'POST' })
  t.equal(started.status, 200, 'failed at first (not executable), started once fixed')
  const failed = await waitForState(server.app, 'vanishing', 'failed')
  t.match(failed, { restarts: 1, pid: null, exitCode: 1 })
  t.match(failed.error, /could not be started: cannot run "\.\/run\.sh" in .*: not found \(check LAUNCH and PATH\): spawn \.\/run\.sh ENOENT$/)
  t.ok(logsOf(server.app, 'vanishing').some((r) => r.msg === 'removing myself'))
})

t.test('output that comes while the server is held up just after an exit is still read: the last lines are whole', async (t) => {
  const dir = tempDir()
  const written = join(dir, 'written')
  const lines: string[] = []
  const child = await Child.spawn({ file: 'sh', args: ['-c', `(sleep 0.1; echo late; touch '${written}') & echo early; exit 3`], cwd: dir, env: {} }, {
    line: (_stream, line) => { lines.push(line) },
    lines: (_stream, bytes, start, end) => { lines.push(...bytes.toString('utf8', start, end - 1).split('\n')) }
  })
  // Held up from the exit until the grandchild's line is in the pipe, and longer than the output is awaited once quiet.
  void child.leaderExit.then(() => {
    const since = Date.now()
    while (!existsSync(written) || Date.now() - since < 400);
  })
  t.match(await child.exited, { code: 3, lastLines: ['early', 'late'] })
  t.same(lines, ['early', 'late'])
})

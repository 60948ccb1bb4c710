import t from 'tap'
import type { IncomingMessage } from 'node:http'
import { join } from 'node:path'
import which from 'which'
import { startServer, writeFiles } from './helper.js'
import { externalPlugin, fixture, logsOf, makeExecutable, waitForLog, waitForState } from './supervisor-helper.js'

// Subprocess plugins that cannot run: each is `failed` with the reason, and
// the others (and the server) carry on.

t.test('a program that cannot be spawned is failed with the OS error', async (t) => {
  const server = await startServer(t, {
    config: '[external]\nmissing = "plugins/missing"\nnoexec = "plugins/noexec"\nnowhere = "plugins/nowhere"\nfine = "plugins/fine"\n',
    files: {
      ...externalPlugin('plugins/missing', 'LAUNCH = ["no-such-program-aigis", "--flag"]'),
      ...externalPlugin('plugins/noexec', 'LAUNCH = ["./run.sh"]', { 'run.sh': '#!/bin/sh\necho never\n' }),
      ...externalPlugin('plugins/nowhere', 'LAUNCH = ["sh", "-c", "echo never"]\nENTRYPOINT = "{root}/not-there"'),
      ...externalPlugin('plugins/fine', 'LAUNCH = ["sh", "-c", "echo fine; exec sleep 1000"]')
    }
  })
  const { app } = server
  const missing = await waitForState(app, 'missing', 'failed')
  t.match(missing.error, /could not be started: cannot run "no-such-program-aigis" in .*: not found \(check LAUNCH and PATH\): spawn no-such-program-aigis ENOENT$/)
  t.match(missing, { pid: null, restarts: 0 })

  const noexec = await waitForState(app, 'noexec', 'failed')
  t.match(noexec.error, /cannot run "\.\/run\.sh" in .*: not executable or not readable \(check its permissions\): spawn \.\/run\.sh EACCES$/)

  const nowhere = await waitForState(app, 'nowhere', 'failed')
  t.match(nowhere.error, /ENTRYPOINT .*not-there cannot be used as working directory: ENOENT/)

  await waitForLog(app, 'fine', 'fine')
  t.equal(app.aigis.plugins.status('fine').state, 'running', 'the others run')
  t.equal((await server.call('/health')).status, 200)
  t.ok(app.aigis.hub.tail(1000, { plugins: new Set(['missing']) }).some((r) => r.level === 'error' && r.msg.includes('ENOENT')), 'the failure is logged')

  // Fixing the source and starting again loads it afresh.
  await writeFiles(server.dir, { 'plugins/noexec/run.sh': '#!/bin/sh\necho "now it runs"\nexec sleep 1000\n' })
  await makeExecutable(join(server.dir, 'plugins/noexec/run.sh'))
  const started = await server.call('/plugins/noexec/start', { method: 'POST' })
  t.equal(started.body.state, 'running', started.body.error ?? '')
  t.equal(started.body.error, null)
  await waitForLog(app, 'noexec', 'now it runs')
})

t.test('a missing SYSTEM_REQUIREMENTS entry or secret names what is missing', async (t) => {
  const server = await startServer(t, {
    config: '[external]\nneeds = "plugins/needs"\nsecretive = "plugins/secretive"\n',
    files: {
      ...externalPlugin('plugins/needs', 'LAUNCH = ["sh", "-c", "sleep 1000"]\nSYSTEM_REQUIREMENTS = ["sh", "no-such-tool-aigis"]'),
      ...externalPlugin('plugins/secretive', 'LAUNCH = ["sh", "-c", "cat conf/key.txt; exec sleep 1000"]\nSECRETS = { "key.txt" = "{root}/conf", "other.txt" = "{root}/conf" }')
    }
  })
  const needs = await waitForState(server.app, 'needs', 'failed')
  t.match(needs.error, /needs "no-such-tool-aigis" on PATH/)
  t.notMatch(needs.error, /"sh"/, 'only the missing one is named')

  const secretive = await waitForState(server.app, 'secretive', 'failed')
  t.match(secretive.error, /missing secret file\(s\) "key\.txt", "other\.txt"/)

  // With the secrets in place, a start copies them and runs the program.
  await writeFiles(join(server.dir, 'data', 'secrets', 'secretive'), { 'key.txt': 'the key\n', 'other.txt': 'x' })
  const started = await server.call('/plugins/secretive/start', { method: 'POST' })
  t.equal(started.body.state, 'running', started.body.error ?? '')
  await waitForLog(server.app, 'secretive', 'the key')
})

t.test('a python program, where python3 is installed', { skip: which.sync('python3', { nothrow: true }) === null && 'python3 is not installed' }, async (t) => {
  const server = await startServer(t, {
    config: '[external]\npy = "plugins/py"\n',
    files: externalPlugin('plugins/py', 'LAUNCH = ["python3", "main.py"]\nSYSTEM_REQUIREMENTS = ["python3"]', { 'main.py': fixture('proc-ticker.py') })
  })
  const running = await waitForState(server.app, 'py', 'running')
  t.match(await waitForLog(server.app, 'py', 'python ticker for py'), { stream: 'stdout', level: 'info', pid: running.pid })
  t.match(await waitForLog(server.app, 'py', 'python structured'), { level: 'warn', n: 1 })
  t.match(await waitForLog(server.app, 'py', 'python stderr line'), { stream: 'stderr', level: 'error' })
  const stopped = await server.call('/plugins/py/stop', { method: 'POST' })
  t.match(stopped.body, { state: 'stopped', exitSignal: 'SIGTERM' })
})

t.test('a lifecycle request or a second DELETE queued behind a DELETE of its plugin answers 404 and starts nothing', async (t) => {
  const server = await startServer(t, {
    config: '[external]\nslowstop = "plugins/slowstop"\n',
    // Ignores SIGTERM: each stop takes STOP_TIMEOUT, so the requests below queue up.
    files: externalPlugin('plugins/slowstop', 'LAUNCH = ["sh", "-c", "trap \'\' TERM; echo up; while :; do sleep 1; done"]\nSTOP_TIMEOUT = 1')
  })
  t.equal(server.app.aigis.plugins.status('slowstop').state, 'running')
  const restart = server.call('/plugins/slowstop/restart', { method: 'POST' })
  await waitForState(server.app, 'slowstop', 'stopping')
  // The DELETE and the start go on connections of their own, which the server may read in either order:
  // the start is sent once the DELETE reached the server (whose route has queued the delete by the time this listener runs).
  const deleteArrived = new Promise<void>((resolve) => {
    const onRequest = (request: IncomingMessage): void => {
      if (request.method !== 'DELETE') return
      server.app.server.off('request', onRequest)
      resolve()
    }
    server.app.server.on('request', onRequest)
  })
  const removed = server.call('/plugins/slowstop', { method: 'DELETE' })
  await deleteArrived
  const removedAgain = server.call('/plugins/slowstop', { method: 'DELETE' })
  const started = await server.call('/plugins/slowstop/start', { method: 'POST' })
  t.equal(started.status, 404, 'the start came after the delete')
  t.match(started.body, { code: 'AIGIS_PLUGIN_NOT_FOUND', plugin: 'slowstop' })
  t.equal((await removed).status, 204)
  t.match(await removedAgain, { status: 404, body: { code: 'AIGIS_PLUGIN_NOT_FOUND' } }, 'a second DELETE queued behind the first finds nothing to delete')
  await restart
  t.equal((await server.call('/plugins/slowstop')).status, 404)
  // Counted by the server's own record: the restarted program may be stopped before it echoes.
  t.same(logsOf(server.app, 'slowstop').filter((r) => r.msg === 'external plugin started').length, 2, 'started twice (boot, restart), not a third time for nobody')
})

import t from 'tap'
import { existsSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { buildApp } from '../src/app.js'
import { call, corePlugin, startServer, tempDir, writeFiles } from './helper.js'
import { externalPlugin, logsOf, pidAlive, waitFor } from './supervisor-helper.js'
import { processesWith, silentServer } from './hang-helper.js'

// A plugin whose load hangs (a core import that never settles, a
// REQUIREMENT_COMMAND that never ends) fails after its step's time limit and
// never holds the plugins after it, /ready, or a stop, reload or delete of
// itself. What a hanging REQUIREMENT_COMMAND started is ended with it.

const GOOD = 'export const SKILLS = ["hi"]\nexport const hi = () => "hi"'
const NEVER = 'await new Promise(() => {})\nexport const SKILLS = ["hi"]\nexport const hi = () => "never"'

t.test('a core import that never settles fails its plugin after the start time limit; the plugins after it load', { timeout: 30_000 }, async (t) => {
  const server = await startServer(t, {
    // Long enough for the good plugin's import on a loaded machine (the first pays for jiti and typebox).
    startTimeout: 5,
    config: '[core]\nhang = "p/hang"\nafter = "p/after"\n',
    files: { ...corePlugin('p/hang', NEVER), ...corePlugin('p/after', GOOD) }
  })
  const hang = (await server.call('/plugins/hang')).body
  t.equal(hang.state, 'failed')
  t.match(hang.error, /^Plugin "hang": its start \(importing AIGIS\/AIGIS\.core\.ts\) did not finish within 5 s; a top-level await .* never settled/)
  t.match(hang.error, /A module cannot be cancelled/, 'the error says the module goes on')
  t.same(hang.skills, [])
  t.match((await server.call('/plugins/after')).body, { state: 'running', skills: ['after.hi'] })
  t.equal((await server.call('/ready')).status, 200)
})

t.test('stop, reload, start and delete of a plugin whose import hangs answer at once', { timeout: 30_000 }, async (t) => {
  const dir = tempDir()
  // Says it is being imported, then hangs until the test has "fixed" it.
  const hanging = (name: string): string => `import { existsSync, writeFileSync } from 'node:fs'
writeFileSync(${JSON.stringify(join(dir, name))}, '')
if (!existsSync(${JSON.stringify(join(dir, `${name}-fixed`))})) await new Promise(() => {})
export const SKILLS = ['hi']
export const hi = () => 'fixed'`
  const importing = (name: string): Promise<unknown> => waitFor(`${name} to be imported`, () => existsSync(join(dir, name)))
  await writeFiles(dir, {
    'config.aigis': '[core]\nfirst = "p/first"\nsecond = "p/second"\nthird = "p/third"\nafter = "p/after"\n',
    ...corePlugin('p/first', hanging('first')),
    ...corePlugin('p/second', hanging('second')),
    ...corePlugin('p/third', hanging('third')),
    ...corePlugin('p/after', GOOD)
  })
  // The default time limits: nothing here waits for them.
  const app = await buildApp({ config: join(dir, 'config.aigis'), dataDir: join(dir, 'data') })
  t.teardown(() => app.close())
  await app.listen({ host: '127.0.0.1', port: 0 })
  const url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`
  const post = (path: string) => call(url, path, { method: 'POST' })

  await importing('first')
  t.equal((await call(url, '/ready')).status, 503)
  writeFileSync(join(dir, 'first-fixed'), '') // a reload then imports it afresh, and it loads
  const reloaded = await post('/plugins/first/reload')
  t.equal(reloaded.status, 200)
  t.match(reloaded.body, { state: 'running', skills: ['first.hi'] })
  t.equal((await post('/skills/first/hi')).body, 'fixed', 'the reload imported the module afresh')

  await importing('second')
  const stopped = await post('/plugins/second/stop')
  t.equal(stopped.status, 200)
  t.match(stopped.body, { state: 'stopped', error: null })
  t.ok(logsOf(app, 'second').some((r) => r.msg === 'loading stopped: a stop was asked for'))
  t.equal((await post('/plugins/second/stop')).status, 409, 'stopped now')

  await importing('third')
  t.match(await post('/skills/third/hi'), { status: 409, body: { code: 'AIGIS_PLUGIN_NOT_RUNNING', message: 'Plugin "third" is starting; call again once it runs.' } }, 'a call while it loads: wait, not start it')
  t.match(await post('/plugins/third/start'), { status: 409, body: { code: 'AIGIS_INVALID_TRANSITION', message: /while it is starting/ } })
  t.equal((await call(url, '/plugins/third', { method: 'DELETE' })).status, 204)
  t.equal((await call(url, '/plugins/third')).status, 404)

  await app.aigis.loaded
  t.equal((await call(url, '/ready')).status, 200)
  t.same((await call(url, '/plugins')).body.map((p: any) => [p.name, p.state]), [['first', 'running'], ['second', 'stopped'], ['after', 'running']])
  t.same((await call(url, '/skills')).body.map((s: any) => s.id), ['first.hi', 'after.hi'], 'nothing of the hung imports is registered')
})

t.test('a REQUIREMENT_COMMAND past its time limit is ended with every process it started; the plugins after it load', { timeout: 30_000 }, async (t) => {
  const server = await startServer(t, {
    // Long enough for the quick commands on a loaded machine; the slow ones never end.
    requirementTimeout: 3,
    config: '[core]\nslow = "p/slow"\nleaves = "p/leaves"\nescapes = "p/escapes"\nnocmd = "p/nocmd"\nafter = "p/after"\n[external]\nstubborn = "p/stubborn"\nlast = "p/last"\n',
    files: {
      // A background job and a leader that would sleep for long.
      ...corePlugin('p/slow', GOOD, 'REQUIREMENT_COMMAND = ["sh", "-c", "sleep 3333 & echo job $!; exec sleep 1000"]\n'),
      // Ignores SIGTERM (and so does its job): SIGKILL after STOP_TIMEOUT.
      ...externalPlugin('p/stubborn', 'LAUNCH = ["sleep", "300"]\nSTOP_TIMEOUT = 0.2\nREQUIREMENT_COMMAND = ["sh", "-c", "trap \'\' TERM; sleep 3334 & echo job $!; while :; do sleep 1; done"]'),
      // Ends at once, leaving a job behind (holding its output pipes).
      ...corePlugin('p/leaves', GOOD, 'REQUIREMENT_COMMAND = ["sh", "-c", "sleep 3335 & echo job $!"]\n'),
      // Leaves a job that left its process group: found by its run id.
      ...corePlugin('p/escapes', GOOD, 'REQUIREMENT_COMMAND = ["sh", "-c", "setsid sleep 3336 & echo job $!"]\n'),
      ...corePlugin('p/nocmd', GOOD, 'REQUIREMENT_COMMAND = ["no-such-command-aigis"]\n'),
      ...corePlugin('p/after', GOOD),
      ...externalPlugin('p/last', 'LAUNCH = ["sleep", "300"]')
    }
  })
  const plugins = new Map<string, any>((await server.call('/plugins')).body.map((p: any) => [p.name, p]))
  t.match(plugins.get('slow'), { state: 'failed', error: /^Plugin "slow": REQUIREMENT_COMMAND `sh -c sleep 3333 .*` did not finish within 3 s; it was ended, with every process it started.*AIGIS_REQUIREMENT_TIMEOUT/ })
  t.match(plugins.get('stubborn'), { state: 'failed', error: /REQUIREMENT_COMMAND .* did not finish within 3 s/ })
  t.equal(plugins.get('leaves').state, 'running', 'a command that exits 0 leaving a job behind is fine')
  t.ok(logsOf(server.app, 'leaves').some((r) => r.level === 'warn' && /left processes running when it exited; they were ended/.test(r.msg)))
  t.match(plugins.get('nocmd'), { state: 'failed', error: /REQUIREMENT_COMMAND `no-such-command-aigis` failed: cannot run "no-such-command-aigis" \(not found: check the command and PATH/ })
  t.equal(plugins.get('after').state, 'running')
  t.equal(plugins.get('last').state, 'running')
  t.equal((await server.call('/ready')).status, 200)
  t.equal(plugins.get('escapes').state, 'running')
  for (const name of ['slow', 'stubborn', 'leaves', 'escapes']) {
    const job = logsOf(server.app, name).find((r) => r.stream === 'stdout' && r.msg.startsWith('job '))
    t.ok(job, `${name}: its output reached the log`)
    const pids = [job!.pid as number, Number(job!.msg.split(' ')[1])]
    await waitFor(`${name}'s processes to be reaped`, () => pids.every((pid) => !pidAlive(pid)), 5000).catch(() => {})
    for (const pid of pids) t.notOk(pidAlive(pid), `${name}: process ${pid} of its REQUIREMENT_COMMAND is gone`)
  }
})

t.test('stop and delete of a plugin whose git clone hangs answer at once, and leave no git process', { timeout: 30_000 }, async (t) => {
  const host = await silentServer(t)
  const server = await startServer(t, { files: corePlugin('p/good', GOOD) })
  const adding = server.call('/plugins', { method: 'POST', json: { name: 'cloned', source: host.url } })
  await host.connected
  await waitFor('git to be connected', () => processesWith(`127.0.0.1:${host.port}`).length > 0)
  const stopped = await server.call('/plugins/cloned/stop', { method: 'POST' })
  t.match(stopped, { status: 200, body: { state: 'stopped' } })
  t.match(await adding, { status: 201, body: { name: 'cloned', state: 'stopped' } }, 'the add answers with the plugin stopped, kept to be started later')
  await waitFor('git to end', () => processesWith(`127.0.0.1:${host.port}`).length === 0, 5000).catch(() => {})
  t.same(processesWith(`127.0.0.1:${host.port}`), [], 'no git process is left')

  const starting = server.call('/plugins/cloned/start', { method: 'POST' })
  await waitFor('git to be connected again', () => processesWith(`127.0.0.1:${host.port}`).length > 0)
  t.equal((await server.call('/plugins/cloned', { method: 'DELETE' })).status, 204)
  t.match(await starting, { status: 200, body: { state: 'stopped' } })
  t.equal((await server.call('/plugins/cloned')).status, 404)
  await waitFor('git to end', () => processesWith(`127.0.0.1:${host.port}`).length === 0, 5000).catch(() => {})
  t.same(processesWith(`127.0.0.1:${host.port}`), [], 'no git process is left')
})

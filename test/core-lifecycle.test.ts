import t from 'tap'
import { existsSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { corePlugin, startServer, writeFiles } from './helper.js'
import { until } from './cli-helper.js'
import { logsOf } from './supervisor-helper.js'

// Core plugin lifecycle over HTTP: stop/start, reload with edited code,
// adding and removing plugins at runtime, and the OpenAPI document following.

const v1 = (marker: string) => `
export const SKILLS = ['version', 'old']
export const version = () => 'v1'
export const old = () => 'still here'
export function cleanup () { require('node:fs').writeFileSync(${JSON.stringify(marker)}, 'v1 cleaned up') }
`
const v2 = `
import { Type } from 'typebox'
export const SKILLS = ['version', 'fresh']
export const version = () => 'v2'
export const fresh = (input: { n: number }) => input.n * 2
export const SCHEMAS = { fresh: { description: 'Doubles n', body: Type.Object({ n: Type.Number() }) } }
`

t.test('stop, start, restart and their 409s', async (t) => {
  const server = await startServer(t, {
    config: '[core]\nlife = "plugins/life"\n',
    files: corePlugin('plugins/life', 'export const SKILLS = ["hi"]\nexport const hi = () => "hi"')
  })
  const post = (path: string) => server.call(path, { method: 'POST' })

  t.equal((await post('/plugins/life/start')).status, 409, 'start while running')
  const stopped = await post('/plugins/life/stop')
  t.equal(stopped.status, 200)
  t.match(stopped.body, { name: 'life', state: 'stopped', skills: [] })
  const again = await post('/plugins/life/stop')
  t.equal(again.status, 409, 'stop while stopped')
  t.match(again.body, { code: 'AIGIS_INVALID_TRANSITION', plugin: 'life', message: /stop.*life.*stopped/ })
  const started = await post('/plugins/life/start')
  t.match(started.body, { state: 'running', skills: ['life.hi'] })
  t.match((await post('/plugins/life/restart')).body, { state: 'running', skills: ['life.hi'] })
  t.equal((await post('/plugins/nope/start')).status, 404)
  t.match((await server.call('/plugins/nope')).body, { code: 'AIGIS_PLUGIN_NOT_FOUND' })
})

t.test('reload runs the old cleanup, re-imports edited code, and the docs follow', async (t) => {
  const server = await startServer(t, { config: '[core]\nlive = "plugins/live"\n' })
  const marker = join(server.dir, 'cleanup-ran')
  await writeFiles(server.dir, corePlugin('plugins/live', v1(marker)))
  // The plugin did not exist when the server started: it failed; start loads it.
  t.match((await server.call('/plugins/live')).body, { state: 'failed' })
  t.match((await server.call('/plugins/live/start', { method: 'POST' })).body, { state: 'running' })
  t.equal((await server.call('/skills/live/version', { method: 'POST' })).body, 'v1')

  let doc = (await server.call('/openapi.json')).body
  t.ok(doc.paths['/skills/live/old'], 'v1 skill documented')

  // A file the plugin created in its runtime folder survives the refresh.
  const runtimeFile = join(server.dir, 'data', 'ext', 'live', 'state.db')
  writeFileSync(runtimeFile, 'mine')
  await writeFiles(server.dir, { 'plugins/live/AIGIS/AIGIS.core.ts': v2 })
  const reloaded = await server.call('/plugins/live/reload', { method: 'POST' })
  t.equal(reloaded.status, 200)
  t.match(reloaded.body, { state: 'running', skills: ['live.version', 'live.fresh'] })
  t.equal(readFileSync(marker, 'utf8'), 'v1 cleaned up', 'the old module\'s cleanup ran')
  t.ok(existsSync(runtimeFile), 'files the plugin made itself are kept')
  await writeFiles(server.dir, { 'plugins/live/extra.ts': 'export const x = 1\n' })
  await server.call('/plugins/live/reload', { method: 'POST' })
  t.ok(existsSync(join(server.dir, 'data', 'ext', 'live', 'extra.ts')), 'a new source file is copied')
  rmSync(join(server.dir, 'plugins', 'live', 'extra.ts'))
  await server.call('/plugins/live/reload', { method: 'POST' })
  t.notOk(existsSync(join(server.dir, 'data', 'ext', 'live', 'extra.ts')), 'a file deleted from the source leaves the copy')
  t.ok(existsSync(runtimeFile), 'the plugin\'s own file is still kept')

  t.equal((await server.call('/skills/live/version', { method: 'POST' })).body, 'v2', 'new code takes effect')
  t.equal((await server.call('/skills/live/fresh', { method: 'POST', json: { n: 21 } })).body, 42)
  t.equal((await server.call('/skills/live/old', { method: 'POST' })).status, 404, 'removed skill is gone')

  doc = (await server.call('/openapi.json')).body
  t.notOk(doc.paths['/skills/live/old'], 'removed skill left the document')
  t.match(doc.paths['/skills/live/fresh'].post, {
    operationId: 'live.fresh',
    description: 'Doubles n',
    requestBody: { content: { 'application/json': { schema: { properties: { n: { type: 'number' } } } } } }
  })
  const ui = await server.call('/docs/json')
  t.ok(ui.body.paths['/skills/live/fresh'], 'Swagger UI gets the same document')
})

t.test('POST /plugins adds a plugin, DELETE removes it', async (t) => {
  const server = await startServer(t, {
    config: '[core]\nfirst = "plugins/first"\n',
    files: {
      ...corePlugin('plugins/first', 'export const SKILLS = ["a"]\nexport const a = () => 1'),
      'plugins/ext/AIGIS/AIGIS.config': 'PLUGIN_TYPE = "external"\nSECRETS = { "key.pem" = "{root}" }\n',
      ...corePlugin('plugins/second', 'export const SKILLS = ["b"]\nexport const b = () => 2\nexport function cleanup () { require("node:fs").writeFileSync(new URL("../../../../second-cleaned", import.meta.url), "yes") }')
    }
  })
  const add = (json: unknown) => server.call('/plugins', { method: 'POST', json })

  const created = await add({ name: 'second', source: 'plugins/second' })
  t.equal(created.status, 201)
  t.match(created.body, { name: 'second', type: 'core', state: 'running', skills: ['second.b'] })
  t.equal((await server.call('/skills/second/b', { method: 'POST' })).body, 2)
  t.ok((await server.call('/openapi.json')).body.paths['/skills/second/b'])

  t.match(await add({ name: 'second', source: 'plugins/second' }), { status: 409, body: { code: 'AIGIS_PLUGIN_EXISTS' } })
  t.match(await add({ name: '../x', source: 'plugins/second' }), { status: 400, body: { code: 'AIGIS_INVALID_PLUGIN_NAME' } })
  t.match(await add({ name: 5, source: 'plugins/second' }), { status: 400, body: { code: 'AIGIS_INVALID_REQUEST', message: 'body/name must be string' } }, 'no coercion: 5 is not the name "5"')
  t.equal((await server.call('/plugins/5')).status, 404)
  t.match(await add({ name: 'ghost', source: 'plugins/ghost' }), { status: 400, body: { code: 'AIGIS_INVALID_SOURCE', message: /does not exist/ } })
  t.equal((await server.call('/plugins/ghost')).status, 404, 'a plugin with a bad source is not kept')
  // A folder that is no plugin is refused before anything is copied from it.
  await writeFiles(server.dir, { 'notaplugin/big.bin': 'x'.repeat(1000) })
  t.match(await add({ name: 'notaplugin', source: 'notaplugin' }), { status: 400, body: { code: 'AIGIS_INVALID_SOURCE', message: /AIGIS\.config does not exist, so .*notaplugin is not a plugin folder .*nothing was copied/ } })
  t.notOk(existsSync(join(server.dir, 'data', 'ext', 'notaplugin')), 'nothing was copied')
  t.match(await add({ name: 'x' }), { status: 400, body: { code: 'AIGIS_INVALID_REQUEST' } })
  const badType = await add({ name: 'x', source: 'plugins/second', type: 'bogus' })
  t.match(badType, { status: 400, body: { code: 'AIGIS_INVALID_REQUEST', message: 'body/type must be one of: core, internal, external' } })
  t.match(await add({ name: 'typed', source: 'plugins/second', type: 'external' }), { status: 201, body: { state: 'failed', error: /listed under \[external\]/ } })
  t.match(await add({ name: 'typed2', source: 'plugins/ext', type: 'core' }), { status: 201, body: { state: 'failed', error: /^Plugin "typed2" is listed under \[core\] but its AIGIS\.config says PLUGIN_TYPE = "external"/ } }, 'the mismatch first, not what a core plugin would need')

  const removed = await server.call('/plugins/second', { method: 'DELETE' })
  t.equal(removed.status, 204)
  t.equal(readFileSync(join(server.dir, 'second-cleaned'), 'utf8'), 'yes', 'cleanup ran on delete')
  t.notOk(existsSync(join(server.dir, 'data', 'ext', 'second')), 'its runtime folder is gone')
  t.equal((await server.call('/plugins/second')).status, 404)
  t.equal((await server.call('/skills/second/b', { method: 'POST' })).status, 404)
  t.notOk((await server.call('/openapi.json')).body.paths['/skills/second/b'])
  t.equal((await server.call('/plugins/second', { method: 'DELETE' })).status, 404)
  t.same((await server.call('/plugins')).body.map((p: any) => p.name), ['first', 'typed', 'typed2'])
})

t.test('reload takes edited .mjs code and edited helper modules too', async (t) => {
  const mjs = (n: number) => `import { Type } from 'typebox'
import { SkillError } from 'aigis'
import { helper } from '../helper.mjs'
export const SKILLS = ['v', 'h', 'kinds']
export const v = ${n}
export const h = () => helper
export const kinds = () => [typeof Type.Object, typeof SkillError]`
  const server = await startServer(t, {
    config: '[core]\nm = "plugins/m"\n',
    files: {
      'plugins/m/AIGIS/AIGIS.config': 'PLUGIN_TYPE = "core"\n',
      'plugins/m/AIGIS/AIGIS.core.mjs': mjs(1),
      'plugins/m/helper.mjs': 'export const helper = "h1"\n'
    }
  })
  const ask = async (skill: string) => (await server.call(`/skills/m/${skill}`, { method: 'POST' })).body
  t.equal(await ask('v'), 1)
  t.equal(await ask('h'), 'h1')
  t.same(await ask('kinds'), ['function', 'function'], 'an .mjs module sees the server\'s typebox and aigis')

  await writeFiles(server.dir, { 'plugins/m/AIGIS/AIGIS.core.mjs': mjs(2), 'plugins/m/helper.mjs': 'export const helper = "h2"\n' })
  t.match((await server.call('/plugins/m/reload', { method: 'POST' })).body, { state: 'running' })
  t.equal(await ask('v'), 2, 'edited .mjs code takes effect')
  t.equal(await ask('h'), 'h2', 'an edited helper it imports takes effect')
})

t.test('body schemas with the same $id, in two skills and again after a reload, each compile and validate', async (t) => {
  const schema = (prop: string, type: string): string => `{ body: { $id: 'http://example.com/shared', type: 'object', properties: { ${prop}: { type: '${type}' } }, required: ['${prop}'] } }`
  const server = await startServer(t, {
    config: '[core]\nids = "plugins/ids"\n',
    files: {
      ...corePlugin('plugins/ids', `export const SKILLS = ['a', 'b']\nexport const a = (i: unknown) => i\nexport const b = (i: unknown) => i\nexport const SCHEMAS = { a: ${schema('a', 'number')}, b: ${schema('b', 'string')} }`),
      ...corePlugin('plugins/same', `export const SKILLS = ['c']\nexport const c = (i: unknown) => i\nexport const SCHEMAS = { c: ${schema('c', 'boolean')} }`)
    }
  })
  const call = async (plugin: string, skill: string, body: unknown): Promise<number> => (await server.call(`/skills/${plugin}/${skill}`, { method: 'POST', json: body })).status
  t.equal(await call('ids', 'a', { a: 1 }), 200)
  t.equal(await call('ids', 'a', { a: 'x' }), 400)
  t.equal(await call('ids', 'b', { b: 'x' }), 200, 'the second schema with that $id compiles too')
  t.equal(await call('ids', 'b', { b: 1 }), 400)
  t.equal((await server.call('/plugins', { method: 'POST', json: { name: 'same', source: 'plugins/same' } })).status, 201)
  t.equal(await call('same', 'c', { c: true }), 200, 'and another plugin\'s')
  t.equal((await server.call('/plugins/ids/reload', { method: 'POST' })).status, 200)
  t.equal(await call('ids', 'a', { a: 2 }), 200, 'after a reload')
  t.equal(await call('ids', 'a', { a: 'x' }), 400)
})

t.test('a deleted plugin\'s log file is written to the end and closed: adding and deleting plugins leaves no file open', async (t) => {
  const server = await startServer(t, { files: corePlugin('plugins/p', 'export const SKILLS = ["a"]\nexport const a = 1') })
  const logs = join(server.dir, 'data', 'logs')
  const openLogFiles = (): string[] => readdirSync('/proc/self/fd').map((fd) => { try { return readlinkSync(`/proc/self/fd/${fd}`) } catch { return '' } }).filter((path) => path.startsWith(logs + '/') && !path.endsWith('aigis.log'))
  for (const name of ['churn1', 'churn2', 'churn3']) {
    t.equal((await server.call('/plugins', { method: 'POST', json: { name, source: 'plugins/p' } })).status, 201)
    t.equal((await server.call(`/plugins/${name}`, { method: 'DELETE' })).status, 204)
  }
  await until('the files to be closed', () => openLogFiles().length === 0).catch(() => {})
  t.same(openLogFiles(), [], 'no plugin\'s log file is open')
  for (const name of ['churn1', 'churn2', 'churn3']) t.match(readFileSync(join(logs, `${name}.log`), 'utf8'), /"msg":"removed"/, `${name}: its last record is in its file`)
  // The name again: its file opens again.
  t.equal((await server.call('/plugins', { method: 'POST', json: { name: 'churn1', source: 'plugins/p' } })).status, 201)
  t.equal((await server.call('/skills/churn1/a', { method: 'POST' })).body, 1)
})

t.test('a POST /plugins of a name being deleted is a 409 or a fresh plugin, never a plugin copied into the folder being deleted', async (t) => {
  const server = await startServer(t, { files: corePlugin('plugins/p', 'export const SKILLS = ["a"]\nexport const a = 1') })
  const add = async (): Promise<{ status: number, body: any }> => await server.call('/plugins', { method: 'POST', json: { name: 'racer', source: 'plugins/p' } })
  t.equal((await add()).status, 201)
  for (let i = 0; i < 10; i++) {
    const [removed, added] = await Promise.all([server.call('/plugins/racer', { method: 'DELETE' }), add()])
    t.equal(removed.status, 204, `round ${i}: DELETE`)
    if (added.status === 201) t.match(added.body, { state: 'running', type: 'core' }, `round ${i}: added after the delete, whole`)
    else t.match(added, { status: 409, body: { code: 'AIGIS_PLUGIN_EXISTS' } }, `round ${i}: refused while the name was taken`)
    if (added.status !== 201) t.equal((await add()).status, 201)
  }
  t.equal((await server.call('/skills/racer/a', { method: 'POST' })).body, 1)
})

t.test('a module with top-level await still loads', async (t) => {
  const server = await startServer(t, {
    config: '[core]\ntla = "plugins/tla"\n',
    files: corePlugin('plugins/tla', 'const answer = await Promise.resolve(42)\nexport const SKILLS = ["answer"]\nexport { answer }')
  })
  t.equal((await server.call('/skills/tla/answer', { method: 'POST' })).body, 42)
})

t.test('stopping or reloading a plugin ends its calls in flight: 409, their signal aborted before cleanup runs', async (t) => {
  const core = `
    import { writeFileSync } from 'node:fs'
    import type { SkillContext } from 'aigis'
    export const SKILLS = ['wait', 'quick']
    const events: string[] = []
    export function wait (_: unknown, ctx: SkillContext) {
      return new Promise((resolve) => { ctx.signal.addEventListener('abort', () => { events.push('abort ' + ctx.signal.reason?.code); resolve('aborted') }) })
    }
    export const quick = () => 'quick'
    export function cleanup () { writeFileSync(new URL('../events.json', import.meta.url), JSON.stringify([...events, 'cleanup'])) }
  `
  const server = await startServer(t, { config: '[core]\nw = "plugins/w"\n', files: corePlugin('plugins/w', core) })
  for (const action of ['stop', 'reload']) {
    if (action === 'reload') t.equal((await server.call('/plugins/w/start', { method: 'POST' })).status, 200)
    const calls = [server.call('/skills/w/wait', { method: 'POST' }), server.call('/skills/w/wait', { method: 'POST' })]
    await until('both calls in flight', () => server.app.aigis.service.inFlight('w') === 2)
    t.equal((await server.call(`/plugins/w/${action}`, { method: 'POST' })).status, 200)
    for (const res of await Promise.all(calls)) {
      t.equal(res.status, 409, action)
      t.match(res.body, { code: 'AIGIS_PLUGIN_STOPPED', plugin: 'w', skill: 'wait', message: /Plugin "w" was stopped \(or reloaded\) while skill "wait" ran/ })
    }
    const events = JSON.parse(readFileSync(join(server.dir, 'data', 'ext', 'w', 'events.json'), 'utf8'))
    t.same(events, ['abort AIGIS_PLUGIN_STOPPED', 'abort AIGIS_PLUGIN_STOPPED', 'cleanup'], `${action}: aborted, then cleaned up`)
    t.equal(server.app.aigis.service.inFlight('w'), 0)
  }
  t.equal((await server.call('/skills/w/quick', { method: 'POST' })).body, 'quick', 'the reloaded plugin answers')
})

t.test('a cleanup that never finishes is given up after the time limit: the stop completes, the plugin starts again, the server closes', async (t) => {
  const server = await startServer(t, {
    config: '[core]\nstuck = "plugins/stuck"\n',
    files: corePlugin('plugins/stuck', 'export const SKILLS = ["ok"]\nexport const ok = () => "ok"\nexport function cleanup () { return new Promise(() => {}) }'),
    cleanupTimeout: 0.2
  })
  const stopped = await server.call('/plugins/stuck/stop', { method: 'POST' })
  t.match(stopped, { status: 200, body: { state: 'stopped' } })
  const gaveUp = logsOf(server.app, 'stuck').find((r) => r.msg.startsWith('cleanup() did not finish within 0.2 s'))
  t.match(gaveUp, { level: 'error', msg: /the plugin is stopped without it/ })
  t.equal((await server.call('/skills/stuck/ok', { method: 'POST' })).status, 409, 'its skills are not served')
  t.match((await server.call('/plugins/stuck/start', { method: 'POST' })).body, { state: 'running' }, 'the plugin is not held by it')
  t.equal((await server.call('/skills/stuck/ok', { method: 'POST' })).body, 'ok')
  // The test's teardown closes the server: the same cleanup again is given up again.
})

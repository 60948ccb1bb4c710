import t from 'tap'
import { corePlugin, startServer, type TestServer } from './helper.js'

// Calling skills over HTTP: results, the context a skill gets, and every way
// a call can go wrong, each with its status and AIGIS_* code.

const CORE = `
import { Type } from 'typebox'
import { SkillError, type SkillContext } from 'aigis'

export const SKILLS = ['greet', 'math.add', 'math.sum', 'VERSION', 'config', 'nothing', 'boom', 'teapot',
  'forever', 'aborted', 'nested.deep.value', 'logs', 'raw', 'chain', 'bigint', 'cycle', 'itself', 'depth', 'spoof', 'spoofMore', 'pick']

export function greet (input: { name: string }, ctx: SkillContext) {
  ctx.log.info({ name: input.name }, 'greeting')
  return 'Hello, ' + input.name + '!'
}
export const math = {
  add: ({ a, b }: { a: number, b: number }) => a + b,
  sum: async ({ numbers }: { numbers: number[] }, ctx: SkillContext) => {
    let total = 0
    for (const n of numbers) total = await ctx.aigis.s.math.add({ a: total, b: n })
    return total
  }
}
export const VERSION = '1.2.3'
export const config = { retries: 3, hosts: ['a', 'b'] }
export function nothing () {}
export function boom () { throw new Error('disk full on /var') }
export function teapot () { throw new SkillError(418, 'I am a teapot', 'TEAPOT') }
export function forever () { return new Promise(() => {}) }
let abortReason = 'none'
export async function aborted (_input: unknown, ctx: SkillContext) {
  return await new Promise((resolve) => {
    ctx.signal.addEventListener('abort', () => { abortReason = String(ctx.signal.reason?.code ?? ctx.signal.reason); resolve('aborted') })
  })
}
export const nested = { deep: { value: () => 'deep' } }
export function logs (_: unknown, ctx: SkillContext) {
  ctx.log.boot('lifecycle up')
  ctx.log.shutdown('lifecycle down')
  return abortReason
}
export function spoof (_: unknown, ctx: SkillContext) { ctx.log.info({ plugin: 'other', stream: 'stdout', seq: 1, pid: 7, kept: true }, 'spoofed fields') }
export function spoofMore (_: unknown, ctx: SkillContext) {
  ctx.log.error({ level: 10 }, 'an error with a level field')
  ctx.log.warn({ time: 5, msg: 'a msg field' }, 'a warning with time and msg fields')
  ctx.log.info({ msg: 'the message as a field' })
  ctx.log.child({ plugin: 'other', level: 'debug' }).child({ stream: 'stdout', time: 1 }).error('from a child bound to other keys')
}
export const pick = (input: { color: string }) => input.color
export function raw (input: unknown) { return { got: input === undefined ? 'undefined' : input } }
export async function chain (_: unknown, ctx: SkillContext) {
  return await ctx.aigis.call('s.VERSION')
}

export async function itself (_: unknown, ctx: SkillContext) { return await ctx.aigis.call('s.itself') }
export async function depth (input: { n: number }, ctx: SkillContext): Promise<number> {
  return input.n === 0 ? 0 : 1 + await ctx.aigis.s.depth({ n: input.n - 1 })
}

export function bigint () { return { n: 10n } }
export async function cycle () { const a: Record<string, unknown> = {}; a.self = a; return a }

export const SCHEMAS = {
  greet: { description: 'Say hello', body: Type.Object({ name: Type.String() }), response: Type.String() },
  'math.add': { body: Type.Object({ a: Type.Number(), b: Type.Number() }, { additionalProperties: false }) },
  'math.sum': { body: Type.Object({ numbers: Type.Array(Type.Number()) }) },
  pick: { body: Type.Object({ color: Type.Unsafe<string>({ type: 'string', enum: ['red', 'blue'] }) }) }
}
`

let server: TestServer
t.before(async () => {
  server = await startServer(t, {
    config: '[core]\ns = "plugins/s"\n',
    files: corePlugin('plugins/s', CORE),
    skillTimeout: 0.5,
    bodyLimit: 1024
  })
})

const post = (path: string, json?: unknown, init: RequestInit = {}) =>
  server.call(path, { method: 'POST', ...(json === undefined ? {} : { json }), ...init })

t.test('results: JSON values, constants, dotted paths, undefined → 204', async (t) => {
  t.same((await post('/skills/s/greet', { name: 'Ada' })).body, 'Hello, Ada!')
  const add = await post('/skills/s/math.add', { a: 2, b: 40 })
  t.equal(add.status, 200)
  t.equal(add.body, 42)
  t.match(add.headers.get('content-type'), /^application\/json/)
  t.same((await post('/skills/s/VERSION')).body, '1.2.3')
  t.same((await post('/skills/s/config')).body, { retries: 3, hosts: ['a', 'b'] })
  t.same((await post('/skills/s/nested.deep.value')).body, 'deep')
  const nothing = await post('/skills/s/nothing')
  t.equal(nothing.status, 204)
  t.equal(nothing.body, undefined)
  t.same((await post('/skills/s/raw')).body, { got: 'undefined' }, 'no body → input undefined')
  t.same((await post('/skills/s/raw', null, { body: 'null', headers: { 'content-type': 'application/json' } })).body, { got: null }, 'a JSON null body → input null')
  t.same((await post('/skills/s/raw', { x: [1, 2] })).body, { got: { x: [1, 2] } })
})

t.test('ctx.aigis calls other skills in-process, both forms', async (t) => {
  t.equal((await post('/skills/s/math.sum', { numbers: [1, 2, 3, 4] })).body, 10)
  t.equal((await post('/skills/s/chain')).body, '1.2.3')
})

t.test('calls nest through ctx.aigis up to 64 deep; a skill that calls itself without end is a 500 for that call, the server lives on', async (t) => {
  t.equal((await post('/skills/s/depth', { n: 63 })).body, 63, '64 calls, the HTTP one and 63 nested')
  const tooDeep = await post('/skills/s/depth', { n: 64 })
  t.equal(tooDeep.status, 500)
  t.match(tooDeep.body, { code: 'AIGIS_SKILL_CALLS_TOO_DEEP', plugin: 's', skill: 'depth', message: /Skill "s\.depth" was called 64 calls deep through ctx\.aigis/ })
  for (let i = 0; i < 3; i++) {
    const endless = await post('/skills/s/itself')
    t.equal(endless.status, 500)
    t.match(endless.body, { code: 'AIGIS_SKILL_CALLS_TOO_DEEP', skill: 'itself' })
  }
  t.equal((await server.call('/health')).status, 200, 'alive')
  t.equal((await post('/skills/s/greet', { name: 'Ada' })).body, 'Hello, Ada!')
})

t.test('ctx.log writes to the central log with the plugin name and lifecycle levels', async (t) => {
  await post('/skills/s/greet', { name: 'Grace' })
  await post('/skills/s/logs')
  const records = server.app.aigis.hub.tail(50, { plugins: new Set(['s']) })
  t.ok(records.some((r) => r.msg === 'greeting' && r.name === 'Grace' && r.level === 'info' && r.stream === 'log'))
  t.ok(records.some((r) => r.msg === 'lifecycle up' && r.level === 'boot'))
  t.ok(records.some((r) => r.msg === 'lifecycle down' && r.level === 'shutdown'))
  const greeting = records.find((r) => r.msg === 'greeting')!
  const json = server.app.aigis.hub.entry(greeting.seq)!.json
  t.equal(json.match(/"plugin":/g)?.length, 1, `one plugin key in ${json}`)
  t.equal(json.match(/"stream":/g)?.length, 1, 'one stream key')
})

t.test('logged fields named like the keys a record owns (plugin, stream, seq, pid) are kept with a leading underscore', async (t) => {
  await post('/skills/s/spoof')
  const record = server.app.aigis.hub.tail(20).find((r) => r.msg === 'spoofed fields')!
  t.match(record, { plugin: 's', stream: 'log', _plugin: 'other', _stream: 'stdout', _seq: 1, _pid: 7, kept: true })
  t.not(record.seq, 1)
  const json = server.app.aigis.hub.entry(record.seq)!.json
  for (const key of ['plugin', 'stream', 'seq', 'pid']) t.notOk(new RegExp(`[{,]"${key}":`).test(json) && json.match(new RegExp(`[{,]"${key}":`, 'g'))!.length > 1, `one ${key} key`)
  t.same(server.app.aigis.hub.tail(5, { plugins: new Set(['other']) }), [], 'nothing filed under the plugin a field named')
})

t.test('so are level, time and msg fields (an error with level: 10 was dropped), and the keys a child logger binds', async (t) => {
  await post('/skills/s/spoofMore')
  const records = server.app.aigis.hub.tail(20, { plugins: new Set(['s']) })
  const find = (msg: string): Record<string, unknown> | undefined => records.find((r) => r.msg === msg)
  t.match(find('an error with a level field'), { level: 'error', _level: 10 })
  const warning = find('a warning with time and msg fields')
  t.match(warning, { level: 'warn', _time: 5, _msg: 'a msg field' })
  t.ok((warning!.time as number) > 5, 'the record\'s own time')
  t.match(find('the message as a field'), { level: 'info' }, 'a msg field alone is the message')
  t.match(find('from a child bound to other keys'), { plugin: 's', stream: 'log', level: 'error', _plugin: 'other', _level: 'debug', _stream: 'stdout', _time: 1 })
  for (const record of records.filter((r) => r.msg !== 'core plugin started')) {
    const json = server.app.aigis.hub.entry(record.seq)!.json
    for (const key of ['seq', 'time', 'level', 'plugin', 'stream', 'msg']) t.ok((json.match(new RegExp(`[{,]"${key}":`, 'g')) ?? []).length <= 1, `one ${key} key in ${json}`)
  }
  t.same(server.app.aigis.hub.tail(5, { plugins: new Set(['other']) }), [], 'nothing filed under other')
})

t.test('a body that fails the schema is a 400, with no type coercion', async (t) => {
  const wrongType = await post('/skills/s/greet', { name: 5 })
  t.equal(wrongType.status, 400)
  t.match(wrongType.body, { code: 'AIGIS_INVALID_SKILL_INPUT', plugin: 's', skill: 'greet', message: /body\/name must be string/ })
  t.equal((await post('/skills/s/greet', {})).status, 400, 'missing property')
  t.equal((await post('/skills/s/greet')).status, 400, 'missing body')
  t.equal((await post('/skills/s/math.add', { a: 1, b: 2, c: 3 })).status, 400, 'additional property')
  t.equal((await post('/skills/s/math.add', { a: '1', b: 2 })).status, 400, 'a numeric string is not a number')
  t.match((await post('/skills/s/pick', { color: 'green' })).body, { code: 'AIGIS_INVALID_SKILL_INPUT', message: /body\/color must be one of: red, blue/ }, 'an enum says what it allows')
})

t.test('a JSON content type with an empty body is no body: input undefined (SPEC §5)', async (t) => {
  const json = { 'content-type': 'application/json' }
  t.same((await post('/skills/s/raw', undefined, { body: '', headers: json })).body, { got: 'undefined' })
  t.same((await post('/skills/s/raw', undefined, { body: '', headers: { 'content-type': 'application/json; charset=utf-8' } })).body, { got: 'undefined' }, 'with a charset')
  const missing = await post('/skills/s/greet', undefined, { body: '', headers: json })
  t.equal(missing.status, 400, 'a skill with a body schema still wants a body')
  t.match(missing.body, { code: 'AIGIS_INVALID_SKILL_INPUT', skill: 'greet' })
  t.equal((await post('/plugins/nope/stop', undefined, { body: '', headers: json })).body.code, 'AIGIS_PLUGIN_NOT_FOUND', 'other routes too: the body is not in the way')
  const blank = await post('/skills/s/raw', undefined, { body: ' ', headers: json })
  t.equal(blank.status, 400, 'a body of white space is not empty: bad JSON')
  t.equal(blank.body.code, 'AIGIS_INVALID_JSON')
  const poisoned = await post('/skills/s/raw', undefined, { body: '{"__proto__":{"polluted":true}}', headers: json })
  t.equal(poisoned.status, 400, 'Fastify\'s prototype poisoning check still applies')
  t.equal(poisoned.body.code, 'AIGIS_INVALID_JSON')
  t.equal(({} as Record<string, unknown>).polluted, undefined)
})

t.test('malformed JSON is a 400, a body over the limit a 413', async (t) => {
  const bad = await post('/skills/s/greet', undefined, { body: '{"name": ', headers: { 'content-type': 'application/json' } })
  t.equal(bad.status, 400)
  t.match(bad.body, { statusCode: 400, error: 'Bad Request', code: 'AIGIS_INVALID_JSON', plugin: 's', skill: 'greet' }, 'it names the skill the call was for')
  t.match(bad.body.message, /^Body is not valid JSON \(Content-Type is application\/json\): .*JSON/, 'and where the JSON broke')
  const poisoned = await post('/skills/s/greet', undefined, { body: '{"__proto__":{"x":1}}', headers: { 'content-type': 'application/json' } })
  t.match(poisoned.body, { statusCode: 400, code: 'AIGIS_INVALID_JSON', message: /it sets "__proto__" or "constructor\.prototype", which are refused/ })
  const big = await post('/skills/s/greet', { name: 'x'.repeat(5000) })
  t.equal(big.status, 413)
  t.match(big.body, { statusCode: 413, code: 'AIGIS_BODY_TOO_LARGE', plugin: 's', skill: 'greet' })
})

t.test('a body that is not JSON (curl -d without a Content-Type sends a form) is a 415 that says what to send', async (t) => {
  const form = await post('/skills/s/greet', undefined, { body: '{"name":"Ada"}', headers: { 'content-type': 'application/x-www-form-urlencoded' } })
  t.equal(form.status, 415)
  t.match(form.body, {
    statusCode: 415,
    error: 'Unsupported Media Type',
    code: 'AIGIS_UNSUPPORTED_MEDIA_TYPE',
    message: "Unsupported Media Type: application/x-www-form-urlencoded. Send JSON with Content-Type: application/json (curl: -H 'Content-Type: application/json')"
  })
  const text = await post('/skills/s/greet', undefined, { body: '{"name":"Ada"}', headers: { 'content-type': 'text/plain' } })
  t.match(text, { status: 415, body: { code: 'AIGIS_UNSUPPORTED_MEDIA_TYPE', plugin: 's', skill: 'greet', message: /^Unsupported Media Type: text\/plain\. Send JSON/ } }, 'text/plain too: all JSON')
  const none = await post('/skills/s/greet', undefined, { body: new Blob(['{"name":"Ada"}']) })
  t.equal(none.status, 415)
  t.match(none.body.message, /^Unsupported Media Type: a body without Content-Type\. Send JSON/)
  t.equal((await post('/skills/s/greet', { name: 'Ada' })).status, 200, 'the same body as JSON is fine')
})

t.test('unknown plugin or skill is a 404', async (t) => {
  const plugin = await post('/skills/nope/greet')
  t.equal(plugin.status, 404)
  t.match(plugin.body, { code: 'AIGIS_PLUGIN_NOT_FOUND', plugin: 'nope' })
  const skill = await post('/skills/s/nope')
  t.equal(skill.status, 404)
  t.match(skill.body, { code: 'AIGIS_SKILL_NOT_FOUND', plugin: 's', skill: 'nope' })
  t.equal((await post('/skills/s/math')).status, 404, 'an export not listed in SKILLS is not a skill')
})

t.test('a skill that throws is a 500 with its message and no stack', async (t) => {
  const res = await post('/skills/s/boom')
  t.equal(res.status, 500)
  t.match(res.body, { statusCode: 500, error: 'Internal Server Error', message: 'disk full on /var', code: 'AIGIS_SKILL_FAILED', plugin: 's', skill: 'boom' })
  t.notMatch(JSON.stringify(res.body), /at .*AIGIS\.core|stack/, 'no stack trace in the body')
  const logged = server.app.aigis.hub.tail(20).find((r) => r.level === 'error' && /disk full/.test(r.msg))
  t.ok(logged, 'the failure is logged')
  t.match(JSON.stringify(logged), /AIGIS\.core\.ts/, 'with its stack, in the log only')
  t.match(logged, { plugin: 's', skill: 'boom', stream: 'log' }, 'filed under the plugin whose skill threw')
  const json = server.app.aigis.hub.entry(logged!.seq)!.json
  t.equal(json.match(/"plugin":/g)?.length, 1, `one plugin key in ${json.slice(0, 200)}`)
})

t.test('a skill that throws a 4xx error passes it through', async (t) => {
  const res = await post('/skills/s/teapot')
  t.equal(res.status, 418)
  t.match(res.body, { statusCode: 418, message: 'I am a teapot', code: 'TEAPOT', plugin: 's', skill: 'teapot' })
})

t.test('a result JSON cannot encode is a 500 that says so, sync or async', async (t) => {
  for (const [skill, reason] of [['bigint', /BigInt/], ['cycle', /circular/]] as const) {
    const res = await post(`/skills/s/${skill}`)
    t.equal(res.status, 500, skill)
    t.match(res.body, { code: 'AIGIS_SKILL_RESULT_INVALID', plugin: 's', skill, message: reason })
    t.match(res.body.message, /return plain data/, 'the message says what to do')
  }
})

t.test('a skill that never settles is a 504 and its signal is aborted', async (t) => {
  const res = await post('/skills/s/forever')
  t.equal(res.status, 504)
  t.match(res.body, { code: 'AIGIS_SKILL_TIMEOUT', plugin: 's', skill: 'forever' })
  t.equal((await post('/skills/s/aborted')).status, 504)
  t.equal((await post('/skills/s/logs')).body, 'AIGIS_SKILL_TIMEOUT', 'ctx.signal was aborted with the timeout')
})

t.test('a stopped plugin answers 409; started again it answers', async (t) => {
  t.equal((await post('/plugins/s/stop')).status, 200)
  const res = await post('/skills/s/greet', { name: 'x' })
  t.equal(res.status, 409)
  t.match(res.body, { code: 'AIGIS_PLUGIN_NOT_RUNNING', plugin: 's', message: 'Plugin "s" is stopped; start it with POST /plugins/s/start.' })
  t.equal((await post('/plugins/s/start')).status, 200)
  t.equal((await post('/skills/s/greet', { name: 'x' })).status, 200)
})

t.test('after all that the server is fine', async (t) => {
  t.same((await server.call('/health')).body, { status: 'ok' })
})

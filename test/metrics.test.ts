import t from 'tap'
import { corePlugin, startServer, type TestContext, type TestServer } from './helper.js'
import { externalPlugin, waitFor, waitForStatus } from './supervisor-helper.js'

// GET /metrics: Prometheus text with skill calls, errors and durations by
// skill, plugin states and restarts, log records by plugin, SSE clients and
// the default process metrics; one registry per app.

const hello = corePlugin('plugins/hello', `
  import { Type } from 'typebox'
  import { SkillError, type SkillContext } from 'aigis'
  export const SKILLS = ['greet', 'boom', 'teapot', 'VERSION']
  export function greet (input: { name: string }, ctx: SkillContext) { ctx.log.info('greeting'); return 'Hello, ' + input.name }
  export function boom () { throw new Error('kaboom') }
  export function teapot () { throw new SkillError(418, 'short and stout') }
  export const VERSION = '1.0.0'
  export const SCHEMAS = { greet: { body: Type.Object({ name: Type.String() }) } }
`)

interface Sample { name: string, labels: Record<string, string>, value: number }

/** Parses the Prometheus text exposition format (enough of it for these tests). */
function parse (text: string): Sample[] {
  const samples: Sample[] = []
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line)
    if (m === null) throw new Error(`not a sample line: ${line}`)
    const labels: Record<string, string> = {}
    for (const [, k, v] of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[k] = v
    samples.push({ name: m[1], labels, value: Number(m[3]) })
  }
  return samples
}

async function scrape (server: TestServer): Promise<Sample[]> {
  const res = await server.call('/metrics')
  if (res.status !== 200) throw new Error(`GET /metrics: ${res.status}`)
  return parse(res.body)
}

/** The value of the one sample with this name and these labels, or undefined. */
function value (samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  const found = samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
  if (found.length > 1) throw new Error(`${found.length} samples for ${name} ${JSON.stringify(labels)}`)
  return found[0]?.value
}

function serve (t: TestContext): Promise<TestServer> {
  return startServer(t, { config: '[core]\nhello = "plugins/hello"\n', files: hello })
}

t.test('GET /metrics is Prometheus text with the default process metrics', async (t) => {
  const server = await serve(t)
  const res = await server.call('/metrics')
  t.equal(res.status, 200)
  t.match(res.headers.get('content-type'), /^text\/plain; version=0\.0\.4/)
  t.match(res.body, /# TYPE aigis_skill_calls_total counter/)
  t.match(res.body, /# TYPE aigis_skill_duration_seconds histogram/)
  const samples = parse(res.body)
  for (const name of ['process_cpu_user_seconds_total', 'process_resident_memory_bytes', 'nodejs_heap_size_used_bytes', 'nodejs_eventloop_lag_seconds']) {
    t.ok(samples.some((s) => s.name === name), name)
  }
  t.equal(value(samples, 'aigis_sse_clients'), 0)
})

t.test('skill calls, errors and durations by skill', async (t) => {
  const server = await serve(t)
  for (let i = 0; i < 3; i++) t.equal((await server.call('/skills/hello/greet', { method: 'POST', json: { name: 'x' } })).status, 200)
  t.equal((await server.call('/skills/hello/greet', { method: 'POST', json: { name: 5 } })).status, 400)
  t.equal((await server.call('/skills/hello/boom', { method: 'POST' })).status, 500)
  t.equal((await server.call('/skills/hello/teapot', { method: 'POST' })).status, 418)
  t.equal((await server.call('/skills/hello/VERSION', { method: 'POST' })).status, 200)
  // Unknown skills and plugins are not skills: they must not add series.
  for (let i = 0; i < 5; i++) {
    t.equal((await server.call(`/skills/hello/nope${i}`, { method: 'POST' })).status, 404)
    t.equal((await server.call(`/skills/nobody${i}/x`, { method: 'POST' })).status, 404)
  }

  const samples = await scrape(server)
  const greet = { plugin: 'hello', skill: 'greet' }
  t.equal(value(samples, 'aigis_skill_calls_total', greet), 4)
  t.equal(value(samples, 'aigis_skill_calls_total', { plugin: 'hello', skill: 'boom' }), 1)
  t.equal(value(samples, 'aigis_skill_calls_total', { plugin: 'hello', skill: 'VERSION' }), 1)
  t.equal(value(samples, 'aigis_skill_errors_total', { ...greet, status: '400' }), 1)
  t.equal(value(samples, 'aigis_skill_errors_total', { plugin: 'hello', skill: 'boom', status: '500' }), 1)
  t.equal(value(samples, 'aigis_skill_errors_total', { plugin: 'hello', skill: 'teapot', status: '418' }), 1)
  t.equal(value(samples, 'aigis_skill_errors_total', { plugin: 'hello', skill: 'VERSION' }), undefined, 'no error series for a skill without errors')
  t.equal(value(samples, 'aigis_skill_duration_seconds_count', greet), 4)
  t.equal(value(samples, 'aigis_skill_duration_seconds_bucket', { ...greet, le: '+Inf' }), 4)
  t.ok(value(samples, 'aigis_skill_duration_seconds_sum', greet)! >= 0)
  t.notOk(samples.some((s) => s.name.startsWith('aigis_skill') && (/^nope|^nobody/.test(s.labels.skill ?? '') || /^nobody/.test(s.labels.plugin ?? ''))), 'no series for unknown skills')
})

t.test('a call refused before the skill ran is counted with its status, without a duration', async (t) => {
  const server = await serve(t)
  t.equal((await server.call('/skills/hello/boom', { method: 'POST', body: '{"oops', headers: { 'content-type': 'application/json' } })).status, 400)
  t.equal((await server.call('/skills/hello/boom', { method: 'POST' })).status, 500)
  const samples = await scrape(server)
  const boom = { plugin: 'hello', skill: 'boom' }
  t.equal(value(samples, 'aigis_skill_calls_total', boom), 2)
  t.equal(value(samples, 'aigis_skill_errors_total', { ...boom, status: '400' }), 1, 'the malformed body')
  t.equal(value(samples, 'aigis_skill_errors_total', { ...boom, status: '500' }), 1)
  t.equal(value(samples, 'aigis_skill_duration_seconds_count', boom), 1, 'only the call that reached the skill has a duration')

  // Its plugin stopped: its calls are 409s, counted against the skill (an outage shows in its error rate); a name nobody knows adds nothing.
  t.equal((await server.call('/plugins/hello/stop', { method: 'POST' })).status, 200)
  t.equal((await server.call('/skills/hello/boom', { method: 'POST' })).status, 409)
  t.equal((await server.call('/skills/hello/never', { method: 'POST' })).status, 409)
  const stopped = await scrape(server)
  t.equal(value(stopped, 'aigis_skill_errors_total', { ...boom, status: '409' }), 1)
  t.equal(value(stopped, 'aigis_skill_calls_total', boom), 3)
  t.notOk(stopped.some((s) => s.labels.skill === 'never'), 'no series for a skill never seen')
})

t.test('plugin states follow the plugin, and a removed plugin\'s series go', async (t) => {
  const server = await serve(t)
  let samples = await scrape(server)
  t.equal(value(samples, 'aigis_plugin_state', { plugin: 'hello', state: 'running' }), 1)
  t.equal(value(samples, 'aigis_plugin_state', { plugin: 'hello', state: 'stopped' }), 0)
  t.equal(value(samples, 'aigis_plugin_restarts_total', { plugin: 'hello' }), 0)

  await server.call('/plugins/hello/stop', { method: 'POST' })
  samples = await scrape(server)
  t.equal(value(samples, 'aigis_plugin_state', { plugin: 'hello', state: 'running' }), 0)
  t.equal(value(samples, 'aigis_plugin_state', { plugin: 'hello', state: 'stopped' }), 1)

  await server.call('/plugins/hello/start', { method: 'POST' })
  await server.call('/skills/hello/greet', { method: 'POST', json: { name: 'x' } })
  await server.call('/skills/hello/boom', { method: 'POST' })
  t.equal((await server.call('/plugins/hello', { method: 'DELETE' })).status, 204)
  samples = await scrape(server)
  t.same(samples.filter((s) => s.name.startsWith('aigis_') && s.labels.plugin === 'hello').map((s) => s.name), [], 'no series of a deleted plugin is left')
})

t.test('restarts of a crashing subprocess plugin are counted', async (t) => {
  const server = await startServer(t, {
    config: '[external]\ncrashy = "plugins/crashy"\n',
    files: externalPlugin('plugins/crashy', 'LAUNCH = ["node", "-e", "setTimeout(() => process.exit(3), 20)"]\nRESTART = 2'),
    restartBackoff: { initialMs: 0, maxMs: 10 }
  })
  await waitForStatus(server.app, 'crashy', (s) => s.state === 'fatal')
  const samples = await scrape(server)
  t.equal(value(samples, 'aigis_plugin_restarts_total', { plugin: 'crashy' }), 2)
  const state = server.app.aigis.plugins.stateOf('crashy')!
  t.equal(value(samples, 'aigis_plugin_state', { plugin: 'crashy', state }), 1, `state ${state}`)
})

t.test('log records by plugin and level', async (t) => {
  const server = await serve(t)
  const before = value(await scrape(server), 'aigis_log_records_total', { plugin: 'hello', level: 'info' }) ?? 0
  for (let i = 0; i < 4; i++) await server.call('/skills/hello/greet', { method: 'POST', json: { name: 'x' } })
  const samples = await scrape(server)
  t.equal(value(samples, 'aigis_log_records_total', { plugin: 'hello', level: 'info' }), before + 4)
  t.ok(value(samples, 'aigis_log_records_total', { plugin: 'hello', level: 'boot' })! >= 1, 'the plugin\'s start')
  t.ok(value(samples, 'aigis_log_records_total', { plugin: 'aigis', level: 'info' })! >= 1, 'the server\'s own records')
})

t.test('SSE clients connected to GET /logs', async (t) => {
  const server = await serve(t)
  const controller = new AbortController()
  t.teardown(() => controller.abort())
  const res = await fetch(`${server.url}/logs`, { signal: controller.signal })
  t.equal(res.status, 200)
  const count = await waitFor('the SSE client to be counted', async () => {
    const n = value(await scrape(server), 'aigis_sse_clients')
    return n === 1 ? n : false
  })
  t.equal(count, 1)
  controller.abort()
  await waitFor('the SSE client to be gone', async () => value(await scrape(server), 'aigis_sse_clients') === 0)
})

t.test('two apps in one process keep their own metrics', async (t) => {
  const a = await serve(t)
  const b = await serve(t)
  for (let i = 0; i < 3; i++) await a.call('/skills/hello/greet', { method: 'POST', json: { name: 'a' } })
  await b.call('/skills/hello/greet', { method: 'POST', json: { name: 'b' } })
  t.equal(value(await scrape(a), 'aigis_skill_calls_total', { plugin: 'hello', skill: 'greet' }), 3)
  t.equal(value(await scrape(b), 'aigis_skill_calls_total', { plugin: 'hello', skill: 'greet' }), 1)
  t.not(a.app.metrics.registry, b.app.metrics.registry)
})

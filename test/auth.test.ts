import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { corePlugin, startServer, type TestContext, type TestServer } from './helper.js'
import { externalPlugin, internalPlugin, waitFor, waitForLog, waitForState } from './supervisor-helper.js'

// Bearer auth: the admin token, public routes, plugin tokens and their scope,
// and that no token ever reaches a log line.

const TOKEN = 'admin-0123456789abcdef0123456789abcdef'
const ADMIN = { authorization: `Bearer ${TOKEN}` }

const echo = corePlugin('plugins/hello', `
  export const SKILLS = ['echo']
  export function echo (input: unknown) { return input }
`)

// An internal plugin keeps the token it was started with in a file of its
// runtime folder (never in a log line), and calls a skill with it through the client.
const caller = internalPlugin('plugins/caller', 'LAUNCH = "main.ts"', {
  'main.ts': `
    import { writeFileSync } from 'node:fs'
    import type { AigisClient } from 'aigis/client'
    export async function launch (aigis: AigisClient) {
      writeFileSync('token.txt', process.env.AIGIS_TOKEN ?? '')
      const answer = await aigis.hello.echo({ from: 'caller' })
      console.log(JSON.stringify({ level: 30, msg: 'echoed', answer }))
      setInterval(() => {}, 1000)
    }
  `
})

async function serve (t: TestContext, extra: Record<string, string> = {}, config = ''): Promise<TestServer> {
  return await startServer(t, {
    token: TOKEN,
    logLevel: 'trace',
    config: `[core]\nhello = "plugins/hello"\n${config}`,
    files: { ...echo, ...extra }
  })
}

t.test('without a token the server is open', async (t) => {
  const server = await startServer(t, { config: '[core]\nhello = "plugins/hello"\n', files: echo })
  t.equal((await server.call('/skills')).status, 200)
  t.equal((await server.call('/skills/hello/echo', { method: 'POST', json: { a: 1 } })).body.a, 1)
  t.equal((await server.call('/plugins/hello/stop', { method: 'POST' })).status, 200)
  t.equal((await server.call('/metrics')).status, 200)
})

t.test('with a token, public routes answer without one', async (t) => {
  const server = await serve(t)
  t.same((await server.call('/health')).body, { status: 'ok' })
  t.equal((await server.call('/ready')).status, 200)
  t.equal((await server.call('/openapi.json')).body.openapi, '3.1.0')
  const docs = await server.call('/docs/')
  t.equal(docs.status, 200)
  t.match(docs.headers.get('content-type'), /text\/html/)
  t.equal((await server.call('/docs/static/swagger-ui.css')).status, 200, 'Swagger UI assets')
  t.equal((await server.call('/docs/json')).status, 200)
  t.equal((await server.call('/health', { method: 'HEAD' })).status, 200)
})

t.test('every other route needs the token: 401 with a stable code and a challenge', async (t) => {
  const server = await serve(t)
  const routes: Array<[string, string]> = [
    ['GET', '/skills'], ['POST', '/skills/hello/echo'], ['GET', '/plugins'], ['GET', '/plugins/hello'],
    ['POST', '/plugins/hello/stop'], ['POST', '/plugins'], ['DELETE', '/plugins/hello'], ['GET', '/plugins/hello/logs'],
    ['GET', '/logs'], ['GET', '/metrics'], ['GET', '/no/such/route'], ['POST', '/skills/nope/nothing']
  ]
  const bad: Array<Record<string, string>> = [
    {},
    { authorization: 'Bearer wrong-token' },
    { authorization: `Bearer ${TOKEN}x` },
    { authorization: `Bearer ${TOKEN.slice(0, -1)}` },
    { authorization: `Bearer ${TOKEN.slice(0, -1)}${TOKEN.endsWith('x') ? 'y' : 'x'}` }, // same length, last character differs
    { authorization: `Basic ${Buffer.from(`admin:${TOKEN}`).toString('base64')}` },
    { authorization: 'Bearer' },
    { authorization: `Bearer ${TOKEN} extra` },
    { authorization: TOKEN },
    { authorization: '' }
  ]
  for (const [method, path] of routes) {
    for (const headers of bad) {
      const res = await server.call(path, { method, headers })
      t.equal(res.status, 401, `${method} ${path} with ${JSON.stringify(headers).slice(0, 30)}`)
      t.equal(res.body.code, 'AIGIS_UNAUTHORIZED')
      t.equal(res.headers.get('www-authenticate'), 'Bearer realm="aigis"')
    }
  }
  t.equal((await server.call('/health')).status, 200, 'still alive')
})

t.test('the admin token may do everything; the scheme is case-insensitive', async (t) => {
  const server = await serve(t)
  t.equal((await server.call('/skills', { headers: ADMIN })).status, 200)
  t.same((await server.call('/skills/hello/echo', { method: 'POST', json: { x: 1 }, headers: { authorization: `bearer ${TOKEN}` } })).body, { x: 1 })
  t.equal((await server.call('/plugins/hello/stop', { method: 'POST', headers: ADMIN })).body.state, 'stopped')
  t.equal((await server.call('/plugins/hello/start', { method: 'POST', headers: ADMIN })).body.state, 'running')
  t.equal((await server.call('/plugins/hello/logs', { headers: ADMIN })).status, 200)
  t.equal((await server.call('/metrics', { headers: ADMIN })).status, 200)
  t.equal((await server.call('/no/such/route', { headers: ADMIN })).status, 404, 'an unknown route is a 404 once authenticated')
})

t.test('a plugin token calls skills and reads, but cannot manage plugins', async (t) => {
  const server = await serve(t, caller, '[internal]\ncaller = "plugins/caller"\n')
  const { app } = server
  await waitForState(app, 'caller', 'running')
  t.match(await waitForLog(app, 'caller', 'echoed'), { answer: { from: 'caller' } }, 'the injected client authenticates with the plugin token')

  const tokenFile = join(server.dir, 'data/ext/caller/token.txt')
  const token = await waitFor('the plugin token', () => { try { return readFileSync(tokenFile, 'utf8') || false } catch { return false } })
  t.not(token, TOKEN, 'the plugin did not get the admin token')
  t.ok(token.length >= 32)
  const auth = { authorization: `Bearer ${token}` }

  t.same((await server.call('/skills/hello/echo', { method: 'POST', json: { ok: true }, headers: auth })).body, { ok: true })
  for (const path of ['/skills', '/plugins', '/plugins/hello', '/plugins/caller/logs', '/metrics']) {
    t.equal((await server.call(path, { headers: auth })).status, 200, `GET ${path}`)
  }
  const stream = new AbortController()
  const sse = await fetch(`${server.url}/logs`, { headers: auth, signal: stream.signal })
  t.equal(sse.status, 200, 'GET /logs (SSE) with a plugin token')
  stream.abort()
  for (const [method, path, json] of [
    ['POST', '/plugins/hello/stop'], ['POST', '/plugins/caller/restart'], ['POST', '/plugins/hello/reload'],
    ['DELETE', '/plugins/hello'], ['POST', '/plugins', { name: 'x', source: 'plugins/hello' }]
  ] as Array<[string, string, unknown?]>) {
    const res = await server.call(path, { method, json, headers: auth })
    t.equal(res.status, 403, `${method} ${path}`)
    t.equal(res.body.code, 'AIGIS_FORBIDDEN')
  }
  t.equal(app.aigis.plugins.stateOf('hello'), 'running', 'nothing was changed')

  // A reload starts the plugin with a new token; the old one stops working.
  t.equal((await server.call('/plugins/caller/reload', { method: 'POST', headers: ADMIN })).status, 200)
  await waitForState(app, 'caller', 'running')
  const fresh = await waitFor('a new plugin token', () => { const now = readFileSync(tokenFile, 'utf8'); return now !== token && now !== '' ? now : false })
  t.equal((await server.call('/skills', { headers: auth })).status, 401, 'the old token is revoked')
  t.equal((await server.call('/skills', { headers: { authorization: `Bearer ${fresh}` } })).status, 200)

  // A removed plugin's token stops working.
  t.equal((await server.call('/plugins/caller', { method: 'DELETE', headers: ADMIN })).status, 204)
  t.equal((await server.call('/skills', { headers: { authorization: `Bearer ${fresh}` } })).status, 401)
})

t.test('an external program gets a plugin token too, and calls a skill over plain HTTP with it', async (t) => {
  const program = externalPlugin('plugins/curl', 'LAUNCH = ["node", "main.mjs"]', {
    'main.mjs': `
      const token = process.env.AIGIS_TOKEN
      const res = await fetch(process.env.AIGIS_URL + '/skills/hello/echo', { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer ' + token }, body: '{"from":"curl"}' })
      console.log(JSON.stringify({ level: 30, msg: 'called', status: res.status, answer: await res.json(), admin: token === ${JSON.stringify(TOKEN)} }))
      setInterval(() => {}, 1000)
    `
  })
  const server = await serve(t, program, '[external]\ncurl = "plugins/curl"\n')
  t.match(await waitForLog(server.app, 'curl', 'called'), { status: 200, answer: { from: 'curl' }, admin: false })
})

t.test('no token appears in any log line, on stdout records or in the log files', async (t) => {
  const server = await serve(t, caller, '[internal]\ncaller = "plugins/caller"\n')
  const { app } = server
  await waitForState(app, 'caller', 'running')
  const tokenFile = join(server.dir, 'data/ext/caller/token.txt')
  const pluginToken = await waitFor('the plugin token', () => { try { return readFileSync(tokenFile, 'utf8') || false } catch { return false } })
  // Successes, failures, errors and refusals, each a path that logs something.
  await server.call('/skills/hello/echo', { method: 'POST', json: { a: 1 }, headers: ADMIN })
  await server.call('/skills/hello/echo', { method: 'POST', body: '{bad json', headers: { ...ADMIN, 'content-type': 'application/json' } })
  await server.call('/skills', { headers: { authorization: `Bearer ${TOKEN}-wrong` } })
  await server.call('/plugins/hello/stop', { method: 'POST', headers: { authorization: `Bearer ${pluginToken}` } })
  await server.call('/plugins/nope/start', { method: 'POST', headers: ADMIN })
  await server.call('/plugins/caller/restart', { method: 'POST', headers: ADMIN })
  await waitForState(app, 'caller', 'running')

  const records = app.aigis.hub.tailEntries(100_000).map((e) => e.json)
  t.ok(records.some((line) => line.includes('unauthorized request')), 'the refusal was logged (at debug)')
  t.ok(records.some((line) => line.includes('plugin token refused')))
  for (const secret of [TOKEN, pluginToken, `${TOKEN}-wrong`]) {
    t.notOk(records.some((line) => line.includes(secret)), 'not in the central log')
  }
  const logDir = join(server.dir, 'data/logs')
  let files = ''
  for (const f of readdirSync(logDir, { recursive: true, withFileTypes: true })) {
    if (f.isFile()) files += readFileSync(join(f.parentPath, f.name), 'utf8')
  }
  t.ok(files.includes('"plugin":"caller"'), 'the log files hold the records')
  t.notOk(files.includes(TOKEN) || files.includes(pluginToken), 'not in the log files')
})

t.test('the OpenAPI document declares bearer auth; public routes opt out', async (t) => {
  const server = await serve(t)
  const doc = (await server.call('/openapi.json')).body
  t.same(doc.components.securitySchemes.bearerAuth, { type: 'http', scheme: 'bearer', description: doc.components.securitySchemes.bearerAuth.description })
  t.same(doc.security, [{ bearerAuth: [] }], 'every operation, skills included, needs the token')
  t.same(doc.paths['/health'].get.security, [])
  t.same(doc.paths['/ready'].get.security, [])
  t.notOk('security' in doc.paths['/skills/hello/echo'].post, 'a skill inherits the document\'s security')
  t.notOk('security' in doc.paths['/plugins'].get)
})

import { connect, type Socket } from 'node:net'
import { join } from 'node:path'
import t from 'tap'
import { buildApp } from '../src/app.js'
import { corePlugin, startServer, tempDir, writeFiles } from './helper.js'

// Errors Fastify and Node answer on their own, outside the root error
// handler (a URL that does not decode, a path parameter over the length
// limit, a failing async constraint, a request Node's HTTP parser refuses),
// come out in the aigis shape all the same: { statusCode, error, message, code }
// with an AIGIS_* code, as JSON with a charset. So do validation messages
// for enums, which list the allowed values.

const t1 = corePlugin('plugins/t1', `
  export const SKILLS = ['echo']
  export function echo (input: unknown) { return input }
`)

interface RawReply { status: number, headers: Record<string, string>, body: any, interim: string[] }

/** Sends raw bytes on a fresh connection (no client library to tidy the URL up) and parses the answer. */
async function raw (port: number, request: string): Promise<RawReply> {
  return await new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1')
    let text = ''
    const timer = setTimeout(() => { socket.destroy(); reject(new Error(`no answer to ${JSON.stringify(request.slice(0, 80))}`)) }, 10_000)
    const finish = (): void => {
      clearTimeout(timer)
      const interim: string[] = [] // 100 Continue before the answer
      while (/^HTTP\/1\.1 1\d\d /.test(text)) {
        interim.push(text.slice(0, text.indexOf('\r\n')))
        text = text.slice(text.indexOf('\r\n\r\n') + 4)
      }
      const [head, ...rest] = text.split('\r\n\r\n')
      const [status, ...lines] = head.split('\r\n')
      const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]))
      const body = rest.join('\r\n\r\n')
      resolve({ status: Number(status.split(' ')[1]), headers, body: body === '' ? undefined : JSON.parse(body), interim })
    }
    socket.setEncoding('utf8')
    socket.on('data', (chunk: string) => { text += chunk })
    socket.on('end', finish)
    socket.on('error', (err: NodeJS.ErrnoException) => { if (text !== '') finish(); else { clearTimeout(timer); reject(err) } })
    socket.write(request)
  })
}

const get = (path: string, headers = ''): string => `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n${headers}\r\n`
const post = (path: string, headers = ''): string => `POST ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 0\r\n${headers}\r\n`

t.test('a URL that does not decode is a 400 in the aigis shape, on any route', async (t) => {
  const server = await startServer(t, { config: '[core]\nt1 = "plugins/t1"\n', files: t1 })
  const port = Number(new URL(server.url).port)
  for (const request of [post('/skills/t1/%ZZ'), post('/skills/%ZZ/echo'), get('/plugins/%E0%A4%A'), get('/no/such/%ZZ')]) {
    const res = await raw(port, request)
    t.equal(res.status, 400, request.split('\r\n')[0])
    t.equal(res.headers['content-type'], 'application/json; charset=utf-8')
    t.same(Object.keys(res.body).sort(), ['code', 'error', 'message', 'statusCode'])
    t.match(res.body, { statusCode: 400, error: 'Bad Request', code: 'AIGIS_INVALID_REQUEST', message: /is not a valid url component/ })
  }
  t.equal((await server.call('/skills/t1/echo', { method: 'POST', json: { still: 'fine' } })).body.still, 'fine')
})

t.test('with auth on, a URL that does not decode is refused the same way (before auth: it names nothing)', async (t) => {
  const server = await startServer(t, { token: 'a-token-0123456789', config: '[core]\nt1 = "plugins/t1"\n', files: t1 })
  const res = await raw(Number(new URL(server.url).port), post('/skills/t1/%ZZ'))
  t.equal(res.status, 400)
  t.equal(res.body.code, 'AIGIS_INVALID_REQUEST')
})

t.test('a path parameter over the router\'s length limit is a 414 in the aigis shape', async (t) => {
  const server = await startServer(t, { config: '[core]\nt1 = "plugins/t1"\n', files: t1 })
  const res = await raw(Number(new URL(server.url).port), post(`/skills/${'p'.repeat(150)}/echo`))
  t.equal(res.status, 414)
  t.equal(res.headers['content-type'], 'application/json; charset=utf-8')
  t.match(res.body, { statusCode: 414, error: 'URI Too Long', code: 'AIGIS_INVALID_REQUEST', message: /exceeding the max param length/ })
})

t.test('an async constraint that fails is a 500 that hides its cause and is logged', async (t) => {
  const dir = tempDir()
  await writeFiles(dir, { 'config.aigis': '' })
  const app = await buildApp({ config: join(dir, 'config.aigis'), dataDir: join(dir, 'data') })
  t.teardown(() => app.close())
  const values = new Map<string, unknown>()
  app.addConstraintStrategy({
    name: 'tenant',
    storage: () => ({ get: (k: string) => values.get(k) ?? null, set: (k: string, v: unknown) => { values.set(k, v) } }),
    deriveConstraint: (_req: unknown, _ctx: unknown, done: (err: Error | null, value?: string) => void) => { done(new Error('tenant lookup down')) },
    mustMatchWhenDerived: true
  } as any)
  app.get('/tenant', { constraints: { tenant: 'a' } }, async () => 'ok')
  const res = await app.inject({ method: 'GET', url: '/tenant' })
  t.equal(res.statusCode, 500)
  t.same(res.json(), { statusCode: 500, error: 'Internal Server Error', message: 'Internal Server Error', code: 'AIGIS_INTERNAL_ERROR' })
  t.ok(app.aigis.hub.tail(20).some((r) => r.level === 'error' && /request failed: Unexpected error from async constraint/.test(r.msg)), 'logged')
})

t.test('what Node answers on its own (requests its parser refuses, an Expect it cannot meet) comes in the aigis shape', async (t) => {
  const server = await startServer(t)
  const port = Number(new URL(server.url).port)
  for (const request of ['POST /skills/t1/echo HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n', 'FOO / HTTP/1.1\r\nHost: x\r\n\r\n', 'GET / HTTP/9.9\r\n\r\n']) {
    const res = await raw(port, request)
    t.equal(res.status, 400, JSON.stringify(request.split('\r\n')[0]))
    t.equal(res.headers['content-type'], 'application/json; charset=utf-8')
    t.equal(res.headers.connection, 'close', 'and the connection is closed')
    t.match(res.body, { statusCode: 400, error: 'Bad Request', code: 'AIGIS_INVALID_REQUEST', message: /^Malformed HTTP request \(HPE_[A-Z_]+\)$/ })
  }
  const hostless = await raw(port, 'GET /health HTTP/1.1\r\nConnection: close\r\n\r\n')
  t.equal(hostless.status, 400, 'an HTTP/1.1 request without Host')
  t.match(hostless.body, { statusCode: 400, error: 'Bad Request', code: 'AIGIS_INVALID_REQUEST', message: 'An HTTP/1.1 request needs a Host header.' })
  t.equal((await raw(port, 'GET /health HTTP/1.0\r\n\r\n')).status, 200, 'HTTP/1.0 needs none')
  const big = await raw(port, get('/health', `X-Big: ${'h'.repeat(64 * 1024)}\r\n`))
  t.equal(big.status, 431)
  t.match(big.body, { statusCode: 431, error: 'Request Header Fields Too Large', code: 'AIGIS_HEADERS_TOO_LARGE' })
  const longUrl = await raw(port, get(`/skills/${'a'.repeat(100 * 1024)}`))
  t.equal(longUrl.status, 431, 'a URL too long for the parser counts as headers')
  t.equal(longUrl.body.code, 'AIGIS_HEADERS_TOO_LARGE')

  const expect = await raw(port, get('/health', 'Expect: teapot\r\n'))
  t.equal(expect.status, 417, 'an Expect Node cannot meet')
  t.equal(expect.headers['content-type'], 'application/json; charset=utf-8')
  t.match(expect.body, { statusCode: 417, error: 'Expectation Failed', code: 'AIGIS_EXPECTATION_FAILED', message: /Expect: "teapot" cannot be met/ })
  const continued = await raw(port, 'POST /skills/t1/echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\nExpect: 100-continue\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}')
  t.same(continued.interim, ['HTTP/1.1 100 Continue'], '100-continue is still met')
  t.equal(continued.body.code, 'AIGIS_PLUGIN_NOT_FOUND', 'then the route answers (no plugin t1 on this server)')

  // A whole request must arrive within 2 minutes (Fastify's default is no limit: a body shorter than its
  // Content-Length held the connection for good). Node checks it every 30 s, too slow to wait for here.
  t.equal(server.app.server.requestTimeout, 120_000)
  // A request whose headers do not arrive within headersTimeout: Node reports it as
  // ERR_HTTP_REQUEST_TIMEOUT, at most 30 s late; here the event is raised at once.
  const serverSide = new Promise<Socket>((resolve) => server.app.server.once('connection', resolve))
  const slow = connect(port, '127.0.0.1')
  let text = ''
  slow.setEncoding('utf8')
  slow.on('data', (chunk: string) => { text += chunk })
  const closed = new Promise((resolve) => slow.on('close', resolve))
  slow.write('GET /health HTTP/1.1\r\nHost: x\r\n')
  server.app.server.emit('clientError', Object.assign(new Error('Request timeout'), { code: 'ERR_HTTP_REQUEST_TIMEOUT' }), await serverSide)
  await closed
  t.match(text, /^HTTP\/1\.1 408 Request Timeout\r\n/)
  t.match(JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4)), { statusCode: 408, error: 'Request Timeout', code: 'AIGIS_REQUEST_TIMEOUT' })

  t.equal((await server.call('/health')).status, 200, 'alive after all of it')
})

t.test('an enum that fails validation says which values are allowed', async (t) => {
  const server = await startServer(t)
  const level = await server.call('/logs?level=nope')
  t.equal(level.status, 400)
  t.match(level.body, { code: 'AIGIS_INVALID_REQUEST', message: 'querystring/level must be one of: trace, debug, info, warn, error, fatal, boot, shutdown' })
  t.equal((await server.call('/logs?stream=stdin')).body.message, 'querystring/stream must be one of: log, stdout, stderr')
  const type = await server.call('/plugins', { method: 'POST', json: { name: 'x', source: 'plugins/x', type: 'daemon' } })
  t.equal(type.status, 400)
  t.match(type.body, { code: 'AIGIS_INVALID_REQUEST', message: 'body/type must be one of: core, internal, external' })
  t.equal((await server.call('/logs?lines=abc')).body.message, 'querystring/lines must be integer', 'other messages are Fastify\'s as before')
})

import { connect } from 'node:net'
import t from 'tap'
import { corePlugin, startServer, type TestServer } from './helper.js'

// Bad input over raw TCP (no client library to tidy it up first): random
// methods, paths (`..`, `%2e%2e`, very long names, unicode, raw bytes),
// headers and bodies from a seeded generator (FUZZ_SEED to replay a run).
// The server must answer every request, never with a 5xx except a skill's
// own failure, every error in the aigis shape with an AIGIS_* code (also
// what Fastify's router and Node answer on their own), and stay healthy.
// Oversized headers and bodies get a 4xx.

const SEED = Number(process.env.FUZZ_SEED ?? 20261124)
const REQUESTS = Number(process.env.FUZZ_REQUESTS ?? 1200)
const TOKEN = 'fuzz-token-0123456789abcdef'
const BODY_LIMIT = 64 * 1024

const fz = corePlugin('plugins/fz', `
  import { Type } from 'typebox'
  export const SKILLS = ['echo', 'boom', 'typed', 'CONSTANT', 'nested.deep']
  export function echo (input: unknown) { return input }
  export function boom () { throw new Error('boom on purpose') }
  export function typed (input: { name: string }) { return input.name.toUpperCase() }
  export const CONSTANT = 42
  export const nested = { deep: () => 'deep' }
  export const SCHEMAS = { typed: { body: Type.Object({ name: Type.String({ maxLength: 100 }) }, { additionalProperties: false }) } }
`)

/** mulberry32: a small seeded PRNG, so a failing run can be replayed. */
function prng (seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6D2B79F5) >>> 0
    let x = Math.imul(a ^ (a >>> 15), 1 | a)
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296
  }
}

/** status 0: the server closed the connection without an answer. */
interface Reply { status: number, head: string, body: string }

/** Sends raw bytes on a fresh connection and reads the answer until the server closes it. */
async function raw (port: number, request: Buffer): Promise<Reply> {
  return await new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1')
    const chunks: Buffer[] = []
    const timer = setTimeout(() => { socket.destroy(); reject(new Error(`no answer to ${JSON.stringify(request.subarray(0, 120).toString('latin1'))}`)) }, 15_000)
    const finish = (): void => {
      clearTimeout(timer)
      const text = Buffer.concat(chunks).toString('utf8')
      if (text === '') return resolve({ status: 0, head: '', body: '' })
      const m = /^HTTP\/1\.1 (\d{3})/.exec(text)
      if (m === null) return reject(new Error(`no status line in answer to ${JSON.stringify(request.subarray(0, 120).toString('latin1'))}: ${JSON.stringify(text.slice(0, 200))}`))
      const split = text.indexOf('\r\n\r\n')
      resolve({ status: Number(m[1]), head: text.slice(0, split), body: text.slice(split + 4) })
    }
    socket.on('data', (chunk) => {
      chunks.push(chunk)
      // An SSE stream (GET /logs) never ends on its own: its head is the answer.
      const text = Buffer.concat(chunks).toString('latin1')
      if (text.includes('\r\n\r\n') && /^content-type: text\/event-stream/im.test(text.slice(0, text.indexOf('\r\n\r\n')))) {
        socket.destroy()
        finish()
      }
    })
    socket.on('end', finish)
    // The server may answer (401, 413, 431) and close before it read everything we send.
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE' || err.code === 'ECONNRESET') { if (chunks.length > 0) finish(); else { clearTimeout(timer); reject(err) } } else { clearTimeout(timer); reject(err) }
    })
    socket.write(request)
  })
}

function request (method: string, path: string | Buffer, headers: Array<[string, string]>, body: Buffer = Buffer.alloc(0)): Buffer {
  const head = Buffer.concat([
    Buffer.from(`${method} `, 'latin1'), typeof path === 'string' ? Buffer.from(path, 'utf8') : path, Buffer.from(' HTTP/1.1\r\nHost: fuzz\r\nConnection: close\r\n', 'latin1'),
    Buffer.from(headers.map(([k, v]) => `${k}: ${v}\r\n`).join(''), 'utf8'),
    Buffer.from(body.length > 0 || method === 'POST' ? `Content-Length: ${body.length}\r\n\r\n` : '\r\n', 'latin1')
  ])
  return Buffer.concat([head, body])
}

function generator (random: () => number): () => { method: string, path: string | Buffer, headers: Array<[string, string]>, body: Buffer } {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]
  const int = (max: number): number => Math.floor(random() * max)
  const chars = (alphabet: string, n: number): string => Array.from({ length: n }, () => alphabet[int(alphabet.length)]).join('')
  const names = ['fz', 'echo', 'boom', 'typed', 'CONSTANT', 'nested.deep', 'nested', 'nested.deep.x', '..', '%2e%2e', '.', '%2F', '__proto__', 'constructor',
    'ünïcødé', '日本語', '😀', '%F0%9F%98%80', '%ZZ', '%', '%00', 'a'.repeat(300), 'x'.repeat(5000), '', ' ', '\t', '%20', 'hello world']
  const segment = (): string => random() < 0.6 ? pick(names) : chars('abcXYZ019-_.~%!$&\'()*+,;=:@', 1 + int(40))
  const paths = (): string | Buffer => {
    const r = random()
    if (r < 0.35) return `/skills/${pick(['fz', segment()])}/${pick(['echo', 'boom', 'typed', 'CONSTANT', 'nested.deep', segment()])}`
    if (r < 0.5) return `/plugins/${segment()}${pick(['', '/start', '/stop', '/restart', '/reload', '/logs', '/logs?lines=' + pick(['-1', '0', '1e9', 'abc', '99999999999999999999', '5'])])}`
    if (r < 0.6) return pick(['/docs/static/../../package.json', '/docs/static/%2e%2e/%2e%2e/package.json', '/docs/static/..%2f..%2fpackage.json', '/../../../etc/passwd',
      '/%2e%2e/%2e%2e/etc/passwd', '/docs/..', '/openapi.json/..', '/docs/static/index.html', '/docs/json', '//health', '/health/', '/HEALTH', '/ready?x=%', '/metrics'])
    if (r < 0.7) return `/logs?${pick(['plugin=', 'level=', 'stream=', 'lines='])}${segment()}`
    if (r < 0.8) return Buffer.from([0x2f, ...Array.from({ length: 1 + int(30) }, () => 0x21 + int(0xff - 0x21))]) // raw high bytes
    if (r < 0.9) return '/' + Array.from({ length: 1 + int(6) }, segment).join('/') + (random() < 0.3 ? '?' + segment() + '=' + segment() : '')
    return pick(['*', 'http://evil.example/skills', '/skills/fz/echo#frag', '/skills/fz/echo?' + 'q'.repeat(3000)])
  }
  const json = (depth: number): unknown => {
    const r = random()
    if (depth > 4 || r < 0.3) return pick([null, true, false, 0, -1, 1e308, 'str', 'ü😀', '', 'a'.repeat(int(2000))])
    if (r < 0.6) return Array.from({ length: int(5) }, () => json(depth + 1))
    return Object.fromEntries(Array.from({ length: int(5) }, () => [pick(['name', 'a', 'b', 'constructor', 'x'.repeat(int(50)), 'ü']), json(depth + 1)]))
  }
  const bodies = (): Buffer => {
    const r = random()
    if (r < 0.4) return Buffer.from(JSON.stringify(json(0)) ?? 'null')
    if (r < 0.5) return Buffer.from(pick(['{"name":"ok"}', '{"name":5}', '{"name":"x","extra":1}', '{"__proto__":{"polluted":1}}', '{"constructor":{"prototype":{"x":1}}}', '[' .repeat(5000) + ']'.repeat(5000)]))
    if (r < 0.65) return Buffer.from(pick(['{', '{"a":', 'nul', '"unterminated', '{"a":1}}', '\u0000', 'not json at all']))
    if (r < 0.8) return Buffer.from(Array.from({ length: int(512) }, () => int(256)))
    return Buffer.alloc(0)
  }
  const contentTypes = ['application/json', 'application/json; charset=utf-8', 'application/json; charset=utf-16', 'text/plain', 'application/x-www-form-urlencoded',
    'multipart/form-data; boundary=x', 'application/octet-stream', 'application/json;;;', 'garbage', '']
  return () => {
    const method = pick(['GET', 'GET', 'POST', 'POST', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS', 'TRACE', 'PROPFIND', 'get', 'FOO', 'CONNECT'])
    const headers: Array<[string, string]> = []
    const auth = random()
    if (auth < 0.6) headers.push(['Authorization', `Bearer ${TOKEN}`])
    else if (auth < 0.8) headers.push(['Authorization', pick(['Bearer ', 'Bearer x', `Basic ${TOKEN}`, `Bearer ${TOKEN}${TOKEN}`, 'Bearer ' + 'z'.repeat(2000), `bearer  ${TOKEN}  `])])
    if (random() < 0.8) headers.push(['Content-Type', pick(contentTypes)])
    if (random() < 0.3) headers.push([pick(['X-Custom', 'Accept', 'Accept-Encoding', 'Last-Event-ID', 'Expect', 'If-None-Match', 'Origin', 'Cookie']), chars('abcdefghij0123456789 ,;=-/*"é', int(200))])
    const body = method === 'GET' || method === 'HEAD' ? (random() < 0.1 ? bodies() : Buffer.alloc(0)) : bodies()
    return { method, path: paths(), headers, body }
  }
}

/** `{ statusCode, error, message, code: AIGIS_* }` as JSON with a charset, the status matching. */
function isAigisError (reply: Reply): boolean {
  if (!/^content-type: application\/json; charset=utf-8$/im.test(reply.head)) return false
  try {
    const body = JSON.parse(reply.body)
    return body.statusCode === reply.status && typeof body.error === 'string' && typeof body.message === 'string' && /^AIGIS_[A-Z_]+$/.test(body.code)
  } catch {
    return false
  }
}

async function healthy (server: TestServer): Promise<number> {
  return (await server.call('/health')).status
}

t.test(`random requests (seed ${SEED}): no 5xx but a skill's own, every error in the aigis shape, the server stays healthy`, async (t) => {
  const server = await startServer(t, { token: TOKEN, bodyLimit: BODY_LIMIT, config: '[core]\nfz = "plugins/fz"\n', files: fz })
  const port = Number(new URL(server.url).port)
  const next = generator(prng(SEED))
  const statuses = new Map<number, number>()
  let failures = 0
  for (let i = 0; i < REQUESTS; i++) {
    const { method, path, headers, body } = next()
    const reply = await raw(port, request(method, path, headers, body))
    statuses.set(reply.status, (statuses.get(reply.status) ?? 0) + 1)
    const ownFailure = reply.status === 500 && /"code":"AIGIS_SKILL_FAILED"/.test(reply.body) && /"skill":"boom"/.test(reply.body)
    if (reply.status === 0) {
      failures++
      t.fail(`#${i} ${method} ${String(path).slice(0, 100)}: closed without an answer`)
    }
    if (reply.status >= 400 && method !== 'HEAD' && !isAigisError(reply)) {
      failures++
      t.fail(`#${i} ${method} ${String(path).slice(0, 100)} → ${reply.status} not in the aigis shape: ${reply.head.split('\r\n').find((l) => /^content-type:/i.test(l)) ?? 'no content type'} ${reply.body.slice(0, 200)}`)
    }
    if (reply.status >= 500 && !ownFailure) {
      failures++
      t.fail(`#${i} ${method} ${String(path).slice(0, 100)} → ${reply.status} ${reply.body.slice(0, 200)}`)
    }
    if (i % 100 === 99) t.equal(await healthy(server), 200, `healthy after ${i + 1} requests`)
  }
  t.equal(failures, 0, 'no 5xx besides the skill that throws on purpose, every error in the aigis shape')
  t.comment(`statuses: ${JSON.stringify(Object.fromEntries([...statuses].sort((a, b) => a[0] - b[0])))}`)
  t.ok((statuses.get(200) ?? 0) > 0 && (statuses.get(401) ?? 0) > 0 && (statuses.get(400) ?? 0) > 0, 'the run reached skills, auth and validation')
  const logged = server.app.aigis.hub.tail(100_000).filter((r) => r.level === 'error' && /^request failed/.test(r.msg))
  t.same(logged.map((r) => r.msg), [], 'no internal error was logged')
  t.equal(await healthy(server), 200)
  t.equal((await server.call('/skills/fz/echo', { method: 'POST', json: { still: 'works' }, headers: { authorization: `Bearer ${TOKEN}` } })).body.still, 'works')
})

t.test('oversized headers, URLs and bodies are refused with a 4xx', async (t) => {
  const server = await startServer(t, { token: TOKEN, bodyLimit: BODY_LIMIT, config: '[core]\nfz = "plugins/fz"\n', files: fz })
  const port = Number(new URL(server.url).port)
  const auth: [string, string] = ['Authorization', `Bearer ${TOKEN}`]
  const json: [string, string] = ['Content-Type', 'application/json']

  const bigHeader = await raw(port, request('GET', '/health', [['X-Big', 'h'.repeat(64 * 1024)]]))
  t.equal(bigHeader.status, 431, 'a 64 KiB header: 431')
  t.match(bigHeader.body, /"code":"AIGIS_HEADERS_TOO_LARGE"/)
  const manyHeaders = await raw(port, request('GET', '/health', Array.from({ length: 2000 }, (_, i): [string, string] => [`X-H${i}`, 'v'.repeat(20)])))
  t.equal(manyHeaders.status, 431, '2000 headers: 431')
  const longUrl = await raw(port, request('GET', '/skills/' + 'a'.repeat(100 * 1024), [auth]))
  t.ok(longUrl.status === 414 || longUrl.status === 431, `a 100 KiB URL: ${longUrl.status}`)

  const big = Buffer.from(JSON.stringify({ name: 'x'.repeat(BODY_LIMIT) }))
  const tooLarge = await raw(port, request('POST', '/skills/fz/echo', [auth, json], big))
  t.equal(tooLarge.status, 413)
  t.match(tooLarge.body, /"code":"AIGIS_BODY_TOO_LARGE"/)
  const chunked = await raw(port, Buffer.concat([
    Buffer.from(`POST /skills/fz/echo HTTP/1.1\r\nHost: fuzz\r\nConnection: close\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n`),
    Buffer.from(`${big.length.toString(16)}\r\n`), big, Buffer.from('\r\n0\r\n\r\n')
  ]))
  t.equal(chunked.status, 413, 'chunked, without a length: 413 all the same')
  const lying = await raw(port, Buffer.from(`POST /skills/fz/echo HTTP/1.1\r\nHost: fuzz\r\nConnection: close\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Type: application/json\r\nContent-Length: ${BODY_LIMIT * 4}\r\n\r\n{}`))
  t.equal(lying.status, 413, 'a declared length over the limit is refused before the body comes')
  const unauthenticated = await raw(port, request('POST', '/skills/fz/echo', [json], big))
  t.equal(unauthenticated.status, 401, 'no token: refused before the body is read')
  const deep = await raw(port, request('POST', '/skills/fz/nested.deep', [auth, json], Buffer.from('['.repeat(20_000) + ']'.repeat(20_000))))
  t.equal(deep.status, 200, 'deeply nested JSON is parsed without harm')
  const connect = await raw(port, Buffer.from('CONNECT evil.example:443 HTTP/1.1\r\nHost: evil.example:443\r\n\r\n'))
  t.equal(connect.status, 405, 'CONNECT: 405, no tunnel')
  t.match(JSON.parse(connect.body), { statusCode: 405, error: 'Method Not Allowed', code: 'AIGIS_METHOD_NOT_ALLOWED', message: /CONNECT evil\.example:443 not allowed/ })
  const proto = await raw(port, request('POST', '/skills/fz/echo', [auth, json], Buffer.from('{"__proto__":{"polluted":true}}')))
  t.equal(proto.status, 400, '__proto__ in a body is refused')
  t.equal(({} as Record<string, unknown>).polluted, undefined)

  t.equal(await healthy(server), 200, 'alive after all of it')
})

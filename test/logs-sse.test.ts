// GET /logs through a real server and real SSE clients: headers, the event
// format, server-side filters, replay (lines, Last-Event-ID, after), gaps for
// ids no longer retained, heartbeats, bad queries, many clients, shutdown.
import { get } from 'node:http'
import type { Socket } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { EventSource } from 'eventsource'
import t from 'tap'
import { buildApp } from '../src/app.js'
import { corePlugin, startServer, tempDir, writeFiles, type TestContext, type TestServer } from './helper.js'

interface Received { id: string, type: string, data: any }

/** An EventSource that keeps what it receives; closed when the test ends. */
function listen (t: TestContext, url: string): { es: EventSource, events: Received[], opened: Promise<void>, until: (n: number) => Promise<Received[]> } {
  const es = new EventSource(url)
  t.teardown(() => es.close())
  const events: Received[] = []
  const keep = (type: string) => (e: MessageEvent) => { events.push({ id: e.lastEventId, type, data: JSON.parse(e.data) }) }
  es.addEventListener('log', keep('log'))
  es.addEventListener('gap', keep('gap'))
  const opened = new Promise<void>((resolve) => es.addEventListener('open', () => resolve(), { once: true }))
  const until = async (n: number): Promise<Received[]> => {
    for (let i = 0; events.length < n; i++) {
      if (i > 1000) throw new Error(`waited for ${n} events, got ${events.length}`)
      await sleep(10)
    }
    return events
  }
  return { es, events, opened, until }
}

/**
 * Reads the raw stream until `done` says so (or 10 s pass); returns the text.
 * Plain node:http with no agent: one connection, closed when done (fetch's
 * pool keeps spare connections open that would hold up closing the server).
 */
async function readRaw (url: string, done: (text: string) => boolean, headers: Record<string, string> = {}): Promise<{ status: number, headers: Record<string, string | string[] | undefined>, text: string }> {
  return await new Promise((resolve, reject) => {
    const req = get(url, { headers, agent: false }, (res) => {
      let text = ''
      const finish = (): void => {
        clearTimeout(timer)
        req.destroy()
        resolve({ status: res.statusCode!, headers: res.headers, text })
      }
      const timer = setTimeout(finish, 10_000)
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => {
        text += chunk
        if (res.statusCode === 200 && done(text)) finish()
      })
      res.on('end', finish)
    })
    req.on('error', reject)
  })
}

/** The events in raw SSE text. */
function parseEvents (text: string): Received[] {
  return text.split('\n\n').filter((block) => block.includes('data: ')).map((block) => {
    const field = (name: string): string => block.split('\n').find((l) => l.startsWith(name + ': '))?.slice(name.length + 2) ?? ''
    return { id: field('id'), type: field('event'), data: JSON.parse(field('data')) }
  })
}

function publish (server: TestServer, plugin: string, count: number, stream: 'stdout' | 'stderr' = 'stdout', prefix = 'line'): void {
  for (let i = 1; i <= count; i++) server.app.aigis.hub.publishLine(plugin, stream, 42, `${prefix} ${i}`)
}

t.test('the stream opens at once, with headers that keep proxies from buffering it', async (t) => {
  const server = await startServer(t)
  const { opened, events } = listen(t, `${server.url}/logs?plugin=nobody`)
  await opened
  t.equal(events.length, 0, 'open before any record matched')
  const raw = await readRaw(`${server.url}/logs?plugin=nobody`, (text) => text.includes('\n\n'))
  t.equal(raw.status, 200)
  t.match(raw.headers['content-type'], /^text\/event-stream/)
  t.equal(raw.headers['cache-control'], 'no-cache')
  t.equal(raw.headers['x-accel-buffering'], 'no')
  t.match(raw.text, /^: aigis log\nretry: \d+\n\n/, 'a comment and the reconnect delay come first')
})

t.test('HEAD /logs answers the headers and ends (a stream would never end)', async (t) => {
  const server = await startServer(t)
  const head = await fetch(`${server.url}/logs`, { method: 'HEAD', signal: AbortSignal.timeout(10_000) })
  t.equal(head.status, 200)
  t.match(head.headers.get('content-type'), /^text\/event-stream/)
  t.equal(await head.text(), '')
  t.equal(server.app.aigis.hub.sseClients, 0, 'no stream was opened')
})

t.test('each record is an event: id = seq, event: log, data = the record as JSON', async (t) => {
  const server = await startServer(t)
  const { until, opened } = listen(t, `${server.url}/logs?plugin=worker`)
  await opened
  publish(server, 'worker', 3)
  server.app.aigis.hub.publishLine('worker', 'stderr', 42, '{"level":40,"msg":"structured","n":1}')
  const events = await until(4)
  t.same(events.map((e) => e.type), ['log', 'log', 'log', 'log'])
  for (const e of events) {
    t.equal(e.id, String(e.data.seq))
    t.equal(JSON.stringify(e.data), server.app.aigis.hub.jsonAt(e.data.seq), 'the data is the record as retained')
  }
  t.match(events[0].data, { level: 'info', plugin: 'worker', stream: 'stdout', pid: 42, msg: 'line 1' })
  t.match(events[3].data, { level: 'warn', stream: 'stderr', msg: 'structured', n: 1 })
})

t.test('filters run on the server: plugin list, stream, level and above', async (t) => {
  const server = await startServer(t)
  const all = listen(t, `${server.url}/logs?plugin=a,b,c`)
  const ab = listen(t, `${server.url}/logs?plugin=a,b`)
  const stderr = listen(t, `${server.url}/logs?plugin=a,b,c&stream=stderr`)
  const warn = listen(t, `${server.url}/logs?level=warn&plugin=a,b,c`)
  const combined = listen(t, `${server.url}/logs?plugin=b&stream=stdout&level=info`)
  await Promise.all([all.opened, ab.opened, stderr.opened, warn.opened, combined.opened])
  const hub = server.app.aigis.hub
  hub.publishLine('a', 'stdout', 1, 'a out')
  hub.publishLine('b', 'stderr', 2, 'b err')
  hub.publishLine('c', 'stdout', 3, 'c out')
  hub.publishLine('b', 'stdout', 2, 'b out')
  hub.publishLine('c', 'stdout', 3, JSON.stringify({ level: 'fatal', msg: 'c fatal' }))
  hub.publish({ time: Date.now(), level: 'boot', plugin: 'a', stream: 'log', msg: 'a boot' })
  const msgs = async (client: ReturnType<typeof listen>, n: number): Promise<string[]> => (await client.until(n)).map((e) => e.data.msg)
  t.same(await msgs(all, 6), ['a out', 'b err', 'c out', 'b out', 'c fatal', 'a boot'])
  t.same(await msgs(ab, 4), ['a out', 'b err', 'b out', 'a boot'])
  t.same(await msgs(stderr, 1), ['b err'])
  t.same(await msgs(warn, 3), ['b err', 'c fatal', 'a boot'])
  t.same(await msgs(combined, 1), ['b out'])
  await sleep(100)
  t.same([all, ab, stderr, warn, combined].map((c) => c.events.length), [6, 4, 1, 3, 1], 'and nothing else came')
})

t.test('lines=N replays the last N matching records, then goes on live', async (t) => {
  const server = await startServer(t)
  publish(server, 'x', 10)
  publish(server, 'y', 5)
  const { until, opened } = listen(t, `${server.url}/logs?plugin=x&lines=3`)
  await opened
  t.same((await until(3)).map((e) => e.data.msg), ['line 8', 'line 9', 'line 10'])
  publish(server, 'x', 1, 'stdout', 'live')
  t.same((await until(4)).map((e) => e.data.msg).slice(3), ['live 1'])
  const more = listen(t, `${server.url}/logs?plugin=y&lines=100`)
  t.equal((await more.until(5)).length, 5, 'fewer retained than asked: all of them')
})

t.test('an EventSource that reconnects gets every record after its Last-Event-ID once, then live ones', async (t) => {
  const server = await startServer(t, { logHub: { sse: { retryMs: 50 } } })
  const sockets = new Set<Socket>()
  server.app.server.on('connection', (socket: Socket) => { sockets.add(socket) })
  const client = listen(t, `${server.url}/logs?plugin=r`)
  let opens = 0
  client.es.addEventListener('open', () => { opens++ })
  await client.opened
  publish(server, 'r', 5, 'stdout', 'before')
  await client.until(5)
  // The connection drops (a proxy restarts, a network blip): cut it from the server's side.
  for (const socket of sockets) socket.destroy()
  publish(server, 'r', 5, 'stdout', 'while away')
  for (let i = 0; opens < 2; i++) {
    if (i > 500) throw new Error('no reconnect')
    await sleep(10)
  }
  publish(server, 'r', 5, 'stdout', 'after')
  const events = await client.until(15)
  await sleep(100)
  t.equal(client.events.length, 15, 'no duplicate')
  t.same(events.map((e) => e.data.msg), [
    ...[1, 2, 3, 4, 5].map((i) => `before ${i}`),
    ...[1, 2, 3, 4, 5].map((i) => `while away ${i}`),
    ...[1, 2, 3, 4, 5].map((i) => `after ${i}`)
  ], 'no gap, in order')
})

t.test('after=<seq> replays the same way as Last-Event-ID, which wins when both are given', async (t) => {
  const server = await startServer(t)
  publish(server, 'q', 6)
  const first = server.app.aigis.hub.tail(6, { plugins: new Set(['q']) })
  const afterThird = first[2].seq
  const viaQuery = await readRaw(`${server.url}/logs?plugin=q&after=${afterThird}`, (text) => parseEvents(text).length >= 3)
  t.same(parseEvents(viaQuery.text).map((e) => e.data.msg), ['line 4', 'line 5', 'line 6'])
  const both = await readRaw(`${server.url}/logs?plugin=q&after=0`, (text) => parseEvents(text).length >= 1, { 'last-event-id': String(first[4].seq) })
  t.same(parseEvents(both.text).map((e) => e.data.msg), ['line 6'])
})

t.test('an id older than what is retained: a gap event says how many are lost, then the rest', async (t) => {
  const server = await startServer(t, { logHub: { capacity: 10 } })
  const hub = server.app.aigis.hub
  publish(server, 'g', 30)
  const first = hub.firstSeq
  const raw = await readRaw(`${server.url}/logs?plugin=g`, (text) => parseEvents(text).length >= 11, { 'last-event-id': String(first - 6) })
  const events = parseEvents(raw.text)
  t.equal(events[0].type, 'gap')
  t.same(events[0].data, { missed: 5, from: first - 5, to: first - 1, lost: 5 })
  t.equal(events[0].id, String(first - 1), 'the gap moves Last-Event-ID past what it skipped')
  t.same(events.slice(1).map((e) => e.data.seq), Array.from({ length: 10 }, (_, i) => first + i), 'then every retained record')
  // An id from before a server restart (larger than any seq now): everything retained is new.
  const restarted = await readRaw(`${server.url}/logs?plugin=g`, (text) => parseEvents(text).length >= 10, { 'last-event-id': String(hub.lastSeq + 1000) })
  t.same(parseEvents(restarted.text).map((e) => e.data.seq), Array.from({ length: 10 }, (_, i) => first + i))
})

t.test('a comment is sent as a heartbeat', async (t) => {
  const server = await startServer(t, { logHub: { sse: { heartbeatMs: 50 } } })
  const raw = await readRaw(`${server.url}/logs`, (text) => (text.match(/: heartbeat\n\n/g) ?? []).length >= 2)
  t.ok((raw.text.match(/: heartbeat\n\n/g) ?? []).length >= 2)
})

t.test('every bad query is a 400 with a code', async (t) => {
  const server = await startServer(t)
  const bad: Array<[string, Record<string, string>?]> = [
    ['level=nope'], ['level='], ['lines=-1'], ['lines=abc'], ['lines=1.5'], ['lines=99999999'],
    ['stream=stdin'], ['plugin=bad!name'], ['plugin='], ['plugin=a,,b'], ['after=-1'], ['after=x'],
    ['after=abc', { 'last-event-id': '5' }], ['foo=bar&level=nope']
  ]
  for (const [query, headers] of bad) {
    const res = await server.call(`/logs?${query}`, { headers })
    t.equal(res.status, 400, `${query} ${JSON.stringify(headers ?? {})}`)
    t.equal(res.body.code, 'AIGIS_INVALID_REQUEST')
  }
  t.equal(server.app.aigis.hub.sseClients, 0, 'none of them became a stream')
})

t.test('unknown query parameters (cache busters, polyfills\' lastEventId) are ignored; known ones still filter', async (t) => {
  const server = await startServer(t)
  publish(server, 'u', 3)
  publish(server, 'other', 1)
  const res = await readRaw(`${server.url}/logs?plugin=u&lines=2&_=1712345678&lastEventId=&foo=bar`, (text) => parseEvents(text).length >= 2)
  t.equal(res.status, 200)
  t.same(parseEvents(res.text).map((e) => e.data.msg), ['line 2', 'line 3'])
  t.equal((await server.call('/plugins/u/logs?foo=bar')).status, 404, 'GET /plugins/{name}/logs ignores them too (404: no plugin u)')
})

t.test('a Last-Event-ID header that is not an id is ignored: live, or from ?after= when given', async (t) => {
  const server = await startServer(t)
  publish(server, 'h', 3, 'stdout', 'old')
  const hub = server.app.aigis.hub
  const clients = async (n: number): Promise<void> => {
    for (let i = 0; hub.sseClients !== n; i++) {
      if (i > 500) throw new Error(`${hub.sseClients} streams open, not ${n}`)
      await sleep(10)
    }
  }
  for (const id of ['abc', '-1', '1.5', '9'.repeat(16), '']) {
    await clients(0) // the one before is gone
    const live = readRaw(`${server.url}/logs?plugin=h`, (text) => parseEvents(text).length >= 1, { 'last-event-id': id })
    await clients(1)
    publish(server, 'h', 1, 'stdout', `live ${JSON.stringify(id)}`)
    const res = await live
    t.equal(res.status, 200, JSON.stringify(id))
    t.same(parseEvents(res.text).map((e) => e.data.msg), [`live ${JSON.stringify(id)} 1`], 'no replay: live records only')
  }
  const afterFirst = hub.tail(100, { plugins: new Set(['h']) })[0].seq
  const withAfter = await readRaw(`${server.url}/logs?plugin=h&after=${afterFirst}`, (text) => parseEvents(text).length >= 2, { 'last-event-id': 'abc' })
  t.same(parseEvents(withAfter.text).map((e) => e.data.msg).slice(0, 2), ['old 2', 'old 3'], '?after= applies when the header is not an id')
})

t.test('100 concurrent clients each get every record, and are counted', async (t) => {
  const server = await startServer(t)
  const clients = Array.from({ length: 100 }, (_, i) => listen(t, `${server.url}/logs?plugin=many${i % 2 === 0 ? '' : ',other'}`))
  await Promise.all(clients.map((c) => c.opened))
  t.equal(server.app.aigis.hub.sseClients, 100)
  publish(server, 'many', 500)
  for (const client of clients) {
    const events = await client.until(500)
    t.equal(events.length, 500)
    if (!events.every((e, i) => e.data.msg === `line ${i + 1}`)) t.fail('out of order or missing')
  }
  for (const client of clients) client.es.close()
  for (let i = 0; server.app.aigis.hub.sseClients > 0; i++) {
    if (i > 500) break
    await sleep(10)
  }
  t.equal(server.app.aigis.hub.sseClients, 0, 'gone once they close')
})

t.test('closing the server ends open streams instead of waiting for them', async (t) => {
  const dir = tempDir()
  await writeFiles(dir, { 'config.aigis': '' })
  const app = await buildApp({ config: `${dir}/config.aigis`, dataDir: `${dir}/data` })
  await app.listen({ host: '127.0.0.1', port: 0 })
  const url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`
  const ended = [1, 2, 3].map(async () => {
    const response = await fetch(`${url}/logs`)
    const reader = response.body!.getReader()
    for (;;) {
      const { done } = await reader.read()
      if (done) return 'ended'
    }
  })
  while (app.aigis.hub.sseClients < 3) await sleep(10)
  await app.close()
  t.same(await Promise.all(ended), ['ended', 'ended', 'ended'])
  t.equal(app.aigis.hub.sseClients, 0)
})

t.test('GET /plugins/{name}/logs gives a plugin\'s last records', async (t) => {
  const server = await startServer(t, {
    config: '[core]\nhello = "plugins/hello"\n',
    files: corePlugin('plugins/hello', `
      export const SKILLS = ['greet']
      export function greet (input: { name: string }, ctx: any) { ctx.log.info({ name: input.name }, 'greeting'); return 'hi ' + input.name }
    `)
  })
  for (const name of ['Ada', 'Bob', 'Cy']) await server.call('/skills/hello/greet', { method: 'POST', json: { name } })
  const res = await server.call('/plugins/hello/logs?lines=2')
  t.equal(res.status, 200)
  t.match(res.body, [{ plugin: 'hello', msg: 'greeting', name: 'Bob' }, { plugin: 'hello', msg: 'greeting', name: 'Cy' }])
})

t.test('the OpenAPI document describes GET /logs as an event stream', async (t) => {
  const server = await startServer(t)
  const doc = (await server.call('/openapi.json')).body
  const op = doc.paths['/logs'].get
  t.same(op.tags, ['logs'])
  t.ok(op.responses['200'].content['text/event-stream'])
  t.same(op.parameters.filter((p: any) => p.in === 'query').map((p: any) => p.name).sort(), ['after', 'level', 'lines', 'plugin', 'stream'])
  t.ok(op.parameters.find((p: any) => p.in === 'header' && p.name === 'last-event-id'))
})

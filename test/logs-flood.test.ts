// The central log under a flood, end to end: an external plugin prints as
// fast as it can, a real SSE client and the plugin's log file get every line
// in order; skill calls keep answering; a client that stops reading costs a
// bounded buffer, gets `event: gap` when it reads again, or is disconnected.
import { readdirSync, readFileSync } from 'node:fs'
import { connect, type Socket } from 'node:net'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { EventSource } from 'eventsource'
import t from 'tap'
import { corePlugin, startServer, type TestServer } from './helper.js'

const PRINTER = readFileSync(join(import.meta.dirname, 'fixtures', 'log-printer.mjs'), 'utf8')

/** An external plugin that runs the line printer with these arguments. */
function printerPlugin (name: string, args: string[]): Record<string, string> {
  return {
    [`plugins/${name}/AIGIS/AIGIS.config`]: `PLUGIN_TYPE = "external"\nLAUNCH = ${JSON.stringify(['node', 'printer.mjs', ...args])}\n`,
    [`plugins/${name}/printer.mjs`]: PRINTER
  }
}

/** An external plugin that prints batches of lines until it is stopped. */
function endlessPlugin (name: string): Record<string, string> {
  return {
    [`plugins/${name}/AIGIS/AIGIS.config`]: 'PLUGIN_TYPE = "external"\nLAUNCH = ["node", "flood.mjs"]\n',
    [`plugins/${name}/flood.mjs`]: `
      let i = 0
      const batch = () => {
        let chunk = ''
        for (let k = 0; k < 2000; k++) chunk += (++i) + ' flooding the log as fast as it can\\n'
        process.stdout.write(chunk, () => setImmediate(batch))
      }
      batch()
    `
  }
}

const GREETER = corePlugin('plugins/greeter', `
  export const SKILLS = ['greet']
  export function greet (input: { name: string }, ctx: any) {
    ctx.log.info({ name: input.name }, 'greeted')
    return 'Hello, ' + input.name + '!'
  }
`)

async function waitUntil (what: string, check: () => boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(10)
  }
}

/** Lines of `plugin`'s stdout in its log files (current and rotated), as their msg, oldest file first. */
function fileLines (server: TestServer, plugin: string): string[] {
  const dir = join(server.dir, 'data', 'logs')
  const files = readdirSync(dir).filter((f) => f === `${plugin}.log` || f.startsWith(`${plugin}.log.`))
  files.sort((a, b) => (Number(b.split('.').pop()) || 0) - (Number(a.split('.').pop()) || 0))
  return files.flatMap((f) => readFileSync(join(dir, f), 'utf8').split('\n').filter((l) => l !== ''))
    .map((l) => JSON.parse(l)).filter((r) => r.stream === 'stdout').map((r) => r.msg)
}

/**
 * A client that sends its request, reads the response head, then stops
 * reading; `resume` reads again (resolving with all it read once the
 * connection closes), `read` is what it has read since.
 */
async function stalledClient (server: TestServer, path: string): Promise<{ socket: Socket, resume: () => Promise<string>, read: () => string }> {
  const socket = connect((server.app.server.address() as { port: number }).port, '127.0.0.1')
  await new Promise((resolve) => socket.once('connect', resolve))
  socket.write(`GET ${path} HTTP/1.1\r\nHost: localhost\r\nAccept: text/event-stream\r\n\r\n`)
  await new Promise((resolve) => socket.once('data', resolve))
  socket.pause()
  let text = ''
  const resume = async (): Promise<string> => await new Promise((resolve) => {
    socket.on('data', (chunk: Buffer) => { text += chunk.toString('latin1') })
    socket.on('close', () => resolve(text))
    socket.on('error', () => {})
    socket.resume()
  })
  return { socket, resume, read: () => text }
}

/** The server's side of the one connection whose remote port is `port`. */
function serverSocket (sockets: Set<Socket>, port: number): Socket {
  for (const socket of sockets) if (socket.remotePort === port) return socket
  throw new Error('no such connection')
}

t.test('every line of a flooding external plugin reaches an SSE client in order, and its log file', async (t) => {
  const count = 60_000
  const server = await startServer(t, { config: '', files: printerPlugin('flood', [String(count), 'single']) })
  const es = new EventSource(`${server.url}/logs?plugin=flood&stream=stdout`)
  t.teardown(() => es.close())
  let received = 0
  let outOfOrder = 0
  let gaps = 0
  es.addEventListener('log', (e) => {
    const index = Number(JSON.parse(e.data).msg.split(' ')[0])
    if (index !== received + 1) outOfOrder++
    received = index
  })
  es.addEventListener('gap', () => { gaps++ })
  await new Promise((resolve) => es.addEventListener('open', resolve, { once: true }))
  // Added once the client listens, so it floods while it is connected.
  const added = await server.call('/plugins', { method: 'POST', json: { name: 'flood', source: 'plugins/flood' } })
  t.equal(added.status, 201, 'the flooding plugin is added')
  await waitUntil(`${count} lines (got ${received})`, () => received >= count || gaps > 0)
  t.equal(gaps, 0, 'no gap')
  t.equal(outOfOrder, 0, 'in order, none missing')
  t.equal(received, count)
  await waitUntil('the plugin to end', () => server.app.aigis.plugins.status('flood').state === 'exited')
  await server.app.close()
  const lines = fileLines(server, 'flood')
  t.equal(lines.length, count, 'the same count is in the file')
  t.ok(lines.every((msg, i) => msg.startsWith(`${i + 1} the quick`)), 'in order')
})

t.test('a plugin that floods the log cannot starve skill calls', async (t) => {
  const server = await startServer(t, {
    config: '[core]\ngreeter = "plugins/greeter"\n[external]\nflood = "plugins/flood"\n',
    files: { ...GREETER, ...endlessPlugin('flood') }
  })
  const hub = server.app.aigis.hub
  await waitUntil('the flood', () => (hub.countsByPlugin().flood ?? 0) > 50_000)
  let answeredDuringFlood = 0
  for (let i = 0; i < 20; i++) {
    const before = hub.countsByPlugin().flood
    const res = await server.call('/skills/greeter/greet', { method: 'POST', json: { name: `n${i}` } })
    t.equal(res.status, 200)
    t.equal(res.body, `Hello, n${i}!`)
    if (hub.countsByPlugin().flood > before) answeredDuringFlood++
  }
  t.ok(answeredDuringFlood > 0, `calls were answered while lines kept coming (${answeredDuringFlood} of 20)`)
  t.equal(server.app.aigis.plugins.status('flood').state, 'running', 'still flooding')

  // Once the flood has filled the whole ring again, the greeter's records are still there for its logs route.
  const turnedOver = hub.countsByPlugin().flood + hub.capacity
  await waitUntil('the ring to turn over', () => hub.countsByPlugin().flood > turnedOver)
  const logs = await server.call('/plugins/greeter/logs?lines=100')
  t.equal(logs.status, 200)
  t.same((logs.body as Array<{ msg: string, name?: string }>).filter((r) => r.msg === 'greeted').map((r) => r.name), Array.from({ length: 20 }, (_, i) => `n${i}`), 'every greeting, in order')
  await server.call('/plugins/flood/stop', { method: 'POST' })
})

t.test('a client that stops reading costs a bounded buffer, and gets event: gap when it reads again', async (t) => {
  const server = await startServer(t, {
    config: '[core]\ngreeter = "plugins/greeter"\n',
    files: { ...GREETER, ...printerPlugin('flood', ['200000', 'batch']) },
    // Not cut for being stalled while the flood runs, however slow the machine (the default is 60 s).
    logHub: { capacity: 20_000, sse: { stallTimeoutMs: 600_000 } }
  })
  const sockets = new Set<Socket>()
  server.app.server.on('connection', (socket: Socket) => sockets.add(socket))
  const stalled = await stalledClient(server, '/logs?plugin=flood&stream=stdout')
  // A client that reads: it must not be slowed by the other.
  const es = new EventSource(`${server.url}/logs?plugin=flood&stream=stdout`)
  t.teardown(() => es.close())
  let received = 0
  let reading = 0
  es.addEventListener('log', () => { received++ })
  es.addEventListener('gap', (e) => { reading += JSON.parse(e.data).missed })
  await new Promise((resolve) => es.addEventListener('open', resolve, { once: true }))
  t.equal(server.app.aigis.hub.sseClients, 2)

  await server.call('/plugins', { method: 'POST', json: { name: 'flood', source: 'plugins/flood' } })
  await waitUntil('the plugin to end', () => server.app.aigis.plugins.status('flood').state === 'exited')
  const greet = await server.call('/skills/greeter/greet', { method: 'POST', json: { name: 'still here' } })
  t.equal(greet.status, 200, 'skill routes answer')
  await waitUntil('the reading client to get everything', () => received + reading >= 200_000)
  t.equal(received + reading, 200_000, 'the reading client got every line, or was told what it missed')

  const held = serverSocket(sockets, stalled.socket.localPort!)
  t.ok(held.writableLength < 2 * 1024 * 1024, `the stalled client holds ${held.writableLength} bytes in the server, not the flood`)
  t.equal(server.app.aigis.hub.sseClients, 2, 'it is still connected (not stalled long enough to be cut)')

  const text = stalled.resume()
  // Published once the server has told it about the gap (a record published before could be among those skipped).
  await waitUntil('the gap event', () => stalled.read().includes('event: gap\n'), 30_000)
  server.app.aigis.hub.publishLine('flood', 'stdout', 1, 'after the gap')
  await waitUntil('the record published after the gap', () => stalled.read().includes('after the gap'), 30_000)
  stalled.socket.destroy()
  const seen = await text
  const gap = /event: gap\ndata: (\{.*\})\n/.exec(seen)
  t.ok(gap, 'it was told it missed records')
  const info = JSON.parse(gap![1])
  t.ok(info.missed > 0 && info.to >= info.from, `missed ${info.missed} (seq ${info.from}..${info.to}, ${info.lost} no longer retained)`)
  t.ok(seen.indexOf('after the gap') > seen.indexOf('event: gap'), 'and then went on with live records')
})

t.test('a client whose socket stays full is disconnected', async (t) => {
  const server = await startServer(t, { logHub: { sse: { heartbeatMs: 50, stallTimeoutMs: 300 } } })
  const hub = server.app.aigis.hub
  const stalled = await stalledClient(server, '/logs')
  const other = new EventSource(`${server.url}/logs?plugin=nobody`)
  t.teardown(() => other.close())
  await new Promise((resolve) => other.addEventListener('open', resolve, { once: true }))
  t.equal(hub.sseClients, 2)
  // Far more than the kernel buffers between the two ends hold.
  const line = 'x'.repeat(1000)
  for (let i = 0; i < 60_000; i++) hub.publishLine('big', 'stdout', 1, line)
  await waitUntil('the stalled client to be cut', () => hub.sseClients === 1)
  t.equal(hub.sseClients, 1, 'the stalled one is gone, the other stays')
  // Resolves only once the server has closed the connection.
  await stalled.resume()
  const got = new Promise((resolve) => other.addEventListener('log', (e) => resolve(JSON.parse(e.data).msg), { once: true }))
  hub.publishLine('nobody', 'stdout', 1, 'still here')
  t.equal(await got, 'still here', 'the other client still gets its records')
})

// npm run bench -- logs
//
// The central log under a flood. A child prints 1,000,000 lines; the same
// child is read once by a bare readline loop (the raw pipe rate) and once
// through aigis (readLines -> hub -> files + stdout + SSE) to a client of
// GET /logs, in the same run, and the rates are compared:
//   - one line per write (console.log style): SSE rate >= 0.8x raw
//   - 64 KiB batches:                         SSE rate >= 0.25x raw
//   - p99 latency from a line's write to its SSE arrival at 10,000 lines/s
//   - the server's peak RSS with one stalled client during a 1,000,000-line
//     flood: <= 200 MB
// The server runs in its own process (stdout to /dev/null, files under a
// temp dir) so the client does not share its core; both are driven over IPC.
import { fork, spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { createReadStream, mkdirSync, mkdtempSync, openSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { request } from 'node:http'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'

const PRINTER = fileURLToPath(new URL('../test/fixtures/log-printer.mjs', import.meta.url))
const COUNT = Number(process.env.LOG_BENCH_LINES ?? 1_000_000)
const RUNS = Number(process.env.LOG_BENCH_RUNS ?? 2)
const MB = 1024 * 1024

type Mode = 'single' | 'batch'

// ---------------------------------------------------------------- server side

async function serve (dir: string): Promise<void> {
  const { buildApp } = await import('../src/app.js')
  const { LogHub } = await import('../src/log/hub.js')
  const { logToStdout } = await import('../src/log/stdout.js')
  const { readLines } = await import('../src/log/lines.js')
  writeFileSync(join(dir, 'config.aigis'), '')
  const hub = new LogHub({ level: 'info' })
  const closeStdout = logToStdout(hub, false)
  // Enough rotated files that no line of the flood is rotated away before it is counted.
  const app = await buildApp({ config: join(dir, 'config.aigis'), dataDir: join(dir, 'data'), hub, logFiles: 100 })
  await app.listen({ host: '127.0.0.1', port: 0 })
  const send = (message: object): void => { process.send!(message) }
  // The bench gone (done or failed): close, so a profile is written, and end.
  process.on('disconnect', () => { void app.close().then(() => process.exit(0)) })
  process.on('message', (message: { cmd: string, mode?: string, count?: number }) => {
    void (async () => {
      if (message.cmd === 'flood') {
        // LOG_BENCH_PROFILE=<dir>: a CPU profile of the server during each flood.
        const profiling = process.env.LOG_BENCH_PROFILE !== undefined ? await startProfile() : undefined
        const started = performance.now()
        const cpu = process.cpuUsage()
        const child = spawn(process.execPath, [PRINTER, String(message.count), message.mode!], { stdio: ['ignore', 'pipe', 'pipe'] })
        const pid = child.pid!
        const exited = once(child, 'exit')
        await Promise.all([
          readLines(child.stdout!, (line, plain) => hub.publishLine('flood', 'stdout', pid, line, plain)),
          readLines(child.stderr!, (line, plain) => hub.publishLine('flood', 'stderr', pid, line, plain)),
          exited
        ])
        const used = process.cpuUsage(cpu)
        await profiling?.(join(process.env.LOG_BENCH_PROFILE!, `flood-${message.mode}-${Date.now()}.cpuprofile`))
        send({ cmd: 'flooded', ms: performance.now() - started, cpuMs: (used.user + used.system) / 1000, rss: process.memoryUsage().rss })
      } else if (message.cmd === 'close') {
        await app.close()
        await closeStdout()
        send({ cmd: 'closed', maxRss: process.resourceUsage().maxRSS * 1024 })
      }
    })()
  })
  send({ cmd: 'ready', port: (app.server.address() as { port: number }).port })
}

async function startProfile (): Promise<(file: string) => Promise<void>> {
  const { Session } = await import('node:inspector/promises')
  const session = new Session()
  session.connect()
  await session.post('Profiler.enable')
  await session.post('Profiler.start')
  return async (file) => {
    const { profile } = await session.post('Profiler.stop')
    mkdirSync(dirname(file), { recursive: true })
    writeFileSync(file, JSON.stringify(profile))
    session.disconnect()
  }
}

// ---------------------------------------------------------------- client side

interface Server {
  child: ChildProcess
  port: number
  dir: string
  next: (cmd: string) => Promise<any>
}

async function startServer (): Promise<Server> {
  const dir = mkdtempSync(join(tmpdir(), 'aigis-logbench-'))
  const devNull = openSync('/dev/null', 'w')
  const child = fork(fileURLToPath(import.meta.url), ['--server', dir], {
    execArgv: ['--import', 'jiti/register'],
    stdio: ['ignore', devNull, 'inherit', 'ipc']
  })
  const waiting = new Map<string, (message: any) => void>()
  child.on('message', (message: any) => waiting.get(message.cmd)?.(message))
  const next = async (cmd: string): Promise<any> => await new Promise((resolve) => waiting.set(cmd, resolve))
  const ready = await next('ready')
  return { child, port: ready.port, dir, next }
}

async function stopServer (server: Server): Promise<number> {
  const closed = server.next('closed')
  server.child.send({ cmd: 'close' })
  const { maxRss } = await closed
  const exited = once(server.child, 'exit')
  server.child.disconnect()
  await exited
  return maxRss
}

async function flood (server: Server, mode: string, count: number): Promise<{ ms: number, cpuMs: number, rss: number }> {
  const done = server.next('flooded')
  server.child.send({ cmd: 'flood', mode, count })
  return await done
}

/** Reads the event stream and checks every flood line arrives once, in order. */
class SseReader {
  count = 0
  lastIndex = 0
  outOfOrder = 0
  gaps = 0
  first = 0
  last = 0
  latencies: number[] | undefined
  #carry = ''
  #waiters: Array<{ count: number, resolve: () => void }> = []

  constructor (latencies = false) {
    if (latencies) this.latencies = []
  }

  onChunk (chunk: Buffer): void {
    const now = performance.now()
    const text = this.#carry + chunk.toString('latin1')
    let pos = 0
    const before = this.count
    for (let end = text.indexOf('\n\n'); end >= 0; end = text.indexOf('\n\n', pos)) {
      if (text.startsWith('id: ', pos)) {
        const type = text.indexOf('\nevent: ', pos) + 8
        if (text.startsWith('log', type)) this.#onLog(text, type)
        else if (text.startsWith('gap', type)) this.gaps++
      }
      pos = end + 2
    }
    this.#carry = text.slice(pos)
    if (this.count > before) {
      if (before === 0) this.first = now
      this.last = now
      this.#waiters = this.#waiters.filter((w) => this.count >= w.count ? (w.resolve(), false) : true)
    }
  }

  #onLog (text: string, from: number): void {
    let k = text.indexOf('"msg":"', from) + 7
    let index = 0
    for (let c = text.charCodeAt(k); c >= 48 && c <= 57; c = text.charCodeAt(++k)) index = index * 10 + c - 48
    if (index !== this.lastIndex + 1) this.outOfOrder++
    this.lastIndex = index
    this.count++
    if (this.latencies !== undefined) {
      const stamp = Number(text.slice(k + 3, text.indexOf(' ', k + 3)))
      this.latencies.push(performance.timeOrigin + performance.now() - stamp)
    }
  }

  async reach (count: number): Promise<void> {
    if (this.count >= count) return
    await new Promise<void>((resolve) => this.#waiters.push({ count, resolve }))
  }
}

async function openStream (port: number, reader: SseReader): Promise<() => void> {
  return await new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/logs?plugin=flood', agent: false }, (res) => {
      if (res.statusCode !== 200) reject(new Error(`GET /logs answered ${res.statusCode}`))
      res.on('data', (chunk: Buffer) => reader.onChunk(chunk))
      resolve(() => req.destroy())
    })
    req.on('error', reject)
    req.end()
  })
}

/** The raw rate: the same child read by a bare readline loop. */
async function rawRate (mode: Mode): Promise<number> {
  const child = spawn(process.execPath, [PRINTER, String(COUNT), mode], { stdio: ['ignore', 'pipe', 'inherit'] })
  const lines = createInterface({ input: child.stdout!, crlfDelay: Infinity })
  let n = 0
  let first = 0
  lines.on('line', () => {
    if (n++ === 0) first = performance.now()
  })
  await once(lines, 'close')
  const last = performance.now()
  if (n !== COUNT) throw new Error(`readline saw ${n} lines of ${COUNT}`)
  return (n - 1) / ((last - first) / 1000)
}

async function sseRate (server: Server, mode: Mode): Promise<number> {
  const reader = new SseReader()
  const close = await openStream(server.port, reader)
  const cpu = process.cpuUsage()
  const { ms, cpuMs } = await flood(server, mode, COUNT)
  // The flood is read; every line should now be on its way. Waiting no longer than it took, plus a margin.
  await Promise.race([reader.reach(COUNT), new Promise((resolve) => setTimeout(resolve, ms + 10_000))])
  close()
  const used = process.cpuUsage(cpu)
  if (process.env.LOG_BENCH_VERBOSE !== undefined) console.log(`      (${mode}: server read the flood in ${ms.toFixed(0)} ms using ${cpuMs.toFixed(0)} ms CPU; the client used ${((used.user + used.system) / 1000).toFixed(0)} ms CPU)`)
  if (reader.outOfOrder > 0 || reader.gaps > 0 || reader.lastIndex !== COUNT) {
    throw new Error(`SSE client: ${reader.count} lines, ${reader.outOfOrder} out of order, ${reader.gaps} gaps, last line ${reader.lastIndex}`)
  }
  return (reader.count - 1) / ((reader.last - reader.first) / 1000)
}

async function countFileLines (dir: string): Promise<number> {
  const logs = join(dir, 'data', 'logs')
  let lines = 0
  for (const name of readdirSync(logs).filter((f) => f.startsWith('flood.log'))) {
    for await (const chunk of createReadStream(join(logs, name)) as AsyncIterable<Buffer>) {
      for (let i = chunk.indexOf(10); i >= 0; i = chunk.indexOf(10, i + 1)) lines++
    }
  }
  return lines
}

/** A client that sends its request, reads the headers, then stops reading. */
async function stalledClient (port: number): Promise<{ resume: () => Promise<string>, close: () => void }> {
  const socket = connect(port, '127.0.0.1')
  await once(socket, 'connect')
  socket.write('GET /logs HTTP/1.1\r\nHost: localhost\r\nAccept: text/event-stream\r\n\r\n')
  await once(socket, 'data')
  socket.pause()
  return {
    resume: async () => await new Promise((resolve) => {
      let text = ''
      socket.on('data', (chunk: Buffer) => {
        text += chunk.toString('latin1')
        const gap = text.indexOf('event: gap\ndata: ')
        if (gap >= 0 && text.indexOf('\n', gap + 17) > 0) resolve(text.slice(gap + 17, text.indexOf('\n', gap + 17)))
      })
      socket.on('close', () => resolve('(disconnected)'))
      socket.resume()
    }),
    close: () => socket.destroy()
  }
}

function percentile (values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]
}

const failures: string[] = []
function check (name: string, value: string, ok: boolean, target: string): void {
  console.log(`${ok ? 'PASS' : 'MISS'}  ${name}: ${value}  (target ${target})`)
  if (!ok) failures.push(name)
}
const rate = (n: number): string => `${(n / 1e6).toFixed(2)} M lines/s`

async function main (): Promise<void> {
  console.log(`${COUNT.toLocaleString('en')} lines a flood, best of ${RUNS} runs each; node ${process.version}`)

  const server = await startServer()
  for (const [mode, target] of [['single', 0.8], ['batch', 0.25]] as const) {
    let raw = 0
    let sse = 0
    for (let run = 0; run < RUNS; run++) {
      raw = Math.max(raw, await rawRate(mode))
      sse = Math.max(sse, await sseRate(server, mode))
    }
    console.log(`      ${mode}: raw pipe ${rate(raw)}, through aigis to an SSE client ${rate(sse)}`)
    check(`${mode === 'single' ? 'one line per write' : '64 KiB batches'}: SSE / raw`, (sse / raw).toFixed(2), sse / raw >= target, `>= ${target}`)
  }

  // Latency at a steady 10,000 lines/s for 5 s.
  const reader = new SseReader(true)
  const close = await openStream(server.port, reader)
  const steady = 50_000
  const { ms } = await flood(server, 'rate=10000', steady)
  await Promise.race([reader.reach(steady), new Promise((resolve) => setTimeout(resolve, ms + 10_000))])
  close()
  const lat = reader.latencies!
  console.log(`      latency write -> SSE at 10,000 lines/s (${lat.length} lines): p50 ${percentile(lat, 50).toFixed(2)} ms, p99 ${percentile(lat, 99).toFixed(2)} ms, max ${Math.max(...lat).toFixed(2)} ms`)
  check('p99 latency at 10,000 lines/s', `${percentile(lat, 99).toFixed(2)} ms`, reader.outOfOrder === 0 && reader.gaps === 0, 'measured, every line in order')

  const maxRss = await stopServer(server)
  const expected = RUNS * 2 * COUNT + steady
  const inFiles = await countFileLines(server.dir)
  check('lines in the plugin\'s log files', inFiles.toLocaleString('en'), inFiles === expected, `= ${expected.toLocaleString('en')}`)
  console.log(`      peak RSS of that server (no stalled client): ${(maxRss / MB).toFixed(0)} MB`)
  rmSync(server.dir, { recursive: true, force: true })

  // A stalled client during a batch flood (the fastest, so the worst case).
  const stalledServer = await startServer()
  const stalled = await stalledClient(stalledServer.port)
  const alone = await flood(stalledServer, 'batch', COUNT)
  const gap = await stalled.resume()
  stalled.close()
  const stalledRss = await stopServer(stalledServer)
  rmSync(stalledServer.dir, { recursive: true, force: true })
  console.log(`      flood with a stalled client took ${alone.ms.toFixed(0)} ms; the client, reading again, got gap ${gap}`)
  check('peak RSS with one stalled client during the flood', `${(stalledRss / MB).toFixed(0)} MB`, stalledRss <= 200 * MB, '<= 200 MB')

  if (failures.length > 0) {
    console.log(`missed: ${failures.join(', ')}`)
    process.exitCode = 1
  }
}

if (process.argv[2] === '--server') await serve(process.argv[3])
else await main()

// npm run bench -- logs
//
// The central log under a flood. A child prints 1,000,000 lines; the same
// child is read once by a bare readline loop (the raw pipe rate) and once as
// an external plugin of a real aigis server (supervisor -> readLines -> hub
// -> stdout + files + SSE) whose lines a client of GET /logs counts, in the
// same run, and the rates are compared:
//   - one line per write (console.log style): SSE rate >= 0.8x raw
//   - 64 KiB batches:                         SSE rate >= 0.25x raw
//   - both from line 200,000 on, once the child's queue flows (see LATE_FROM)
//   - p99 latency from a line's write to its SSE arrival at 10,000 lines/s
//   - every line of every flood reaches the client, once, in order
//   - the server's event loop delay (how long a skill call may wait)
//   - the server's peak RSS with one stalled client during a 1,000,000-line
//     flood: <= 200 MB
// The server is the compiled build (as `npm start` runs it), in its own
// process, its stdout to /dev/null and its files in a temp folder, large
// enough not to rotate during the bench (rotation is tested in the tests), so
// that the lines of every flood can be counted in them.
// Env: LOG_BENCH_LINES (1,000,000), LOG_BENCH_RUNS (5, best of: the child's own pause before its lines flow swings by ±0.3 s from flood to flood, for the raw reader and aigis alike),
// LOG_BENCH_PROFILE=<dir> (a CPU profile of each server, written on exit),
// LOG_BENCH_ONLY=single|batch|stalled (that part alone, to profile it),
// LOG_BENCH_MEMORY=1 (the server's memory peaks by kind; LOG_BENCH_GC=1 to
// collect garbage before each look).
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { createReadStream, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { connect } from 'node:net'
import { availableParallelism, tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { buildDist, cpuSeconds, distModule } from './lib.js'

const PRINTER = fileURLToPath(new URL('../test/fixtures/log-printer.mjs', import.meta.url))
const COUNT = Number(process.env.LOG_BENCH_LINES ?? 1_000_000)
const RUNS = Number(process.env.LOG_BENCH_RUNS ?? 5)
/**
 * A flood's later rate is taken from this line on. A Node child printing a
 * line a write queues everything left in memory once its pipe fills (its
 * loop never waits), and writes the queue in large batches when the loop is
 * done: for raw and aigis alike, nothing flows for 0.3-1 s early on. From
 * here on, the rate is the reader's.
 */
const LATE_FROM = Math.floor(COUNT / 5)
const MB = 1024 * 1024

type Mode = 'single' | 'batch'

/** The server the bench runs: the built app with stdout attached, closed (and flushed) on SIGTERM. */
const SERVER_SCRIPT = `
import { buildApp } from ${distModule('src/app.js')}
import { LogHub } from ${distModule('src/log/hub.js')}
import { logToStdout } from ${distModule('src/log/stdout.js')}
import { monitorEventLoopDelay } from 'node:perf_hooks'
const [config, dataDir] = process.argv.slice(2)
const hub = new LogHub()
const closeStdout = logToStdout(hub, false)
const app = await buildApp({ config, dataDir, hub, logFileSize: 1024 * 1024 * 1024 })
await app.listen({ host: '127.0.0.1', port: 0 })
// The port, to the bench, which then lets this process go its own way.
process.send({ port: app.server.address().port }, () => process.disconnect())
// LOG_BENCH_MEMORY=1: the peaks of each kind of memory, on stderr at exit.
const peak = {}
// How long the event loop was held up (a skill call waits that long), on stderr at exit.
const delay = monitorEventLoopDelay({ resolution: 1 })
delay.enable()
if (process.env.LOG_BENCH_MEMORY) setInterval(() => { if (process.env.LOG_BENCH_GC) globalThis.gc(); for (const [k, v] of Object.entries(process.memoryUsage())) peak[k] = Math.max(peak[k] ?? 0, v) }, 25).unref()
process.once('SIGTERM', async () => {
  await app.close()
  await closeStdout()
  process.stderr.write('      the server\\'s event loop delay (ms): p50 ' + (delay.percentile(50) / 1e6).toFixed(1) + ', p99 ' + (delay.percentile(99) / 1e6).toFixed(1) + ', max ' + (delay.max / 1e6).toFixed(1) + ' (max includes its start)\\n')
  if (process.env.LOG_BENCH_MEMORY) process.stderr.write('server memory peaks (MB): ' + Object.entries(peak).map(([k, v]) => k + ' ' + Math.round(v / 1048576)).join(', ') + '\\n')
  process.exit(0)
})
`

interface Server {
  child: ChildProcess
  url: string
  port: number
  dir: string
  floods: number
}

/** Servers still running and their folders (a flood leaves ~150 MB of log files there): ended and removed on exit, however the bench ends. */
const servers = new Set<ChildProcess>()
const folders = new Set<string>()
process.on('exit', () => {
  for (const child of servers) child.kill('SIGKILL')
  for (const dir of folders) rmSync(dir, { recursive: true, force: true })
})

async function startServer (): Promise<Server> {
  const dir = mkdtempSync(join(tmpdir(), 'aigis-logbench-'))
  folders.add(dir)
  const script = join(dir, 'server.mjs')
  writeFileSync(script, SERVER_SCRIPT)
  writeFileSync(join(dir, 'config.aigis'), '')
  const profile = process.env.LOG_BENCH_PROFILE !== undefined ? ['--cpu-prof', `--cpu-prof-dir=${process.env.LOG_BENCH_PROFILE}`] : []
  const child = spawn(process.execPath, [...profile, ...(process.env.LOG_BENCH_GC !== undefined ? ['--expose-gc'] : []), script, join(dir, 'config.aigis'), join(dir, 'data')], {
    stdio: ['ignore', openSync('/dev/null', 'w'), 'inherit', 'ipc']
  })
  servers.add(child)
  child.once('exit', () => servers.delete(child))
  const [message] = await Promise.race([once(child, 'message'), once(child, 'exit').then(() => { throw new Error('the server ended before it listened') })])
  const { port } = message as { port: number }
  return { child, url: `http://127.0.0.1:${port}`, port, dir, floods: 0 }
}

/** Stops the server (SIGTERM: its files are flushed); returns its peak RSS. */
async function stopServer (server: Server): Promise<number> {
  const peak = peakRss(server.child.pid!)
  const exited = once(server.child, 'exit')
  server.child.kill('SIGTERM')
  await exited
  return peak
}

/** VmHWM: the most memory the process has had resident. */
function peakRss (pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)![1]) * 1024
}

/** Adds an external plugin that runs the printer; returns its name. */
async function flood (server: Server, count: number, mode: string): Promise<string> {
  const name = `flood${++server.floods}`
  const folder = join(server.dir, 'plugins', name)
  mkdirSync(join(folder, 'AIGIS'), { recursive: true })
  writeFileSync(join(folder, 'AIGIS', 'AIGIS.config'), `PLUGIN_TYPE = "external"\nLAUNCH = ${JSON.stringify(['node', PRINTER, String(count), mode])}\n`)
  const res = await fetch(`${server.url}/plugins`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name, source: folder }) })
  if (res.status !== 201) throw new Error(`adding ${name}: ${res.status} ${await res.text()}`)
  return name
}

async function pluginState (server: Server, name: string): Promise<string> {
  return ((await (await fetch(`${server.url}/plugins/${name}`)).json()) as { state: string }).state
}

/**
 * Reads the event stream of one plugin's stdout; checks every line arrives
 * once, in order. It reads the bytes as they come, with no string made of
 * them and a memchr (`indexOf` of a byte) a line of the stream, so that it
 * costs less than the readline loop of the raw rate: on a 2-core machine the
 * client shares the cores with the server and the child, and a client slower
 * than the child falls out of the retained window and gets a gap.
 */
class SseReader {
  count = 0
  lastIndex = 0
  outOfOrder = 0
  gaps = 0
  first = 0
  last = 0
  /** When line LATE_FROM came. */
  lateFirst = 0
  latencies: number[] | undefined
  #carry: Buffer | undefined
  /** Bytes from the end of a msg's line number to the end of its record's JSON (0: not known yet; see #onLog). */
  #tail = 0

  constructor (latencies = false) {
    if (latencies) this.latencies = []
  }

  onChunk (chunk: Buffer): void {
    const now = performance.now()
    const before = this.count
    const carry = this.#carry
    if (carry === undefined) {
      this.#parse(chunk)
    } else {
      // Only the frame the last chunk left open is joined (and copied), not the whole chunk.
      let split = chunk.length
      if (carry[carry.length - 1] === 10 && chunk[0] === 10) {
        split = 1
      } else {
        const blank = chunk.indexOf(FRAME_END)
        if (blank >= 0) split = blank + 2
      }
      this.#carry = undefined
      this.#parse(Buffer.concat([carry, chunk.subarray(0, split)]))
      if (split < chunk.length) this.#parse(chunk.subarray(split))
    }
    if (this.count > before) {
      if (before < LATE_FROM && this.count >= LATE_FROM) this.lateFirst = now
      if (before === 0) this.first = now
      this.last = now
    }
  }

  /** Frames are lines ("id: N", "event: TYPE", "data: JSON", comments) ended by a blank one; a last one cut short is kept for the next chunk. */
  #parse (bytes: Buffer): void {
    let frame = 0
    let type = 0
    let data = 0
    const n = bytes.length
    for (let line = 0; line < n;) {
      // Where the line ends: the short lines of a log frame are stepped over in JavaScript, only a data line is searched.
      const c = bytes[line]
      let end: number
      if (c === 10) {
        end = line
      } else if (c === 105 /* id: */) {
        end = line + 4
        while (end < n && bytes[end] !== 10) end++
      } else if (c === 101 /* event: */ && bytes[line + 7] === 108 /* log */ && bytes[line + 10] === 10) {
        end = line + 10
      } else {
        end = bytes.indexOf(10, line)
        if (end < 0) end = n
      }
      if (end >= n) break
      if (end === line) {
        if (type === 108 /* log */) this.#onLog(bytes, data, end - 1)
        else if (type === 103 /* gap */) this.gaps++
        frame = end + 1
        type = 0
      } else if (c === 101 /* event: */) {
        type = bytes[line + 7]
      } else if (c === 100 /* data: */) {
        data = line + 6
      }
      line = end + 1
    }
    // Copied: the bytes may be a read buffer that is reused.
    this.#carry = frame < n ? Buffer.from(bytes.subarray(frame)) : undefined
  }

  /**
   * Checks the line number that starts the msg of the record in `bytes[from, to)`.
   * A flood's lines differ only in that number, so once the text after it is
   * known (from a record whose msg was looked for), the number is read back
   * from there, where the record ends: no search a line.
   */
  #onLog (bytes: Buffer, from: number, to: number): void {
    let k = -1
    const tail = this.#tail
    if (tail > 0) {
      // The digits end `tail` bytes before the JSON does, and a quote is before them.
      let d = to - tail
      while (d > from && bytes[d - 1] >= 48 && bytes[d - 1] <= 57) d--
      if (d < to - tail && bytes[d - 1] === 34) k = d
    }
    if (k < 0) k = msgStart(bytes, from, to)
    const start = k
    let index = 0
    for (let c = bytes[k]; c >= 48 && c <= 57; c = bytes[++k]) index = index * 10 + c - 48
    if (start >= 0 && tail === 0) this.#tail = to - k
    if (start < 0 || index !== this.lastIndex + 1) this.outOfOrder++
    this.lastIndex = index
    this.count++
    if (this.latencies !== undefined) {
      const stamp = Number(bytes.toString('latin1', k + 3, bytes.indexOf(32, k + 3)))
      this.latencies.push(performance.timeOrigin + performance.now() - stamp)
    }
  }
}

const FRAME_END = Buffer.from('\n\n')

/** Whether `bytes` holds `prefix` at `at`. */
function startsWith (bytes: Buffer, at: number, prefix: Buffer): boolean {
  if (at + prefix.length > bytes.length) return false
  for (let i = 0; i < prefix.length; i++) if (bytes[at + i] !== prefix[i]) return false
  return true
}
const MSG_FIELD = Buffer.from('"msg":"')

/**
 * Where the msg value of a record's JSON in `bytes[from, to)` starts, or -1.
 * A printed line's msg is its record's last field, so it is looked for from
 * the end: the last `:` is its field's when the msg has none.
 */
function msgStart (bytes: Buffer, from: number, to: number): number {
  const colon = bytes.lastIndexOf(58, to) - 5
  for (let k = colon >= from ? colon : to - MSG_FIELD.length; k >= from; k--) {
    if (startsWith(bytes, k, MSG_FIELD)) return k + MSG_FIELD.length
  }
  return -1
}

/**
 * The body of a chunked HTTP response as it comes, handed on without the
 * chunk framing (`<hex size>\r\n<data>\r\n`, a size of 0 ends it).
 */
class ChunkedBody {
  #left = 0
  #crlf = 0
  #size = 0
  #ended = false

  constructor (readonly onData: (piece: Buffer) => void) {}

  push (bytes: Buffer): void {
    let i = 0
    while (i < bytes.length && !this.#ended) {
      if (this.#left > 0) {
        const n = Math.min(this.#left, bytes.length - i)
        this.onData(bytes.subarray(i, i + n))
        this.#left -= n
        i += n
        if (this.#left === 0) this.#crlf = 2
      } else if (this.#crlf > 0) {
        this.#crlf--
        i++
      } else {
        const c = bytes[i++]
        if (c === 10) {
          this.#left = this.#size
          this.#ended = this.#size === 0
          this.#size = 0
        } else if (c !== 13) {
          this.#size = this.#size * 16 + Number.parseInt(String.fromCharCode(c), 16)
        }
      }
    }
  }
}

/**
 * GET /logs for one plugin's stdout on a bare socket that reads into one
 * buffer it reuses (net's `onread`), the HTTP framing taken off by hand: a
 * client that allocates nothing a read. Through node:http each 64 KiB read
 * was a new buffer, and in a process this small the external memory drove
 * a full garbage collection every 60-150 ms of a flood, on the two cores
 * the server and the child need.
 */
async function openStream (server: Server, plugin: string, reader: SseReader): Promise<() => void> {
  return await new Promise((resolve, reject) => {
    const body = new ChunkedBody((piece) => reader.onChunk(piece))
    let head = ''
    const socket = connect({
      host: '127.0.0.1',
      port: server.port,
      onread: {
        buffer: Buffer.allocUnsafe(64 * 1024),
        callback: (size: number, buffer: Uint8Array): boolean => {
          const bytes = Buffer.from(buffer.buffer, buffer.byteOffset, size)
          if (head.endsWith('\r\n\r\n')) {
            body.push(bytes)
            return true
          }
          let i = 0
          while (i < bytes.length && !head.endsWith('\r\n\r\n')) head += String.fromCharCode(bytes[i++])
          if (!head.endsWith('\r\n\r\n')) return true
          if (!head.startsWith('HTTP/1.1 200') || !/\r\ntransfer-encoding: chunked\r\n/i.test(head)) {
            reject(new Error(`GET /logs answered ${head.split('\r\n')[0]} (a chunked 200 was expected)`))
            socket.destroy()
            return false
          }
          resolve(() => socket.destroy())
          body.push(bytes.subarray(i))
          return true
        }
      }
    })
    socket.on('connect', () => socket.write(`GET /logs?plugin=${plugin}&stream=stdout HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n`))
    socket.on('error', reject)
    socket.on('close', () => reject(new Error('GET /logs: the connection closed before a response')))
  })
}

/** Waits until the reader has line `count` (the last), or nothing has come for 10 s. */
async function drained (reader: SseReader, count: number): Promise<void> {
  let seen = -1
  let still = 0
  while (reader.lastIndex < count && still < 100) {
    still = reader.count === seen ? still + 1 : 0
    seen = reader.count
    await sleep(100)
  }
}

/** The raw rate: the same child read by a bare readline loop (over all lines, and from LATE_FROM on). */
async function rawRate (mode: Mode): Promise<Rates> {
  const child = spawn(process.execPath, [PRINTER, String(COUNT), mode], { stdio: ['ignore', 'pipe', 'inherit'] })
  const lines = createInterface({ input: child.stdout!, crlfDelay: Infinity })
  let n = 0
  let first = 0
  let lateFirst = 0
  lines.on('line', () => {
    if (n++ === 0) first = performance.now()
    if (n === LATE_FROM) lateFirst = performance.now()
  })
  await once(lines, 'close')
  const last = performance.now()
  if (n !== COUNT) throw new Error(`readline saw ${n} lines of ${COUNT}`)
  return ratesOf(n, first, lateFirst, last)
}

/** Lines a second over a whole flood, and from line LATE_FROM on. */
interface Rates {
  rate: number
  late: number
}

/** The rates of `count` lines whose first came at `first`, line LATE_FROM at `lateFirst` and the last at `last` (ms). */
function ratesOf (count: number, first: number, lateFirst: number, last: number): Rates {
  return { rate: (count - 1) / ((last - first) / 1000), late: (count - LATE_FROM) / ((last - lateFirst) / 1000) }
}

interface FloodRun extends Rates {
  /** What the client missed (undefined when every line came, once, in order). */
  fault?: string
  /** CPU time a line (µs) of the server (all its threads) and of this client. */
  serverCpu: number
  clientCpu: number
}

/** Lines/s of a flood reaching an SSE client; checks they all came, in order. */
async function sseRate (server: Server, mode: Mode): Promise<FloodRun> {
  const reader = new SseReader()
  const plugin = `flood${server.floods + 1}`
  const close = await openStream(server, plugin, reader)
  const cpu = cpuSeconds(server.child.pid!) * 1000
  const clientCpu = process.cpuUsage()
  await flood(server, COUNT, mode)
  await drained(reader, COUNT)
  const used = cpuSeconds(server.child.pid!) * 1000 - cpu
  const { user, system } = process.cpuUsage(clientCpu)
  close()
  const whole = reader.outOfOrder === 0 && reader.gaps === 0 && reader.lastIndex === COUNT && reader.count === COUNT
  const fault = whole ? undefined : `${mode}: ${reader.count.toLocaleString('en')} lines, ${reader.gaps} gaps, ${reader.outOfOrder} out of order, last line ${reader.lastIndex}`
  return { ...ratesOf(reader.count, reader.first, reader.lateFirst, reader.last), fault, serverCpu: used * 1000 / COUNT, clientCpu: (user + system) / COUNT }
}

/** stdout lines of `plugin` in its log files (current and rotated). */
async function countFileLines (server: Server, plugin: string): Promise<number> {
  const logs = join(server.dir, 'data', 'logs')
  let lines = 0
  for (const name of readdirSync(logs).filter((f) => f === `${plugin}.log` || f.startsWith(`${plugin}.log.`))) {
    const input = createInterface({ input: createReadStream(join(logs, name)), crlfDelay: Infinity })
    for await (const line of input) if (line.includes('"stream":"stdout"')) lines++
  }
  return lines
}

/** A client that sends its request, reads the response head, then stops reading. */
async function stalledClient (server: Server): Promise<{ resume: () => Promise<string>, close: () => void }> {
  const socket = connect(server.port, '127.0.0.1')
  await once(socket, 'connect')
  socket.write('GET /logs HTTP/1.1\r\nHost: localhost\r\nAccept: text/event-stream\r\n\r\n')
  await once(socket, 'data')
  socket.pause()
  return {
    resume: async () => await new Promise((resolve) => {
      let text = ''
      const timer = setTimeout(() => resolve('(nothing within 10 s)'), 10_000)
      socket.on('data', (chunk: Buffer) => {
        text += chunk.toString('latin1')
        const gap = text.indexOf('event: gap\ndata: ')
        if (gap >= 0 && text.indexOf('\n', gap + 17) > 0) {
          clearTimeout(timer)
          resolve(text.slice(gap + 17, text.indexOf('\n', gap + 17)))
        }
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
const rate = (n: number): string => `${(n / 1e6).toFixed(3)} M lines/s`
/**
 * The rate from line LATE_FROM on at which `sse` would have reached `target`
 * times the raw run's whole-flood rate, given the time it took to get to
 * that line (the child's own pause is most of it); Infinity when that time
 * alone was too long.
 */
function lateRateNeeded (raw: Rates, sse: Rates, target: number): number {
  const rawSeconds = (COUNT - 1) / raw.rate
  const sseEarly = (COUNT - 1) / sse.rate - (COUNT - LATE_FROM) / sse.late
  const left = rawSeconds / target - sseEarly
  return left > 0 ? (COUNT - LATE_FROM) / left : Infinity
}

/** Keeps the best of each rate in `into`. */
function best (into: Rates, run: Rates): void {
  into.rate = Math.max(into.rate, run.rate)
  into.late = Math.max(into.late, run.late)
}

async function main (): Promise<void> {
  console.log(`${COUNT.toLocaleString('en')} lines a flood, best of ${RUNS} runs each; node ${process.version}`)
  const only = process.env.LOG_BENCH_ONLY
  if (only === 'stalled') return await stalledPhase()
  const server = await startServer()
  const floods: string[] = []
  if (only !== undefined) {
    const run = await sseRate(server, only as Mode)
    console.log(`      ${only} alone: ${rate(run.rate)}, from line ${LATE_FROM.toLocaleString('en')} on ${rate(run.late)}${run.fault !== undefined ? `; missed lines: ${run.fault}` : ''}`)
    await stopServer(server)
    return
  }
  const faults: string[] = []
  for (const [mode, target] of [['single', 0.8], ['batch', 0.25]] as const) {
    const raw: Rates = { rate: 0, late: 0 }
    const sse: Rates = { rate: 0, late: 0 }
    let needed = Infinity
    let cpu = { server: 0, client: 0 }
    for (let run = 0; run < RUNS; run++) {
      const rawRun = await rawRate(mode)
      best(raw, rawRun)
      floods.push(`flood${server.floods + 1}`)
      const run = await sseRate(server, mode)
      best(sse, run)
      needed = Math.min(needed, lateRateNeeded(rawRun, run, target))
      cpu = { server: cpu.server + run.serverCpu / RUNS, client: cpu.client + run.clientCpu / RUNS }
      if (run.fault !== undefined) faults.push(run.fault)
    }
    console.log(`      ${mode}: raw pipe ${rate(raw.rate)}, through aigis to an SSE client ${rate(sse.rate)}`)
    console.log(`      ${mode}, from line ${LATE_FROM.toLocaleString('en')} on: raw pipe ${rate(raw.late)}, through aigis ${rate(sse.late)} (${(sse.late / raw.late).toFixed(2)}); ${target}x the raw rate needed aigis to take those lines at ${Number.isFinite(needed) ? rate(needed) : 'more than any rate (it took longer than that to reach them)'}`)
    // Every line costs the server and the client CPU on the same cores (the child's own is not counted): a ceiling on the rate however the work is spread.
    console.log(`      ${mode}: CPU a line: the server ${cpu.server.toFixed(2)} µs (all its threads), this client ${cpu.client.toFixed(2)} µs; on ${availableParallelism()} cores that allows at most ${rate(availableParallelism() / (cpu.server + cpu.client) * 1e6)}`)
    check(`${mode === 'single' ? 'one line per write' : '64 KiB batches'}: SSE / raw`, (sse.rate / raw.rate).toFixed(2), sse.rate / raw.rate >= target, `>= ${target}`)
  }
  check('every line of every flood reached the SSE client', faults.length === 0 ? 'all, in order' : faults.join('; '), faults.length === 0, 'all, in order')

  // Latency at a steady 10,000 lines/s for 5 s.
  const steady = 50_000
  const reader = new SseReader(true)
  const close = await openStream(server, `flood${server.floods + 1}`, reader)
  floods.push(await flood(server, steady, 'rate=10000'))
  await drained(reader, steady)
  close()
  const lat = reader.latencies!
  console.log(`      latency write -> SSE at 10,000 lines/s (${lat.length.toLocaleString('en')} lines): p50 ${percentile(lat, 50).toFixed(2)} ms, p99 ${percentile(lat, 99).toFixed(2)} ms, max ${Math.max(...lat).toFixed(2)} ms`)
  check('p99 latency at 10,000 lines/s', `${percentile(lat, 99).toFixed(2)} ms`, reader.outOfOrder === 0 && reader.gaps === 0 && reader.count === steady, 'measured; every line, in order')

  for (const name of floods) while (await pluginState(server, name) === 'running') await sleep(50)
  const maxRss = await stopServer(server)
  let inFiles = 0
  for (const name of floods) inFiles += await countFileLines(server, name)
  const expected = RUNS * 2 * COUNT + steady
  check('lines in the plugins\' log files', inFiles.toLocaleString('en'), inFiles === expected, `= ${expected.toLocaleString('en')}`)
  console.log(`      peak RSS of that server (no stalled client): ${(maxRss / MB).toFixed(0)} MB`)
  await stalledPhase()

  if (failures.length > 0) {
    console.log(`missed: ${failures.join(', ')}`)
    process.exitCode = 1
  }
}

/** A stalled client during a batch flood (the fastest, so the worst case). */
async function stalledPhase (): Promise<void> {
  const stalledServer = await startServer()
  const idle = peakRss(stalledServer.child.pid!)
  const stalled = await stalledClient(stalledServer)
  const name = await flood(stalledServer, COUNT, 'batch')
  while (await pluginState(stalledServer, name) === 'running') await sleep(50)
  const gap = await stalled.resume()
  stalled.close()
  const stalledRss = await stopServer(stalledServer)
  console.log(`      the stalled client, reading again, got gap ${gap}; the server's RSS before the flood: ${(idle / MB).toFixed(0)} MB`)
  check('peak RSS with one stalled client during the flood', `${(stalledRss / MB).toFixed(0)} MB`, stalledRss <= 200 * MB, '<= 200 MB')
}

buildDist()
await main()

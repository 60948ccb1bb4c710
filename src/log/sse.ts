import type { LogFilter, LogHub } from './hub.js'

// Server-sent events out of the hub's ring. No client has a queue of its own:
// each keeps a cursor (the next seq it should get) and a pump writes views of
// the matching retained frames to its socket, a batch a write, until the
// socket holds HIGH_WATER bytes unsent; it goes on at `drain`. Memory is the
// ring plus at most HIGH_WATER and the kernel's buffer per client, however
// slow the client. A client that falls more than `maxLag` records further
// behind than it has been (a replay starts it behind on purpose) gets
// `event: gap` and jumps to the live end; one whose socket stays full for
// `stallTimeoutMs` is disconnected. The pump runs when the hub hands records
// over (see LogHub#onRecords) and when a socket drains.

/** What a client is written through: an http.ServerResponse, or any Writable. */
export interface SseSink {
  /** Bytes written but not yet taken by the kernel. */
  readonly writableLength: number
  write: (chunk: string | Buffer, done?: () => void) => boolean
  cork?: () => void
  uncork?: () => void
  end: () => unknown
  destroy: () => unknown
  on: (event: 'drain' | 'close' | 'error', listener: (...args: any[]) => void) => unknown
}

export interface LogStreamsOptions {
  /** Milliseconds between heartbeat comments. */
  heartbeatMs?: number
  /** Records a client may fall behind before it is skipped forward (default three quarters of the ring). */
  maxLag?: number
  /** Milliseconds a client's socket may stay full before it is disconnected. */
  stallTimeoutMs?: number
  /** Milliseconds an EventSource waits before reconnecting (the `retry:` field). */
  retryMs?: number
}

export interface StreamRequest {
  filter: LogFilter
  /** Replay every retained record after this seq (Last-Event-ID). */
  after?: number
  /** Replay the last `lines` matching records first. */
  lines?: number
}

/** Bytes of events gathered into one write. */
const BATCH_BYTES = 64 * 1024
/** Records looked at per batch, so a filter that matches little cannot hog the loop. */
const BATCH_SCAN = 16_384
/**
 * Batches per client per turn of the event loop, so clients share it fairly
 * (4 MiB: a turn of a flood brings in a few MiB, which a client that keeps
 * up must be able to take in the same turn, or it falls behind for good).
 */
const BATCHES_PER_TURN = 64
/** Bytes a client's socket may hold unsent before the pump waits for `drain`. */
const HIGH_WATER = 256 * 1024
/** After `end()` on shutdown, how long a client may take before it is cut. */
const END_GRACE_MS = 2000

class Client {
  /** The seq of the next record this client should see. */
  cursor: number
  /** Records it may have pending before it is skipped forward. */
  allowance: number
  /** When its socket filled up; 0 while it takes writes. */
  fullSince = 0
  closed = false

  /** Writes a view of the ring (see LogStreams#write), calling `done` once it is written. */
  write: (view: Buffer, done: () => void) => void = () => {}
  /** The `done` of every view not yet written. */
  pending = new Set<() => void>()

  /**
   * @param matches whether a retained record is for it (see LogHub#matcher); undefined: every record is
   */
  constructor (readonly sink: SseSink, readonly matches: ((seq: number) => boolean) | undefined, cursor: number, allowance: number) {
    this.cursor = cursor
    this.allowance = allowance
  }
}

export class LogStreams {
  readonly #hub: LogHub
  readonly #heartbeatMs: number
  readonly #maxLag: number
  readonly #stallTimeoutMs: number
  readonly #retryMs: number
  #clients = new Set<Client>()
  #timer: NodeJS.Timeout | undefined
  #stopReading = (): void => {}
  #scheduled = false
  #closed = false

  constructor (hub: LogHub, options: LogStreamsOptions = {}) {
    this.#hub = hub
    this.#heartbeatMs = options.heartbeatMs ?? 15_000
    this.#maxLag = Math.max(1, Math.min(options.maxLag ?? Math.floor(hub.capacity * 3 / 4), hub.capacity))
    this.#stallTimeoutMs = options.stallTimeoutMs ?? 60_000
    this.#retryMs = options.retryMs ?? 2000
  }

  /** How many clients are connected. */
  get clients (): number {
    return this.#clients.size
  }

  /**
   * Streams the log to `sink` (whose headers are already sent) until it
   * closes or `closeAll` is called.
   */
  open (sink: SseSink, request: StreamRequest): void {
    if (this.#closed) {
      sink.end()
      return
    }
    const cursor = this.#startOf(request)
    // A replay may start it further behind than maxLag; it is not skipped for that.
    const client = new Client(sink, this.#hub.matcher(request.filter), cursor, Math.max(this.#maxLag, this.#hub.lastSeq - cursor + 1))
    client.write = (view, done) => {
      // Once, and at the latest when the socket closes: one that is cut may not call back.
      let called = false
      const once = (): void => {
        if (called) return
        called = true
        client.pending.delete(once)
        done()
      }
      client.pending.add(once)
      this.#write(client, view, once)
    }
    sink.on('drain', () => {
      client.fullSince = 0
      this.#schedule()
    })
    sink.on('close', () => {
      this.#remove(client)
      // The socket is gone: nothing reads the views it held any more.
      for (const done of [...client.pending]) done()
    })
    sink.on('error', () => this.#remove(client))
    this.#clients.add(client)
    if (this.#clients.size === 1) {
      this.#stopReading = this.#hub.onRecords(this.#pumpAll)
      this.#timer = setInterval(this.#tick, this.#heartbeatMs).unref()
    }
    // Sent at once, so the client sees the stream open before any record matches.
    this.#write(client, `: aigis log\nretry: ${this.#retryMs}\n\n`)
    this.#schedule()
  }

  /** Ends every stream (on server close); later `open` calls end at once. */
  closeAll (): void {
    this.#closed = true
    for (const client of [...this.#clients]) {
      this.#pump(client, 1)
      this.#remove(client)
      if (client.fullSince !== 0) {
        client.sink.destroy()
      } else {
        client.sink.end()
        setTimeout(() => client.sink.destroy(), END_GRACE_MS).unref()
      }
    }
  }

  #startOf ({ after, lines, filter }: StreamRequest): number {
    const hub = this.#hub
    if (after !== undefined) {
      // An id from before a restart of the server: everything retained is new to it.
      return after > hub.lastSeq ? hub.firstSeq : after + 1
    }
    if (lines !== undefined && lines > 0) {
      const tail = hub.tailSeqs(lines, filter)
      return tail.length > 0 ? tail[0] : hub.lastSeq + 1
    }
    return hub.lastSeq + 1
  }

  #remove (client: Client): void {
    if (client.closed) return
    client.closed = true
    this.#clients.delete(client)
    if (this.#clients.size === 0) {
      this.#stopReading()
      clearInterval(this.#timer)
      this.#timer = undefined
    }
  }

  #schedule (): void {
    if (this.#scheduled) return
    this.#scheduled = true
    setImmediate(this.#pumpAll)
  }

  #pumpAll = (): void => {
    this.#scheduled = false
    let more = false
    for (const client of this.#clients) {
      if (this.#pump(client, BATCHES_PER_TURN)) more = true
    }
    if (more) this.#schedule()
  }

  /** Writes up to `batches` batches; true when the client could take more now. */
  #pump (client: Client, batches: number): boolean {
    const hub = this.#hub
    for (let n = 0; n < batches; n++) {
      if (client.closed || client.fullSince !== 0) return false
      const last = hub.lastSeq
      if (client.cursor > last) return false
      if (client.cursor < hub.firstSeq || last - client.cursor + 1 > client.allowance) {
        this.#skip(client, last)
        continue
      }
      let seq = client.cursor
      const end = Math.min(last, seq + BATCH_SCAN - 1)
      // Ranges of seqs to send: runs of consecutive matching records are contiguous in the ring, one view a run.
      const runs: number[] = []
      let bytes = 0
      const matches = client.matches
      if (matches === undefined) {
        const from = seq
        while (seq <= end && bytes < BATCH_BYTES) bytes += hub.frameLength(seq++)
        runs.push(from, seq - 1)
      } else {
        let runStart = -1
        for (; seq <= end && bytes < BATCH_BYTES; seq++) {
          if (matches(seq)) {
            if (runStart < 0) runStart = seq
            bytes += hub.frameLength(seq)
          } else if (runStart >= 0) {
            runs.push(runStart, seq - 1)
            runStart = -1
          }
        }
        if (runStart >= 0) runs.push(runStart, seq - 1)
      }
      client.cursor = seq
      // It may fall maxLag behind the best it has done; a replay's head start shrinks as it catches up.
      client.allowance = Math.max(this.#maxLag, Math.min(client.allowance, last - seq + 1 + this.#maxLag))
      if (runs.length > 2) client.sink.cork?.()
      for (let i = 0; i < runs.length; i += 2) hub.writeFramesAt(runs[i], runs[i + 1], client.write)
      if (runs.length > 2) client.sink.uncork?.()
    }
    return !client.closed && client.fullSince === 0 && client.cursor <= hub.lastSeq
  }

  /**
   * Moves a client on past records it cannot get and tells it with
   * `event: gap`. Records already gone from the ring are reported as `lost`
   * and it goes on with the oldest retained one when the rest is within its
   * allowance; otherwise it jumps to the live end. The event's id is the last
   * skipped seq, so a reconnect does not bring skipped records back as
   * duplicates; the skipped retained ones can be replayed with
   * `GET /logs?after=<from - 1>` while they are retained.
   */
  #skip (client: Client, last: number): void {
    const hub = this.#hub
    const from = client.cursor
    const first = hub.firstSeq
    const lost = Math.max(0, first - from)
    const to = lost > 0 && last - first + 1 <= client.allowance ? first - 1 : last
    let missed = to - from + 1
    const matches = client.matches
    if (matches !== undefined) {
      missed = lost
      for (let seq = Math.max(from, first); seq <= to; seq++) {
        if (matches(seq)) missed++
      }
    }
    client.cursor = to + 1
    if (to === last) client.allowance = this.#maxLag
    if (missed > 0) this.#write(client, `id: ${to}\nevent: gap\ndata: {"missed":${missed},"from":${from},"to":${to},"lost":${lost}}\n\n`)
  }

  /**
   * Writes, and marks the client full once its socket holds more than
   * HIGH_WATER unsent (a `write` that returns false alone is no reason to
   * stop: the kernel usually takes the data at once).
   */
  #write (client: Client, text: string | Buffer, done?: () => void): void {
    if (!client.sink.write(text, done) && client.sink.writableLength > HIGH_WATER && client.fullSince === 0) client.fullSince = Date.now()
  }

  #tick = (): void => {
    const now = Date.now()
    for (const client of [...this.#clients]) {
      if (client.fullSince === 0) {
        this.#write(client, ': heartbeat\n\n')
      } else if (now - client.fullSince >= this.#stallTimeoutMs) {
        // It has not read anything for this long: free its socket.
        this.#remove(client)
        client.sink.destroy()
      }
    }
  }
}

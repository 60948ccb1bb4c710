// The hub's memory of recent records: each record is kept once, encoded, as
// the SSE frame clients are sent (`id: <seq>\nevent: log\ndata: <json>\n\n`),
// in large byte chunks, with what filters need (plugin, stream, level) in
// typed arrays beside it.
//
// Why bytes: a ring of 100,000 small objects or strings outlives the young
// generation, so under a flood every record was copied, promoted and marked
// by the garbage collector, and every destination encoded it again; that
// cost more than all the rest of the work. Here the collector sees a few
// large buffers, a record is encoded once, and every destination copies or
// slices bytes: consecutive frames are contiguous, so a client that takes
// everything is written whole slices, and the JSON line of a record (for
// stdout and the files) is the frame's `data` line.
//
// Written bytes are not written again while anything may read them: a chunk
// only grows, and once its last record is evicted it is reused for new
// frames only when no socket still holds a view of it (views handed out by
// `writeFrames` pin their chunk until written); else it is left to the
// garbage collector. Reusing chunks matters: they live long enough to be
// promoted, and dead promoted buffers pile up until a full collection.

import type { Framed } from './framer.js'

export interface RingOptions {
  /** Most records retained. */
  capacity: number
  /** Most bytes of frames retained; older records go first. */
  maxBytes: number
  /** Told of each record about to be evicted (its JSON can still be read). */
  onEvict?: (seq: number, plugin: number) => void
}

/** Node's own encoders, which Buffer#write calls after checking its arguments (not in @types/node). */
interface RawBuffer extends Buffer {
  utf8Write: (text: string, offset: number, length: number) => number
}

/** Bytes of a chunk; a frame longer than that gets a chunk of its own size. */
const CHUNK_BYTES = 256 * 1024
/**
 * Bytes of a LineBuffer chunk. The writers join the views of consecutive
 * hand-overs without a copy only when they are in one chunk: at 256 KiB a
 * flood's hand-overs (~200 KB each) crossed a chunk nearly every time and
 * Buffer.concat copied 229 MB of a 1,000,000-line flood's 300 MB again
 * (stdout and the file); at 1 MiB, 6 MB.
 */
const LINE_CHUNK_BYTES = 1024 * 1024
/** Evicted chunks kept for reuse at most. */
const FREE_CHUNKS = 16

export class FrameRing {
  readonly capacity: number
  readonly maxBytes: number
  readonly #onEvict: ((seq: number, plugin: number) => void) | undefined
  #first = 1
  #last = 0
  #bytes = 0
  #chunkOf: Uint32Array
  #start: Uint32Array
  #length: Uint32Array
  #dataAt: Uint8Array
  readonly pluginOf: Uint32Array
  readonly streamOf: Uint8Array
  readonly levelOf: Uint8Array
  #chunks: Array<Buffer | undefined>
  #chunkId = 0
  #chunk: Buffer
  #used = 0
  /** Views handed to sockets and not yet written, by chunk id. */
  #pins = new Map<number, number>()
  /** Evicted chunks still pinned, by id: reused once unpinned. */
  #retired = new Map<number, Buffer>()
  /** Chunks free for reuse. */
  #free: Buffer[] = []

  constructor (options: RingOptions) {
    this.capacity = Math.max(1, Math.floor(options.capacity))
    this.maxBytes = Math.max(1, Math.floor(options.maxBytes))
    this.#onEvict = options.onEvict
    const n = this.capacity
    this.#chunkOf = new Uint32Array(n)
    this.#start = new Uint32Array(n)
    this.#length = new Uint32Array(n)
    this.#dataAt = new Uint8Array(n)
    this.pluginOf = new Uint32Array(n)
    this.streamOf = new Uint8Array(n)
    this.levelOf = new Uint8Array(n)
    this.#chunks = new Array(n).fill(undefined)
    this.#chunk = Buffer.allocUnsafe(Math.min(CHUNK_BYTES, this.maxBytes))
    this.#chunks[0] = this.#chunk
  }

  /** The oldest retained seq (lastSeq + 1 when none is). */
  get firstSeq (): number {
    return this.#first
  }

  /**
   * Appends record `seq` (always lastSeq + 1) as its SSE `frame`, whose JSON
   * starts at character `dataAt` (the prefix before it is ASCII). Returns the
   * frame's length in bytes.
   */
  append (seq: number, frame: string, dataAt: number, plugin: number, stream: number, level: number): number {
    const bytes = Buffer.byteLength(frame)
    const start = this.makeRoom(bytes)
    const length = (this.#chunk as RawBuffer).utf8Write(frame, start, bytes)
    return this.#commit(seq, start, length, dataAt, plugin, stream, level)
  }

  /**
   * Appends records `seq` to `seq + framed.count - 1` (seq is always
   * lastSeq + 1) from the framer's frames, which must fit in the current
   * chunk (see room). Returns their bytes.
   */
  appendFrames (seq: number, framed: Framed, plugin: number, stream: number, level: number): number {
    let start = this.#used
    this.#chunk.set(framed.frames, start)
    const { lengths, dataAts } = framed
    for (let i = 0; i < framed.count; i++) {
      const length = lengths[i]
      this.#commit(seq + i, start, length, dataAts[i], plugin, stream, level)
      start += length
    }
    return framed.frames.length
  }

  /** Bytes the current chunk has left for frames. */
  room (): number {
    return this.#chunk.length - this.#used
  }

  /** Where the next frame of at most `bytes` goes: a new chunk when the current one has no room. */
  makeRoom (bytes: number): number {
    if (bytes > this.#chunk.length - this.#used) {
      this.#chunkId = (this.#chunkId + 1) >>> 0
      this.#chunk = bytes <= CHUNK_BYTES && this.#free.length > 0 ? this.#free.pop()! : Buffer.allocUnsafe(Math.max(CHUNK_BYTES, bytes))
      this.#used = 0
    }
    return this.#used
  }

  #commit (seq: number, start: number, length: number, dataAt: number, plugin: number, stream: number, level: number): number {
    while (this.#first <= this.#last && (seq - this.#first >= this.capacity || this.#bytes + length > this.maxBytes)) this.#evict()
    const slot = seq % this.capacity
    this.#chunks[this.#chunkId % this.capacity] = this.#chunk
    this.#chunkOf[slot] = this.#chunkId
    this.#start[slot] = start
    this.#length[slot] = length
    this.#dataAt[slot] = dataAt
    this.pluginOf[slot] = plugin
    this.streamOf[slot] = stream
    this.levelOf[slot] = level
    this.#used = start + length
    this.#bytes += length
    this.#last = seq
    return length
  }

  #evict (): void {
    const slot = this.#first % this.capacity
    this.#onEvict?.(this.#first, this.pluginOf[slot])
    const chunk = this.#chunkOf[slot]
    this.#bytes -= this.#length[slot]
    this.#first++
    // The last record of an older chunk gone: reuse the chunk, or keep it until the views of it are written.
    if (chunk !== this.#chunkId && (this.#first > this.#last || this.#chunkOf[this.#first % this.capacity] !== chunk)) {
      const buffer = this.#chunks[chunk % this.capacity]!
      this.#chunks[chunk % this.capacity] = undefined
      if (this.#pins.has(chunk)) this.#retired.set(chunk, buffer)
      else this.#recycle(buffer)
    }
  }

  #recycle (buffer: Buffer): void {
    if (buffer.length === CHUNK_BYTES && this.#free.length < FREE_CHUNKS) this.#free.push(buffer)
  }

  /**
   * Hands `write` views of the frames of retained records `from` to `to`
   * (one per chunk they span), each with a `done` to call once it is
   * written: until then its chunk is not reused.
   */
  writeFrames (from: number, to: number, write: (view: Buffer, done: () => void) => void): void {
    const chunks: number[] = []
    const views = this.frames(from, to, (chunk) => chunks.push(chunk))
    for (let i = 0; i < views.length; i++) {
      const chunk = chunks[i]
      this.#pins.set(chunk, (this.#pins.get(chunk) ?? 0) + 1)
      write(views[i], () => this.#unpin(chunk))
    }
  }

  #unpin (chunk: number): void {
    const pins = this.#pins.get(chunk)! - 1
    if (pins > 0) {
      this.#pins.set(chunk, pins)
      return
    }
    this.#pins.delete(chunk)
    const retired = this.#retired.get(chunk)
    if (retired !== undefined) {
      this.#retired.delete(chunk)
      this.#recycle(retired)
    }
  }

  #bufferOf (slot: number): Buffer {
    return this.#chunks[this.#chunkOf[slot] % this.capacity]!
  }

  /** The JSON of retained record `seq`. */
  json (seq: number): string {
    const slot = seq % this.capacity
    const start = this.#start[slot]
    return this.#bufferOf(slot).toString('utf8', start + this.#dataAt[slot], start + this.#length[slot] - 2)
  }

  /** Bytes of the frame of retained record `seq`. */
  frameLength (seq: number): number {
    return this.#length[seq % this.capacity]
  }

  /**
   * Copies the JSON lines (JSON and newline) of retained records `from` to
   * `to` into `target` at `at`; returns the end. `target` needs room for
   * their frames: the frames are copied whole, one call a chunk they span,
   * and each JSON line is then moved down over the frame text before it
   * with copyWithin (Buffer#copy of part of a buffer makes a view of it).
   */
  copyLines (from: number, to: number, target: Buffer, at: number): number {
    this.#spans(from, to, (first, last, frames) => {
      target.set(frames, at)
      const offset = at - this.#start[first % this.capacity]
      for (let seq = first; seq <= last; seq++) {
        const slot = seq % this.capacity
        const line = offset + this.#start[slot] + this.#dataAt[slot]
        const end = offset + this.#start[slot] + this.#length[slot] - 1
        target.copyWithin(at, line, end)
        at += end - line
      }
    })
    return at
  }

  /** Views (no copy) of the frames of retained records `from` to `to`, one per chunk they span (each chunk id given to `each`). */
  frames (from: number, to: number, each?: (chunk: number) => void): Buffer[] {
    const views: Buffer[] = []
    this.#spans(from, to, (_first, _last, frames, chunk) => {
      views.push(frames)
      each?.(chunk)
    })
    return views
  }

  /** Calls `each` for every run of records `from` to `to` in one chunk, with a view of their frames (contiguous there). */
  #spans (from: number, to: number, each: (first: number, last: number, frames: Buffer, chunk: number) => void): void {
    let seq = from
    while (seq <= to) {
      const slot = seq % this.capacity
      const chunk = this.#chunkOf[slot]
      let end = seq
      while (end < to && this.#chunkOf[(end + 1) % this.capacity] === chunk) end++
      const endSlot = end % this.capacity
      each(seq, end, this.#bufferOf(slot).subarray(this.#start[slot], this.#start[endSlot] + this.#length[endSlot]), chunk)
      seq = end + 1
    }
  }

}

/** The JSON lines of a turn, in order and as runs of one plugin. */
export interface LineBatch {
  /** Views of every line, in order (usually one). */
  views: Buffer[]
  /** Views of consecutive lines of one plugin, in order. */
  runs: Array<{ plugin: number, view: Buffer }>
}

/**
 * The JSON lines (`<json>\n`) of the records of the current turn, written
 * once for stdout and the files, which then write views of it: the lines
 * of a turn are contiguous, and so are those of each run of one plugin.
 */
export class LineBuffer {
  #chunk = Buffer.allocUnsafe(LINE_CHUNK_BYTES)
  #used = 0
  #start = 0
  #views: Buffer[] = []
  #runs: Array<{ plugin: number, view: Buffer }> = []
  #runPlugin = -1
  #runStart = 0

  /**
   * Appends the JSON lines of retained records `from` to `to` of `ring` (one
   * plugin's, whose frames are `frameBytes` long), copied from their frames.
   */
  appendFrom (ring: FrameRing, from: number, to: number, plugin: number, frameBytes: number): void {
    // Room for the frames: copyLines copies them whole, then keeps only the lines.
    this.reserve(frameBytes, plugin)
    this.#used = ring.copyLines(from, to, this.#chunk, this.#used)
  }

  /** Appends JSON lines (`<json>\n`, one plugin's) as they are. */
  append (lines: Buffer, plugin: number): void {
    this.reserve(lines.length, plugin)
    this.#chunk.set(lines, this.#used)
    this.#used += lines.length
  }

  /** Bytes that can be appended without a new chunk. */
  room (): number {
    return this.#chunk.length - this.#used
  }

  /** Makes room for `bytes` more and starts a run when the plugin changes. */
  reserve (bytes: number, plugin: number): void {
    if (bytes > this.#chunk.length - this.#used) {
      this.#closeRun()
      if (this.#used > this.#start) this.#views.push(this.#chunk.subarray(this.#start, this.#used))
      this.#chunk = Buffer.allocUnsafe(Math.max(LINE_CHUNK_BYTES, bytes))
      this.#used = this.#start = this.#runStart = 0
      this.#runPlugin = -1
    }
    if (plugin !== this.#runPlugin) {
      this.#closeRun()
      this.#runPlugin = plugin
      this.#runStart = this.#used
    }
  }

  #closeRun (): void {
    if (this.#runPlugin >= 0 && this.#used > this.#runStart) {
      this.#runs.push({ plugin: this.#runPlugin, view: this.#chunk.subarray(this.#runStart, this.#used) })
    }
    this.#runPlugin = -1
  }

  /** The lines appended since the last call. */
  take (): LineBatch {
    this.#closeRun()
    if (this.#used > this.#start) this.#views.push(this.#chunk.subarray(this.#start, this.#used))
    const batch = { views: this.#views, runs: this.#runs }
    this.#views = []
    this.#runs = []
    this.#start = this.#used
    return batch
  }
}

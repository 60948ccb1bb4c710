import { FRAMER_WASM } from './framer-wasm.js'

// The hot loop of a subprocess's flood: its plain lines (no JSON escape, not
// starting with `{`) made into SSE frames and JSON lines by WebAssembly
// (src/log/wasm/framer.ts), a chunk a call. Done in JavaScript it took
// five native calls a line (~50 ns each here: Buffer#set, copyWithin,
// indexOf) and held the event loop for ~600 ns a line; the hub copies the
// results out with two calls a chunk.

/** Node's WebAssembly, as far as it is used here (@types/node 20 does not declare it). */
declare const WebAssembly: {
  Module: new (bytes: Uint8Array) => object
  Instance: new (module: object, imports: object) => { exports: unknown }
}
interface Global { value: number }

interface FramerExports {
  memory: { buffer: ArrayBuffer }
  next: Global
  framesWritten: Global
  linesWritten: Global
  needed: Global
  setSeq: (seq: number) => void
  frame: (from: number, to: number, head: number, headLength: number, frames: number, framesRoom: number, lines: number, linesRoom: number, lengths: number, dataAts: number, maxRecords: number) => number
}

/** Most bytes of lines framed at once (readLines hands over at most its line limit, 64 KiB, at once). */
export const FRAMER_INPUT_BYTES = 64 * 1024
/** Longest head (the JSON between a line's seq and its text). */
export const FRAMER_HEAD_BYTES = 4096
/** Most records a call frames. */
const MAX_RECORDS = 16 * 1024
const OUTPUT_BYTES = 512 * 1024

// Where each part lives in the module's 2 MiB (its own data is below 64 KiB).
const INPUT = 64 * 1024
const HEAD = INPUT + FRAMER_INPUT_BYTES + 64 // 16 readable bytes after the input: the scan reads 16 at a time
const LENGTHS = HEAD + FRAMER_HEAD_BYTES
const DATA_ATS = LENGTHS + 4 * MAX_RECORDS
const FRAMES = DATA_ATS + MAX_RECORDS
const LINES = FRAMES + OUTPUT_BYTES

/** Compiled once: every hub's framer instantiates it. */
let compiled: object | undefined

/** What a `frame` call made: views of the module's memory, valid until the next call. */
export interface Framed {
  /** Records framed. */
  count: number
  /** Their SSE frames, back to back. */
  frames: Buffer
  /** Their JSON lines (`<json>\n`), back to back. */
  lines: Buffer
  /** Each frame's length, and where its JSON starts in it. */
  lengths: Uint32Array
  dataAts: Uint8Array
  /** Where the next line starts in the input. */
  next: number
  /** When it stopped for want of room: the bytes the next frame needs (0 otherwise). */
  needed: number
}

export class Framer {
  readonly #exports: FramerExports
  readonly #memory: Buffer
  readonly #lengths: Uint32Array
  readonly #dataAts: Uint8Array
  #inputLength = 0
  #headLength = 0

  constructor () {
    compiled ??= new WebAssembly.Module(Buffer.from(FRAMER_WASM, 'base64'))
    this.#exports = new WebAssembly.Instance(compiled, {}).exports as unknown as FramerExports
    // The memory never grows (its maximum is its size), so these views stay valid.
    const buffer = this.#exports.memory.buffer
    this.#memory = Buffer.from(buffer)
    this.#lengths = new Uint32Array(buffer, LENGTHS, MAX_RECORDS)
    this.#dataAts = new Uint8Array(buffer, DATA_ATS, MAX_RECORDS)
  }

  /**
   * Takes `lines` (whole lines, each ending in `\n`) and the head to frame
   * them with; false when the lines are too long to be framed here, or the
   * head too long or shorter than 16 bytes (the framer stores 16 bytes of
   * digits before it).
   */
  load (lines: Buffer, head: Uint8Array): boolean {
    if (lines.length > FRAMER_INPUT_BYTES || head.length > FRAMER_HEAD_BYTES || head.length < 16) return false
    this.#memory.set(lines, INPUT)
    this.#memory.set(head, HEAD)
    this.#inputLength = lines.length
    this.#headLength = head.length
    return true
  }

  /**
   * Frames the loaded lines from `from` on, the first as record `seq`,
   * until one is not plain, `maxRecords` are framed, or the frames or lines
   * would pass `framesRoom` or `linesRoom` bytes.
   */
  frame (from: number, seq: number, maxRecords: number, framesRoom: number, linesRoom: number): Framed {
    const wasm = this.#exports
    wasm.setSeq(seq)
    const count = wasm.frame(INPUT + from, INPUT + this.#inputLength, HEAD, this.#headLength, FRAMES, Math.min(framesRoom, OUTPUT_BYTES), LINES, Math.min(linesRoom, OUTPUT_BYTES), LENGTHS, DATA_ATS, Math.min(maxRecords, MAX_RECORDS))
    return {
      count,
      frames: this.#memory.subarray(FRAMES, FRAMES + wasm.framesWritten.value),
      lines: this.#memory.subarray(LINES, LINES + wasm.linesWritten.value),
      lengths: this.#lengths,
      dataAts: this.#dataAts,
      next: wasm.next.value - INPUT,
      needed: wasm.needed.value
    }
  }
}

// AssemblyScript, compiled to WebAssembly by `npm run wasm` (see
// src/log/framer.ts, which runs it, for why). It turns the plain lines of a
// chunk a subprocess printed into the hub's SSE frames and JSON lines:
//
//   frame: id: <seq>\nevent: log\ndata: {"seq":<seq><head><line>"}\n\n
//   line:  {"seq":<seq><head><line>"}\n
//
// where <head> is `,"time":..,"level":..,"plugin":..,"stream":..,"pid":..,"msg":"`.
// A plain line needs no JSON escape and does not start with `{` (a JSON line
// keeps its own level and fields, which the hub's JavaScript reads). Memory is
// laid out by the caller and never grows; nothing here allocates.

const EVENT = memory.data<u8>([10, 101, 118, 101, 110, 116, 58, 32, 108, 111, 103, 10, 100, 97, 116, 97, 58, 32, 123, 34, 115, 101, 113, 34, 58]) // \nevent: log\ndata: {"seq":
const EVENT_LENGTH = 25
/** Bytes before a frame's JSON: `id: `, the seq's digits, `\nevent: log\ndata: `. */
const DATA_AT = 4 + 18

/** The decimal digits of the seq of the next line. */
const digits = memory.data(24)
let digitsLength: i32 = 0

/** Where the next line starts, after `frame` (the first one it did not frame). */
export let next: i32 = 0
/** Bytes of frames and of JSON lines `frame` wrote. */
export let framesWritten: i32 = 0
export let linesWritten: i32 = 0
/** When `frame` stopped for want of room: the bytes the next line's frame needs (0 otherwise). */
export let needed: i32 = 0

/** Sets the seq of the next line framed (a JavaScript number, an integer). */
export function setSeq (seq: f64): void {
  digitsLength = 0
  let rest = <u64>seq
  do {
    digitsLength++
    rest /= 10
  } while (rest > 0)
  rest = <u64>seq
  for (let i = digitsLength - 1; i >= 0; i--) {
    store<u8>(digits + i, <u8>(48 + rest % 10))
    rest /= 10
  }
}

@inline function nextSeq (): void {
  let i = digitsLength - 1
  while (i >= 0 && load<u8>(digits + i) == 57) {
    store<u8>(digits + i, 48)
    i--
  }
  if (i >= 0) {
    store<u8>(digits + i, load<u8>(digits + i) + 1)
  } else {
    // 99 -> 100
    store<u8>(digits + digitsLength, 48)
    store<u8>(digits, 49)
    digitsLength++
  }
}

/**
 * The first byte at or after `at` that ends or breaks a plain line: a
 * control byte (`\n` among them), `"` or `\`. Sixteen bytes at a time: the
 * caller leaves 16 readable bytes after the input, which ends in `\n`.
 */
@inline function stop (at: usize): usize {
  const controls = i8x16.splat(32)
  const quote = i8x16.splat(34)
  const backslash = i8x16.splat(92)
  while (true) {
    const bytes = v128.load(at)
    const hits = i8x16.bitmask(v128.or(v128.or(i8x16.lt_u(bytes, controls), i8x16.eq(bytes, quote)), i8x16.eq(bytes, backslash)))
    if (hits != 0) return at + ctz(hits)
    at += 16
  }
}

/**
 * Frames the lines of `input[from, to)` (each ending in `\n`), from the seq
 * set by `setSeq` on, until a line is not plain, `maxRecords` are framed,
 * or the next frame or line would not fit in `framesRoom` bytes at `frames`
 * or `linesRoom` at `lines`. Writes each frame's length at `lengths` (u32)
 * and where its JSON starts in it at `dataAts` (u8). Returns how many it
 * framed; `next`, `framesWritten`, `linesWritten` and `needed` say the rest.
 */
export function frame (from: usize, to: usize, head: usize, headLength: i32, frames: usize, framesRoom: i32, lines: usize, linesRoom: i32, lengths: usize, dataAts: usize, maxRecords: i32): i32 {
  let at = from
  let frame = frames
  let line = lines
  const framesEnd = frames + framesRoom
  const linesEnd = lines + linesRoom
  let count = 0
  needed = 0
  while (at < to && count < maxRecords && load<u8>(at) != 123 /* { */) {
    const end = stop(at)
    if (load<u8>(end) != 10) break
    const length = <i32>(end - at)
    const frameLength = 4 + EVENT_LENGTH + 2 * digitsLength + headLength + length + 4
    const lineLength = 7 + digitsLength + headLength + length + 3
    if (frame + frameLength > framesEnd || line + lineLength > linesEnd) {
      needed = frameLength
      break
    }
    // The short parts are stored 16 bytes at a time (a memory.copy is a call): the digits
    // (at most 16, as a JavaScript number has) with what follows overwriting the rest (the
    // head is at least 16 bytes), the event line in two overlapping stores.
    const seqDigits = v128.load(digits)
    const start = frame
    store<u32>(frame, 0x203a6469) // "id: "
    frame += 4
    v128.store(frame, seqDigits)
    frame += digitsLength
    v128.store(frame, v128.load(EVENT))
    v128.store(frame + EVENT_LENGTH - 16, v128.load(EVENT + EVENT_LENGTH - 16))
    frame += EVENT_LENGTH
    const json = frame - 7
    v128.store(frame, seqDigits)
    frame += digitsLength
    memory.copy(frame, head, headLength)
    frame += headLength
    memory.copy(frame, at, length)
    frame += length
    store<u32>(frame, 0x0a0a7d22) // "}\n\n
    frame += 4
    // The JSON line: the frame's data and one newline.
    memory.copy(line, json, lineLength - 1)
    line += lineLength - 1
    store<u8>(line, 10)
    line++
    store<u32>(lengths + (count << 2), <u32>(frame - start))
    store<u8>(dataAts + count, <u8>(DATA_AT + digitsLength))
    nextSeq()
    count++
    at = end + 1
  }
  next = <i32>at
  framesWritten = <i32>(frame - frames)
  linesWritten = <i32>(line - lines)
  return count
}

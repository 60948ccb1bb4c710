import type { Readable } from 'node:stream'
import { StringDecoder } from 'node:string_decoder'

/** Longest line kept whole; longer ones are cut and marked, never fatal. */
export const MAX_LINE_LENGTH = 64 * 1024

/** What a cut line ends with: how many characters were cut. */
const cutMark = (dropped: number): string => `... [truncated ${dropped} chars]`
/** Whether a line was cut at the length limit (it ends with the mark). */
export const wasCut = (line: string): boolean => CUT_MARK.test(line)
const CUT_MARK = /\.\.\. \[truncated \d+ chars\]$/

export interface ReadLinesOptions {
  /** Characters of a line kept (MAX_LINE_LENGTH). */
  maxLength?: number
  /**
   * Takes the whole lines of a chunk at once, as bytes: `bytes[start, end)`
   * is one or more lines, each ending in `\n` (see `decodeLine`), at most
   * `maxLength` bytes in all. Without it every line goes to `onLine`.
   */
  onLines?: (bytes: Buffer, start: number, end: number) => void
}

/** A line of `bytes[start, end)` (its `\n` excluded) as text, without a `\r` before the newline. */
export function decodeLine (bytes: Buffer, start: number, end: number): string {
  return bytes.toString('utf8', start, end > start && bytes[end - 1] === 13 /* \r */ ? end - 1 : end)
}

/**
 * Splits a byte stream into lines (\n or \r\n). The lines a chunk holds
 * whole go to `onLines` as they are, bytes, when it is given (the log hub
 * encodes them without making a string of each); the rest, and every line
 * without it, go to `onLine` as text. A line split across chunks is
 * decoded as it comes, so a character split between them stays whole. A
 * last line without a newline is delivered when the stream ends; a line
 * longer than `maxLength` keeps its first `maxLength` characters and a note
 * of how many were cut, and memory holds no more than that of it. Resolves
 * when the stream has ended (or closed) and every line was delivered.
 */
export async function readLines (source: Readable, onLine: (line: string) => void, options: ReadLinesOptions = {}): Promise<void> {
  const maxLength = options.maxLength ?? MAX_LINE_LENGTH
  const onLines = options.onLines
  const decoder = new StringDecoder('utf8')
  let rest = ''
  let dropped = 0
  /** The last chunk ended inside a line. */
  let open = false

  const emit = (line: string): void => {
    if (line.charCodeAt(line.length - 1) === 13 /* \r */) line = line.slice(0, -1)
    if (line.length > maxLength) {
      dropped += line.length - maxLength
      line = line.slice(0, maxLength)
    }
    if (dropped > 0) {
      line += cutMark(dropped)
      dropped = 0
    }
    onLine(line)
  }
  // Part of a line whose newline has not come yet; beyond maxLength it is only counted.
  const hold = (part: string): void => {
    const room = maxLength - rest.length
    if (part.length <= room) {
      rest += part
    } else {
      rest += part.slice(0, room)
      dropped += part.length - room
    }
  }
  const emitHeld = (): void => {
    const line = rest
    rest = ''
    emit(line)
  }
  const onData = (chunk: Buffer): void => {
    const first = chunk.indexOf(10)
    if (first < 0) {
      open = true
      return hold(decoder.write(chunk))
    }
    let start = 0
    if (open) {
      // The line the last chunk left open ends here; end() completes (or marks) a character split before it.
      hold(decoder.write(chunk.subarray(0, first)) + decoder.end())
      emitHeld()
      start = first + 1
    }
    const last = chunk.lastIndexOf(10)
    if (last >= start) {
      if (onLines !== undefined && last + 1 - start <= maxLength) {
        onLines(chunk, start, last + 1)
      } else {
        for (let end = chunk.indexOf(10, start); start <= last; start = end + 1, end = chunk.indexOf(10, start)) {
          emit(chunk.toString('utf8', start, end))
        }
      }
    }
    open = last + 1 < chunk.length
    if (open) hold(decoder.write(chunk.subarray(last + 1)))
  }

  // A chunk a turn of the event loop: libuv reads up to 32 chunks a poll, and
  // a flood's chunks taken back to back held the loop (skill calls, SSE
  // clients, timers) for 25-80 ms at a time; with a turn each, no more than
  // a chunk's worth.
  const resume = (): void => { source.resume() }
  const onChunk = (chunk: Buffer): void => {
    onData(chunk)
    source.pause()
    setImmediate(resume)
  }
  await new Promise<void>((resolve, reject) => {
    const done = (): void => {
      source.off('data', onChunk)
      hold(decoder.end())
      if (rest !== '' || dropped > 0) emitHeld()
      dropped = 0
      resolve()
    }
    source.on('data', onChunk)
    source.once('end', done)
    source.once('close', done)
    source.once('error', (err) => {
      source.off('data', onChunk)
      reject(err)
    })
  })
}

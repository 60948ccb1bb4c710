import type { Readable } from 'node:stream'

/** Longest line kept whole; longer ones are cut and marked, never fatal. */
export const MAX_LINE_LENGTH = 64 * 1024

/** Anything but printable ASCII other than `"` and `\`, and the newline a chunk is split on. */
const NOT_PLAIN = /[^\n\x20\x21\x23-\x5b\x5d-\x7e]/

/**
 * Splits a byte stream into lines (\n or \r\n) and hands each to `onLine`,
 * with `plain` true when the line is printable ASCII without `"` or `\`
 * (checked once per chunk; pass it on to `LogHub.publishLine`, it saves a
 * scan per line there). A last line without a
 * newline is delivered when the stream ends; a line longer than `maxLength`
 * keeps its first `maxLength` characters and a note of how many were cut,
 * and memory holds no more than that of it. Resolves when the stream has
 * ended (or closed) and every line was delivered.
 */
export async function readLines (source: Readable, onLine: (line: string, plain: boolean) => void, maxLength = MAX_LINE_LENGTH): Promise<void> {
  let rest = ''
  let restPlain = true
  let dropped = 0

  const emit = (line: string, plain: boolean): void => {
    if (line.charCodeAt(line.length - 1) === 13 /* \r */) line = line.slice(0, -1)
    if (line.length > maxLength) {
      dropped += line.length - maxLength
      line = line.slice(0, maxLength)
    }
    if (dropped > 0) {
      line += `... [truncated ${dropped} chars]`
      dropped = 0
    }
    onLine(line, plain)
  }
  // Part of a line whose newline has not come yet; beyond maxLength it is only counted.
  const hold = (part: string, plain: boolean): void => {
    const room = maxLength - rest.length
    if (part.length <= room) {
      rest += part
    } else {
      rest += part.slice(0, room)
      dropped += part.length - room
    }
    restPlain &&= plain
  }
  const onData = (chunk: string): void => {
    const plain = !NOT_PLAIN.test(chunk)
    let newline = chunk.indexOf('\n')
    if (newline < 0) return hold(chunk, plain)
    if (rest !== '' || dropped > 0) {
      hold(chunk.slice(0, newline), plain)
      const line = rest
      const linePlain = restPlain
      rest = ''
      restPlain = true
      emit(line, linePlain)
    } else {
      emit(chunk.slice(0, newline), plain)
    }
    let start = newline + 1
    while ((newline = chunk.indexOf('\n', start)) >= 0) {
      emit(chunk.slice(start, newline), plain)
      start = newline + 1
    }
    if (start < chunk.length) hold(chunk.slice(start), plain)
  }

  source.setEncoding('utf8')
  await new Promise<void>((resolve, reject) => {
    const done = (): void => {
      source.off('data', onData)
      if (rest !== '' || dropped > 0) emit(rest, restPlain)
      rest = ''
      dropped = 0
      resolve()
    }
    source.on('data', onData)
    source.once('end', done)
    source.once('close', done)
    source.once('error', (err) => {
      source.off('data', onData)
      reject(err)
    })
  })
}

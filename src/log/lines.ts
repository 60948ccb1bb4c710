import type { Readable } from 'node:stream'

/** Longest line kept whole; longer ones are cut and marked, never fatal. */
export const MAX_LINE_LENGTH = 64 * 1024

/**
 * Splits a byte stream into lines (\n or \r\n) and hands each to `onLine`.
 * A last line without a newline is delivered when the stream ends; a line
 * longer than `maxLength` is truncated. Resolves when the stream has ended.
 */
export async function readLines (source: Readable, onLine: (line: string) => void, maxLength = MAX_LINE_LENGTH): Promise<void> {
  source.setEncoding('utf8')
  let rest = ''
  const emit = (line: string): void => {
    if (line.endsWith('\r')) line = line.slice(0, -1)
    onLine(line.length > maxLength ? `${line.slice(0, maxLength)}… [truncated ${line.length - maxLength} chars]` : line)
  }
  for await (const chunk of source as AsyncIterable<string>) {
    let start = 0
    let newline = chunk.indexOf('\n')
    if (newline < 0) {
      rest += chunk
      if (rest.length > maxLength * 2) { emit(rest); rest = '' }
      continue
    }
    emit(rest + chunk.slice(0, newline))
    start = newline + 1
    while ((newline = chunk.indexOf('\n', start)) >= 0) {
      emit(chunk.slice(start, newline))
      start = newline + 1
    }
    rest = chunk.slice(start)
  }
  if (rest !== '') emit(rest)
}

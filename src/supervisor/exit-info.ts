import { decodeLine } from '../log/lines.js'
import type { ExitInfo } from '../plugins/status.js'

/** Lines kept per process for `lastExit`, and the longest part of a line kept. */
const KEEP_LINES = 10
const KEEP_CHARS = 500

/** The last few lines a process printed (both streams), for when it ends. */
export class LastLines {
  #lines: string[] = []

  push (line: string): void {
    if (this.#lines.length === KEEP_LINES) this.#lines.shift()
    this.#lines.push(line.length > KEEP_CHARS ? `${line.slice(0, KEEP_CHARS)}…` : line)
  }

  /** Keeps the last of the whole lines `bytes[start, end)` holds (see readLines' `onLines`). */
  pushLines (bytes: Buffer, start: number, end: number): void {
    const lines: string[] = []
    for (let newline = end - 1; newline >= start && lines.length < KEEP_LINES;) {
      const before = newline > start ? bytes.lastIndexOf(10, newline - 1) : -1
      const lineStart = before < start ? start : before + 1
      lines.push(decodeLine(bytes, lineStart, newline))
      newline = lineStart - 1
    }
    for (let i = lines.length - 1; i >= 0; i--) this.push(lines[i])
  }

  get lines (): string[] {
    return [...this.#lines]
  }
}

export function exitInfo (code: number | null, signal: string | null, startedAt: number, lastLines: string[]): ExitInfo {
  const now = Date.now()
  return { code, signal, uptime: (now - startedAt) / 1000, at: new Date(now).toISOString(), lastLines }
}

/** "exited with code 1 after 2.5 s" / "was killed by SIGKILL after 0.1 s". */
export function describeExit (exit: ExitInfo): string {
  const how = exit.signal !== null ? `was killed by ${exit.signal}` : `exited with code ${exit.code}`
  return `${how} after ${formatSeconds(exit.uptime)}`
}

/** The same, with the last line it printed when there is one. */
export function describeExitWithOutput (exit: ExitInfo): string {
  const last = exit.lastLines.at(-1)
  return last === undefined ? `${describeExit(exit)}, printing nothing` : `${describeExit(exit)}; last output: ${JSON.stringify(last)}`
}

export function formatSeconds (seconds: number): string {
  return seconds < 10 ? `${seconds.toFixed(3).replace(/\.?0+$/, '')} s` : `${seconds.toFixed(1)} s`
}

/** True for an exit with code 0. */
export function isCleanExit (exit: ExitInfo): boolean {
  return exit.code === 0 && exit.signal === null
}

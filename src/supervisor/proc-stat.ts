import { readdirSync, readFileSync } from 'node:fs'

// What Linux says about processes in /proc; everything here answers
// undefined where there is no /proc (macOS), and callers degrade to what
// signals alone can do.

/** Indexes into what `procStat` returns (proc(5) field number minus 3). */
export const STAT = { state: 0, pgrp: 2, utime: 11, stime: 12, starttime: 19 } as const

/**
 * The fields of `/proc/<pid>/stat` after the command name, the state first;
 * undefined when the process is gone or there is no /proc. The name may hold
 * spaces and parentheses, so the fields start after its last `)`.
 */
export function procStat (pid: number | string): string[] | undefined {
  let stat: string
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'latin1')
  } catch {
    return undefined
  }
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')
}

/** The pids of every process (not thread) now in /proc; undefined without /proc. */
export function procPids (): string[] | undefined {
  try {
    return readdirSync('/proc').filter((entry) => /^\d+$/.test(entry))
  } catch {
    return undefined
  }
}

/** True for a process that has ended but not been reaped yet (a zombie), or is being torn down. */
export function isDead (fields: string[]): boolean {
  return fields[STAT.state] === 'Z' || fields[STAT.state] === 'X'
}

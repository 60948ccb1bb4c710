import { readFileSync } from 'node:fs'

/**
 * The connections the server accepts at most, from the process's file
 * descriptor limit (`Max open files` of `/proc/self/limits`): the limit less
 * room for what else needs descriptors (plugins' pipes, log files, spawns,
 * git). Past it Node closes a new connection at once; without a cap, idle
 * connections alone ran the server out of descriptors, and then plugins
 * could not be spawned nor files opened. Undefined where the limit cannot be
 * read (no /proc) or is unlimited.
 */
export function maxConnectionsFor (limits: string): number | undefined {
  const soft = /^Max open files\s+(\d+)/m.exec(limits)?.[1]
  if (soft === undefined) return undefined
  const n = Number(soft)
  // A quarter kept for the rest, at least 128 where the limit allows, at most half of it.
  return Math.max(Math.floor(n / 2), n - Math.max(128, Math.floor(n / 4)))
}

/** maxConnectionsFor this process, or undefined. */
export function maxConnections (): number | undefined {
  try {
    return maxConnectionsFor(readFileSync('/proc/self/limits', 'utf8'))
  } catch {
    return undefined
  }
}

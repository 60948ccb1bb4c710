import { randomBytes } from 'node:crypto'
import { readFileSync, statSync } from 'node:fs'
import { isDead, procPids, procStat, STAT } from './proc-stat.js'

// A process that leaves its plugin's process group (setsid, a daemon's
// double fork) is out of reach of a signal to the group, and once reparented
// to PID 1 no process tree leads to it either. What it keeps is the
// environment it inherited: every run of a plugin gets a random id in
// AIGIS_RUN_ID, and on Linux /proc/<pid>/environ finds whatever still
// carries it. A process that starts over with an environment without it
// (`env -i`, sudo) or writes over its own (setproctitle) is not found.

/** The variable holding the run id in every subprocess of a plugin; set by the server, not by ENV. */
export const RUN_ID_VAR = 'AIGIS_RUN_ID'

/** A new run id: 128 random bits, hex. */
export function newRunId (): string {
  return randomBytes(16).toString('hex')
}

/** A living process carrying a run id, with what tells it apart from a later process given the same pid. */
export interface Carrier {
  pid: number
  pgid: number
  /** Its start time (clock ticks after boot, /proc/<pid>/stat field 22). */
  started: string
}

/**
 * The living processes of the server's user carrying `runId` in their
 * environment, never the server itself; none without /proc. Processes of
 * other users, or whose environment cannot be read, are skipped.
 */
export function findCarriers (runId: string): Carrier[] {
  const entry = `\0${RUN_ID_VAR}=${runId}\0`
  const carriers: Carrier[] = []
  for (const pid of procPids() ?? []) {
    if (Number(pid) === process.pid || !carries(pid, entry)) continue
    // The environment is read again after the start time, so that start time
    // is the carrier's and not that of a process given the pid in between.
    const fields = procStat(pid)
    if (fields === undefined || isDead(fields) || !carries(pid, entry) || !ownedByUs(pid)) continue
    carriers.push({ pid: Number(pid), pgid: Number(fields[STAT.pgrp]), started: fields[STAT.starttime] })
  }
  return carriers
}

/**
 * Sends `signal` to each carrier that is still the process found (same
 * start time); returns how many were signalled.
 */
export function signalCarriers (carriers: Carrier[], signal: NodeJS.Signals): number {
  let signalled = 0
  for (const { pid, started } of carriers) {
    if (procStat(pid)?.[STAT.starttime] !== started) continue
    try {
      process.kill(pid, signal)
      signalled++
    } catch {} // ended meanwhile, or not ours to signal
  }
  return signalled
}

function carries (pid: string, entry: string): boolean {
  try {
    return `\0${readFileSync(`/proc/${pid}/environ`, 'latin1')}`.includes(entry)
  } catch {
    return false
  }
}

function ownedByUs (pid: string): boolean {
  try {
    return statSync(`/proc/${pid}`).uid === process.geteuid?.()
  } catch {
    return false
  }
}

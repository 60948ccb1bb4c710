import { readdirSync } from 'node:fs'
import { setTimeout as sleep } from 'node:timers/promises'
import { procStat, STAT } from './proc-stat.js'

// A supervised program runs as the leader of its own process group (spawned
// detached), so signalling the group reaches its children and grandchildren
// wherever they were reparented. No process tree is walked.

/** How long SIGKILLed processes get to disappear before stop gives up waiting. */
const KILL_WAIT_MS = 2000

/** Sends `signal` to every process in the group; false when the group no longer exists. */
export function signalGroup (pgid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pgid, signal)
    return true
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'ESRCH') return false
    if (code === 'EPERM') return true
    throw err
  }
}

/**
 * True while a process of the group is alive. `kill(-pgid, 0)` also counts
 * zombies: dead members whose new parent never reaps them, as happens when
 * PID 1 is not an init (containers run without `--init`, some sandboxes).
 * On Linux those are told apart by their state in /proc.
 */
export function groupAlive (pgid: number): boolean {
  if (!signalGroup(pgid, 0)) return false
  return process.platform !== 'linux' || hasLivingMember(pgid)
}

function hasLivingMember (pgid: number): boolean {
  let pids: string[]
  try {
    pids = readdirSync('/proc').filter((entry) => /^\d+$/.test(entry))
  } catch {
    return true
  }
  for (const pid of pids) {
    const fields = procStat(pid) // undefined: ended meanwhile
    if (fields !== undefined && Number(fields[STAT.pgrp]) === pgid && fields[STAT.state] !== 'Z' && fields[STAT.state] !== 'X') return true
  }
  return false
}

/** Resolves true when `promise` settles within `ms`, false otherwise; leaves no timer behind. */
export async function within (promise: Promise<unknown>, ms: number): Promise<boolean> {
  const timeout = new AbortController()
  try {
    return await Promise.race([
      promise.then(() => true, () => true),
      sleep(ms, false, { signal: timeout.signal })
    ])
  } finally {
    timeout.abort()
  }
}

async function waitGone (pgid: number, deadline: number, leaderExit?: Promise<unknown>): Promise<boolean> {
  if (leaderExit !== undefined && !await within(leaderExit, deadline - Date.now())) return false
  let pause = 2
  while (groupAlive(pgid)) {
    const left = deadline - Date.now()
    if (left <= 0) return false
    await sleep(Math.min(pause, left))
    pause = Math.min(pause * 2, 50)
  }
  return true
}

/**
 * Stops a whole process group: SIGTERM to every member, SIGKILL to whatever
 * is left after `timeoutMs`. `leaderExit` settles when the leader has exited
 * (and been reaped), so a stop also waits for it. Resolves `killed` when
 * SIGKILL was needed.
 */
export async function terminateGroup (pgid: number, timeoutMs: number, leaderExit?: Promise<unknown>): Promise<'gone' | 'killed'> {
  if (signalGroup(pgid, 'SIGTERM') && !await waitGone(pgid, Date.now() + timeoutMs, leaderExit)) {
    signalGroup(pgid, 'SIGKILL')
    await waitGone(pgid, Date.now() + KILL_WAIT_MS, leaderExit)
    return 'killed'
  }
  if (leaderExit !== undefined) await within(leaderExit, KILL_WAIT_MS)
  return 'gone'
}

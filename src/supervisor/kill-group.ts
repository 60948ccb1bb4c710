import { setTimeout as sleep } from 'node:timers/promises'
import { isDead, procPids, procStat, STAT } from './proc-stat.js'
import { findCarriers, signalCarriers } from './run-id.js'

// A supervised program runs as the leader of its own process group (spawned
// detached), so signalling the group reaches its children and grandchildren
// wherever they were reparented. What left the group (setsid) is found by the
// run id it carries (see run-id.ts) and signalled with the group, one by one.
// No process tree is walked.

/** How long SIGKILLed processes get to disappear before stop gives up waiting. */
const KILL_WAIT_MS = 2000

/**
 * What one run of a supervised program may have left running: its process
 * group, and every process carrying its run id. A record of a run may lack
 * either (a group id handed out again, a record from before run ids).
 */
export interface Run {
  pgid?: number
  runId?: string
}

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
  const pids = procPids()
  if (pids === undefined) return true
  for (const pid of pids) {
    const fields = procStat(pid) // undefined: ended meanwhile
    if (fields !== undefined && Number(fields[STAT.pgrp]) === pgid && !isDead(fields)) return true
  }
  return false
}

/**
 * Sends `signal` to the run's group and to whatever carries its run id
 * outside the group (members get it once, through the group: a handler must
 * not run twice); false when none of them exists.
 */
export function signalRun (run: Run, signal: NodeJS.Signals): boolean {
  const group = run.pgid !== undefined && signalGroup(run.pgid, signal)
  const escaped = run.runId === undefined ? [] : findCarriers(run.runId).filter((p) => p.pgid !== run.pgid)
  return signalCarriers(escaped, signal) > 0 || group
}

/** True while a process of the run's group, or one carrying its run id, is alive. */
export function runAlive (run: Run): boolean {
  return (run.pgid !== undefined && groupAlive(run.pgid)) || (run.runId !== undefined && findCarriers(run.runId).length > 0)
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

async function waitGone (run: Run, deadline: number, leaderExit?: Promise<unknown>): Promise<boolean> {
  if (leaderExit !== undefined && !await within(leaderExit, deadline - Date.now())) return false
  let pause = 2
  while (runAlive(run)) {
    const left = deadline - Date.now()
    if (left <= 0) return false
    await sleep(Math.min(pause, left))
    pause = Math.min(pause * 2, 50)
  }
  return true
}

/**
 * Stops a run: SIGTERM to its group and to what left the group carrying its
 * run id, SIGKILL to whatever of them is left (found anew) after
 * `timeoutMs`. `leaderExit` settles when the leader has exited (and been
 * reaped), so a stop also waits for it. Resolves `killed` when SIGKILL was
 * needed.
 */
export async function terminateRun (run: Run, timeoutMs: number, leaderExit?: Promise<unknown>): Promise<'gone' | 'killed'> {
  if (signalRun(run, 'SIGTERM') && !await waitGone(run, Date.now() + timeoutMs, leaderExit)) {
    signalRun(run, 'SIGKILL')
    await waitGone(run, Date.now() + KILL_WAIT_MS, leaderExit)
    return 'killed'
  }
  if (leaderExit !== undefined) await within(leaderExit, KILL_WAIT_MS)
  return 'gone'
}

import { within } from './kill-group.js'

/**
 * Once a process has exited, its output is read until its pipes close, or
 * nothing more came for DRAIN_QUIET_MS (a process it left behind may hold
 * them open, and say nothing), and for DRAIN_MAX_MS at most (one that keeps
 * printing).
 */
const DRAIN_QUIET_MS = 200
const DRAIN_MAX_MS = 2000

/**
 * Waits for `drained` (the pipes closed and read) while output keeps
 * coming (`delivered` counts what was read). What came is judged only after
 * the event loop has polled (an immediate runs after the poll): after the
 * server was held up, a timer fires before the pipes are read, and a fixed
 * wait then missed the last lines a program printed.
 */
export async function drainOutput (drained: Promise<unknown>, delivered: () => number): Promise<void> {
  const deadline = Date.now() + DRAIN_MAX_MS
  let seen = -1
  while (delivered() !== seen && Date.now() < deadline) {
    seen = delivered()
    if (await within(drained, DRAIN_QUIET_MS)) return
    await new Promise((resolve) => setImmediate(resolve))
  }
}

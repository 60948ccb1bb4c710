// A plugin's load is a row of steps (source, AIGIS.config, requirements,
// secrets, start), and any of them can hang: a REQUIREMENT_COMMAND waiting
// for input, a clone from a server that never answers, a core module whose
// top-level await never settles. One hanging plugin must not hold the others,
// /ready or the shutdown (SPEC §2, §3), so every step that can wait is given
// a time limit and the load's AbortSignal: a stop, reload, delete or the
// shutdown aborts it.

/** Seconds a REQUIREMENT_COMMAND may run by default: a large `npm install` or `pip install` on a slow network. */
export const DEFAULT_REQUIREMENT_TIMEOUT_S = 600
/** Seconds a plugin's start (a core import, a spawn) may take by default. */
export const DEFAULT_START_TIMEOUT_S = 60

/** Why a load ended early: the plugin was stopped, reloaded or deleted, or the server is shutting down. Not a failure. */
export class LoadAborted extends Error {
  constructor (readonly why: string) {
    super(`loading stopped: ${why}`)
    this.name = 'LoadAborted'
  }
}

/**
 * Waits for `work`, but no longer than `limit.ms` (then rejects with
 * `limit.error()`) or than `signal` stays unaborted (then rejects with its
 * reason). `work` itself goes on: what it started is the caller's to end.
 */
export async function bounded<T> (work: Promise<T>, signal: AbortSignal, limit?: { ms: number, error: () => Error }): Promise<T> {
  signal.throwIfAborted()
  let timer: NodeJS.Timeout | undefined
  let onAbort: (() => void) | undefined
  try {
    return await Promise.race([
      work,
      new Promise<never>((_resolve, reject) => {
        if (limit !== undefined) timer = setTimeout(() => reject(limit.error()), limit.ms)
        onAbort = () => reject(signal.reason)
        signal.addEventListener('abort', onAbort, { once: true })
      })
    ])
  } finally {
    clearTimeout(timer)
    if (onAbort !== undefined) signal.removeEventListener('abort', onAbort)
  }
}

/** Seconds as a user reads them: `600`, `0.5`. */
export function seconds (ms: number): string {
  return String(Math.round(ms) / 1000)
}

/** How long to wait before each automatic restart. */
export interface BackoffOptions {
  /** Delay before the first restart, in ms (default 100). 0 restarts at once. */
  initialMs?: number
  /** Each further delay is the previous one times this (default 2). */
  factor?: number
  /** The longest delay, in ms (default 5000). */
  maxMs?: number
  /** A process that stayed up this long (ms) starts the sequence over (default 10000). */
  resetAfterMs?: number
}

export const DEFAULT_BACKOFF: Required<BackoffOptions> = {
  initialMs: 100,
  factor: 2,
  maxMs: 5000,
  resetAfterMs: 10_000
}

/**
 * Exponential backoff for a crash loop: initial, initial × factor, … up to
 * the cap. `failures` counts the restarts since the last reset; it is also
 * what the `RESTART` budget is checked against.
 */
export class Backoff {
  readonly options: Required<BackoffOptions>
  #failures = 0

  constructor (options: BackoffOptions = {}) {
    const defined = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined))
    this.options = { ...DEFAULT_BACKOFF, ...defined }
  }

  /** Restarts since the last reset. */
  get failures (): number {
    return this.#failures
  }

  /** The delay before the next restart; counts it. */
  next (): number {
    const { initialMs, factor, maxMs } = this.options
    const delay = Math.min(maxMs, initialMs * factor ** this.#failures)
    this.#failures++
    return delay
  }

  /** Starts over when the process that just ended had stayed up long enough. */
  settle (uptimeMs: number): void {
    if (uptimeMs >= this.options.resetAfterMs) this.#failures = 0
  }

  reset (): void {
    this.#failures = 0
  }
}

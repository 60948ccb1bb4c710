/**
 * The longest time limit a setting may give, in seconds: Node's timers take
 * at most 2^31 - 1 ms (~24.8 days) and fire at once past it (with a
 * TimeoutOverflowWarning), so a longer STOP_TIMEOUT SIGKILLed at once and a
 * longer skill timeout answered every call 504. Refused where it is set.
 */
export const MAX_TIMEOUT_S = 2_147_483

/** The same in milliseconds: what a sum of limits (the shutdown watchdog) is capped at. */
export const MAX_TIMEOUT_MS = MAX_TIMEOUT_S * 1000

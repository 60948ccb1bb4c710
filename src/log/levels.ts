// One table of log levels for every record in the central log: pino's own
// plus the two lifecycle levels plugins get (ranked above everything else so
// that a start or stop is visible at any LOG_LEVEL).
export const LEVELS = {
  trace: 10,
  debug: 20,
  info: 30,
  warn: 40,
  error: 50,
  fatal: 60,
  boot: 70,
  shutdown: 71
} as const

export type LevelName = keyof typeof LEVELS

/** pino's customLevels option: only the levels pino does not have. */
export const CUSTOM_LEVELS = { boot: LEVELS.boot, shutdown: LEVELS.shutdown }

const NAMES_BY_VALUE = new Map<number, LevelName>(
  Object.entries(LEVELS).map(([name, value]) => [value, name as LevelName])
)

export function isLevelName (name: unknown): name is LevelName {
  return typeof name === 'string' && Object.hasOwn(LEVELS, name)
}

/** Level names other loggers write (Python's logging, syslog, winston, zap), as ours. */
const ALIASES: Record<string, LevelName> = Object.assign(Object.create(null), {
  warning: 'warn',
  err: 'error',
  critical: 'fatal',
  crit: 'fatal',
  alert: 'fatal',
  emerg: 'fatal',
  emergency: 'fatal',
  panic: 'fatal',
  dpanic: 'fatal',
  notice: 'info',
  verbose: 'debug',
  silly: 'trace'
})

/** The level name for a pino/bunyan numeric level (or its digits), or a level given by name (any case, common aliases). */
export function levelName (level: unknown): LevelName | undefined {
  if (typeof level === 'number') {
    return NAMES_BY_VALUE.get(level) ?? nearestBelow(level)
  }
  if (typeof level === 'string') {
    const lower = level.toLowerCase()
    if (isLevelName(lower)) return lower
    if (/^\d{1,3}$/.test(level)) return levelName(Number(level))
    return ALIASES[lower]
  }
  return undefined
}

function nearestBelow (value: number): LevelName {
  let best: LevelName = 'trace'
  for (const [name, v] of Object.entries(LEVELS)) {
    if (v <= value) best = name as LevelName
  }
  return best
}

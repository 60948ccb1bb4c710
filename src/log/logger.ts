import { pino, type Logger } from 'pino'
import { CUSTOM_LEVELS, type LevelName } from './levels.js'
import type { LogHub } from './hub.js'
import { SERVER_PLUGIN } from './record.js'

export type AigisLogger = Logger<'boot' | 'shutdown'>

/** Keys of a record the hub, pino and the logger's bindings own. */
const OWN_KEYS: readonly string[] = ['seq', 'time', 'level', 'plugin', 'stream', 'pid']

/**
 * A logged object's fields (or a child logger's bindings), with any that
 * would repeat a key the record owns renamed with a leading underscore
 * (`plugin` → `_plugin`): pino writes its keys, the bindings and the fields
 * side by side, and a second key made the record's JSON ambiguous (parsers
 * take the last: a record was filed under whatever plugin the field named,
 * `level: 10` on an error dropped it below the log level).
 */
function ownKeysRenamed (fields: Record<string, unknown>): Record<string, unknown> {
  if (!OWN_KEYS.some((key) => key in fields)) return fields
  const renamed: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(fields)) renamed[OWN_KEYS.includes(key) ? `_${key}` : key] = value
  return renamed
}

/**
 * pino's log methods, with a `msg` field renamed `_msg` when a message is
 * given too (`log.info({ msg: 'a' }, 'b')` wrote two `msg` keys); alone it
 * is the message, as pino has it.
 */
function logMethod (this: unknown, args: [unknown, ...unknown[]], method: (...args: unknown[]) => void): void {
  const [fields, message] = args
  if (message !== undefined && typeof fields === 'object' && fields !== null && !(fields instanceof Error) && 'msg' in fields) {
    const { msg, ...rest } = fields as Record<string, unknown>
    args[0] = { ...rest, _msg: msg }
  }
  method.apply(this, args)
}

/** The server's logger and a maker of plugin loggers, all writing to one hub. */
export interface Loggers {
  server: AigisLogger
  /** A logger bound to one plugin (`plugin` and `stream: "log"` on every record). */
  forPlugin: (plugin: string) => AigisLogger
}

/**
 * pino loggers whose destination is the log hub, so the server's records
 * and every plugin's `ctx.log` take the same path as subprocess lines.
 * Levels are written by name. The root has no bindings of its own: the
 * server and each plugin are siblings, so no record repeats a key.
 */
export function createLoggers (hub: LogHub, level: LevelName = 'info'): Loggers {
  const root: AigisLogger = pino({
    level,
    customLevels: CUSTOM_LEVELS,
    base: null,
    formatters: { level: (label) => ({ level: label }), log: ownKeysRenamed },
    hooks: { logMethod }
  }, { write: (line: string) => { hub.publishJson(line) } })
  // pino's own `child`: plugin loggers and their children get one that renames the keys a record owns (a child bound to `plugin: 'other'` was filed under it).
  const pinoChild = root.child as unknown as (this: AigisLogger, bindings: Record<string, unknown>, options?: unknown) => AigisLogger
  const guarded = (logger: AigisLogger): AigisLogger => {
    const child = (bindings: Record<string, unknown>, options?: unknown): AigisLogger => guarded(pinoChild.call(logger, ownKeysRenamed(bindings), options))
    logger.child = child as unknown as AigisLogger['child']
    return logger
  }
  const forPlugin = (plugin: string): AigisLogger => guarded(pinoChild.call(root, { plugin, stream: 'log' }))
  return { server: forPlugin(SERVER_PLUGIN), forPlugin }
}

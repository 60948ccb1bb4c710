import { pino, type Logger } from 'pino'
import { CUSTOM_LEVELS, type LevelName } from './levels.js'
import type { LogHub } from './hub.js'
import { SERVER_PLUGIN } from './record.js'

export type AigisLogger = Logger<'boot' | 'shutdown'>

/** Keys of a record the hub and the logger's bindings own. */
const OWN_KEYS = ['seq', 'plugin', 'stream', 'pid'] as const

/**
 * A logged object's fields, with any that would repeat a key the record owns
 * renamed with a leading underscore (`plugin` → `_plugin`): pino writes the
 * bindings and the fields side by side, and a second `plugin` key made the
 * record's JSON ambiguous (parsers take the last: the record was then
 * filed under whatever plugin the field named).
 */
function ownKeysRenamed (fields: Record<string, unknown>): Record<string, unknown> {
  if (!OWN_KEYS.some((key) => key in fields)) return fields
  const renamed: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(fields)) renamed[(OWN_KEYS as readonly string[]).includes(key) ? `_${key}` : key] = value
  return renamed
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
    formatters: { level: (label) => ({ level: label }), log: ownKeysRenamed }
  }, { write: (line: string) => { hub.publishJson(line) } })
  const forPlugin = (plugin: string): AigisLogger => root.child({ plugin, stream: 'log' })
  return { server: forPlugin(SERVER_PLUGIN), forPlugin }
}

import { pino, type Logger } from 'pino'
import { CUSTOM_LEVELS, type LevelName } from './levels.js'
import type { LogHub } from './hub.js'
import { SERVER_PLUGIN } from './record.js'

export type AigisLogger = Logger<'boot' | 'shutdown'>

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
    formatters: { level: (label) => ({ level: label }) }
  }, { write: (line: string) => { hub.publishJson(line) } })
  const forPlugin = (plugin: string): AigisLogger => root.child({ plugin, stream: 'log' })
  return { server: forPlugin(SERVER_PLUGIN), forPlugin }
}

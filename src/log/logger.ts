import { pino, type Logger } from 'pino'
import { CUSTOM_LEVELS, type LevelName } from './levels.js'
import type { LogHub } from './hub.js'
import { SERVER_PLUGIN } from './record.js'

export type AigisLogger = Logger<'boot' | 'shutdown'>

/**
 * The server's root pino logger. Its destination is the log hub, so the
 * server's records, Fastify's request logs and every plugin's `ctx.log` take
 * the same path as subprocess lines. Levels are written by name.
 */
export function createLogger (hub: LogHub, level: LevelName = 'info'): AigisLogger {
  return pino({
    level,
    customLevels: CUSTOM_LEVELS,
    base: { plugin: SERVER_PLUGIN, stream: 'log' },
    formatters: { level: (label) => ({ level: label }) }
  }, { write: (line: string) => { hub.publishJson(line) } })
}

/** A child logger bound to one plugin, writing to the central log. */
export function pluginLogger (root: AigisLogger, plugin: string): AigisLogger {
  return root.child({ plugin })
}

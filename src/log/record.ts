import type { LevelName } from './levels.js'

export type LogStream = 'log' | 'stdout' | 'stderr'

/** What a producer hands the hub: everything but the sequence number. */
export interface LogInput {
  time: number
  level: LevelName
  plugin: string
  stream: LogStream
  msg: string
  pid?: number
  [field: string]: unknown
}

/** One record of the central log, as stored, streamed and written to files. */
export interface LogRecord extends LogInput {
  seq: number
}

/** The name the server itself logs under. */
export const SERVER_PLUGIN = 'aigis'

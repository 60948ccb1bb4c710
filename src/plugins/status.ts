import type { PluginType } from '../config/names.js'

export const PLUGIN_STATES = ['stopped', 'starting', 'running', 'backoff', 'stopping', 'exited', 'fatal', 'failed'] as const
export type PluginState = typeof PLUGIN_STATES[number]

/** How a subprocess ended, kept as the plugin's `lastExit`. */
export interface ExitInfo {
  code: number | null
  signal: string | null
  /** Seconds the process was up. */
  uptime: number
  /** ISO time it ended. */
  at: string
  /** The last lines it printed before it ended. */
  lastLines: string[]
}

/** What a runtime (core module, subprocess) knows about itself. */
export interface RuntimeInfo {
  pid: number | null
  restarts: number
  startedAt: string | null
  exitCode: number | null
  exitSignal: string | null
  nextRestartAt: string | null
  lastExit: ExitInfo | null
}

/** A plugin as `GET /plugins` shows it. */
export interface PluginStatus extends RuntimeInfo {
  name: string
  type: PluginType | null
  source: string
  state: PluginState
  error: string | null
  /** Ids of the skills it serves now. */
  skills: string[]
}

export const IDLE_RUNTIME: RuntimeInfo = {
  pid: null,
  restarts: 0,
  startedAt: null,
  exitCode: null,
  exitSignal: null,
  nextRestartAt: null,
  lastExit: null
}

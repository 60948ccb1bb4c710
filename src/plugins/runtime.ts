import type { EventEmitter } from 'node:events'
import type { PluginConfig } from '../config/plugin-config.js'
import type { LogHub } from '../log/hub.js'
import type { AigisLogger } from '../log/logger.js'
import type { SkillRegistry } from '../skills/registry.js'
import type { BackoffOptions } from '../supervisor/backoff.js'
import type { PluginState, RuntimeInfo } from './status.js'

/** A runtime reports its state changes; `error` is set with `failed`/`fatal`. */
export interface RuntimeEvents {
  state: [state: PluginState, error: string | null]
}

/**
 * What running a loaded plugin means for its type: importing a core module
 * and registering its skills, or supervising a subprocess. The manager owns
 * the lifecycle (transitions, locking); a runtime does the work and reports
 * its state.
 */
export interface PluginRuntime extends EventEmitter<RuntimeEvents> {
  /** Resolves once running; rejects (and reports `failed`) when it cannot start. */
  start: () => Promise<void>
  /** Resolves once everything it ran has ended and its skills are gone. */
  stop: () => Promise<void>
  info: () => RuntimeInfo
  /** At once and without waiting: SIGKILL whatever it runs (a forced exit of the server). */
  kill?: () => void
}

/** Everything a runtime may need from the server. */
export interface RuntimeContext {
  name: string
  config: PluginConfig
  /** The plugin's logger (bound to its name) in the central log. */
  log: AigisLogger
  hub: LogHub
  skills: SkillRegistry
  /** Where transpiled plugin sources are cached (keyed by content, so edits are seen). */
  cacheDir: string
  /** The server's base URL, for subprocesses that call back (internal plugins). */
  serverUrl: () => string
  /** A token for the plugin's own process when auth is on. */
  pluginToken?: string
  /** Delays between automatic restarts of a subprocess. */
  backoff?: BackoffOptions
  /** Milliseconds a core module's `cleanup` may take (see CoreSkills#unregister). */
  cleanupTimeoutMs?: number
  /** Where a subprocess's process group and run id are written down while it runs (see supervisor/group-records.ts). */
  groups?: { started: (pgid: number, runId: string) => void, ended: () => void }
}

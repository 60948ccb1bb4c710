import { EventEmitter } from 'node:events'
import { join } from 'node:path'
import { loadPluginConfig, type PluginConfig } from '../config/plugin-config.js'
import { isPluginName, type PluginType } from '../config/names.js'
import type { PluginDeclaration } from '../config/main-config.js'
import { errorCode, errorMessage, InvalidPluginName, InvalidSource, InvalidTransition, PluginExists, PluginNotFound, PluginTypeMismatch } from '../errors.js'
import type { LogHub } from '../log/hub.js'
import type { AigisLogger } from '../log/logger.js'
import type { SkillRegistry } from '../skills/registry.js'
import type { BackoffOptions } from '../supervisor/backoff.js'
import { preparePlugin } from './prepare.js'
import type { PluginRuntime, RuntimeContext } from './runtime.js'
import { materializeSource, removeRuntimeFolder, type MaterializeResult } from './source.js'
import { GroupRecords } from '../supervisor/group-records.js'
import { IDLE_RUNTIME, type ExitInfo, type PluginState, type PluginStatus } from './status.js'

export type RuntimeFactory = (ctx: RuntimeContext) => PluginRuntime

export interface PluginManagerOptions {
  /** Folder relative local sources resolve against (the main config's). */
  baseDir: string
  dataDir: string
  secretsDir: string
  hub: LogHub
  logger: AigisLogger
  pluginLogger: (plugin: string) => AigisLogger
  skills: SkillRegistry
  createRuntime: RuntimeFactory
  serverUrl: () => string
  /** The token a plugin's own process gets when auth is on. */
  pluginToken?: (plugin: string) => string | undefined
  /** Delays between automatic restarts of subprocess plugins. */
  backoff?: BackoffOptions
}

type Action = 'start' | 'stop' | 'restart' | 'reload'

// Which lifecycle requests make sense in which state; anything else is a 409.
const ALLOWED: Record<Action, ReadonlySet<PluginState>> = {
  start: new Set(['stopped', 'exited', 'fatal', 'failed']),
  stop: new Set(['starting', 'running', 'backoff']),
  restart: new Set(['running', 'backoff', 'stopped', 'exited', 'fatal', 'failed']),
  reload: new Set(['running', 'backoff', 'stopped', 'exited', 'fatal', 'failed'])
}

// A plugin in one of these states has something to stop.
const ACTIVE: ReadonlySet<PluginState> = new Set(['starting', 'running', 'backoff', 'stopping'])
/** Plugins whose sources are fetched ahead of the one loading at boot. */
const FETCH_AHEAD = 8

class ManagedPlugin {
  state: PluginState = 'stopped'
  error: string | null = null
  config?: PluginConfig
  runtime?: PluginRuntime
  /** Serializes lifecycle operations on this plugin. */
  queue: Promise<unknown> = Promise.resolve()
  /** A boot-time fetch of its source, fetched ahead of its turn; nothing else may write its folder before it settles. */
  prefetch?: Promise<MaterializeResult>
  /** The last exit of a runtime a reload replaced: still its last exit until the new runtime has one. */
  priorExit: ExitInfo | null = null

  constructor (
    readonly name: string,
    public type: PluginType | null,
    readonly source: string,
    readonly log: AigisLogger
  ) {}

  /** Settles once a boot-time fetch of its source (if any) is over, however it ended. */
  async prefetchDone (): Promise<void> {
    await this.prefetch?.catch(() => {})
  }
}

/**
 * Every plugin, its state machine and its lifecycle: the loading pipeline
 * (source, AIGIS.config, requirements, secrets, runtime) and start, stop,
 * restart, reload, add and remove. Emits `state` with the plugin's status on
 * every change and `removed` with its name when it is deleted. Knows nothing
 * of HTTP.
 */
export class PluginManager extends EventEmitter<{ state: [PluginStatus], removed: [name: string] }> {
  #options: PluginManagerOptions
  #plugins = new Map<string, ManagedPlugin>()
  #ready = false
  /** The process groups of running subprocess plugins, written down under `<data dir>/run`. */
  #groups: GroupRecords

  constructor (options: PluginManagerOptions) {
    super()
    this.#options = options
    this.#groups = new GroupRecords(join(options.dataDir, 'run'))
  }

  /** True once every configured plugin has been tried. */
  get ready (): boolean {
    return this.#ready
  }

  /**
   * Loads the configured plugins in order; one failing never stops the
   * others. All are listed (`stopped`) from the start, so GET /plugins shows
   * what is still to come while the first ones load.
   */
  async loadAll (declarations: PluginDeclaration[]): Promise<void> {
    const pending: ManagedPlugin[] = []
    for (const declaration of declarations) {
      if (declaration.error !== undefined) {
        // Shown in the list as failed, unless its name already belongs to another plugin.
        if (this.#plugins.has(declaration.name)) this.#options.logger.error(declaration.error)
        else this.#fail(this.#track(declaration.name, declaration.type, declaration.source), declaration.error)
        continue
      }
      pending.push(this.#track(declaration.name, declaration.type, declaration.source))
    }
    // Processes a killed server left running would hold ports and files the new ones need.
    for (const { plugin, pgid, how } of await this.#groups.endLeftovers()) {
      this.#options.logger.warn({ pgid }, `ended process group ${pgid} of plugin "${plugin}", left running by a server that did not shut down (${how === 'killed' ? 'SIGKILL' : 'SIGTERM'})`)
    }
    // Sources are fetched a few plugins ahead: a copy or a clone mostly waits
    // on the disk or the network, and these waits overlap. Everything else
    // runs one plugin at a time, in the listed order.
    // A plugin removed, replaced or started over HTTP meanwhile is skipped: boot
    // neither fetches it (the copy would be stray or redundant) nor loads it.
    const awaitsBoot = (plugin: ManagedPlugin): boolean =>
      this.#plugins.get(plugin.name) === plugin && plugin.runtime === undefined && plugin.state === 'stopped'
    const fetchAhead = (i: number): void => {
      const plugin = pending[i]
      if (plugin === undefined || !awaitsBoot(plugin)) return
      plugin.prefetch = materializeSource(plugin.name, plugin.source, this.#options.baseDir, this.#options.dataDir)
      plugin.prefetch.catch(() => {}) // reported by #load, or moot when the plugin is skipped
    }
    for (let i = 0; i < FETCH_AHEAD; i++) fetchAhead(i)
    for (const [i, plugin] of pending.entries()) {
      fetchAhead(i + FETCH_AHEAD)
      await this.#locked(plugin, async () => {
        if (awaitsBoot(plugin)) await this.#load(plugin, plugin.prefetch)
      })
      plugin.prefetch = undefined
    }
    this.#ready = true
  }

  has (name: string): boolean {
    return this.#plugins.has(name)
  }

  /** The plugin's state, or undefined when there is no such plugin. */
  stateOf (name: string): PluginState | undefined {
    return this.#plugins.get(name)?.state
  }

  status (name: string): PluginStatus {
    return this.#status(this.#get(name))
  }

  list (): PluginStatus[] {
    return [...this.#plugins.values()].map((p) => this.#status(p))
  }

  /** Adds and loads a plugin at runtime. A source that cannot be fetched is not kept. */
  async add (name: string, source: string, type?: PluginType): Promise<PluginStatus> {
    if (!isPluginName(name)) throw new InvalidPluginName(JSON.stringify(name))
    if (this.#plugins.has(name)) throw new PluginExists(name, name)
    const plugin = this.#track(name, type ?? null, source)
    const error = await this.#locked(plugin, () => this.#load(plugin))
    if (errorCode(error) === 'AIGIS_SOURCE_FAILED' && this.#plugins.get(name) === plugin) {
      this.#plugins.delete(name)
      // What the attempt left in metrics (its states) goes with it.
      this.emit('removed', name)
      throw new InvalidSource(errorMessage(error))
    }
    return this.#status(plugin)
  }

  /** Stops the plugin, forgets it and deletes its runtime folder (`<data dir>/ext/<name>`). */
  async remove (name: string): Promise<void> {
    const plugin = this.#get(name)
    await this.#locked(plugin, async () => {
      await this.#stopRuntime(plugin)
      this.#plugins.delete(name)
      await plugin.prefetchDone()
      await removeRuntimeFolder(this.#options.dataDir, name)
      plugin.log.shutdown('removed')
      this.emit('removed', name)
    })
  }

  start (name: string): Promise<PluginStatus> {
    return this.#lifecycle(name, 'start', async (plugin) => {
      await (plugin.state === 'failed' || plugin.runtime === undefined ? this.#load(plugin) : this.#startRuntime(plugin))
    })
  }

  stop (name: string): Promise<PluginStatus> {
    return this.#lifecycle(name, 'stop', (plugin) => this.#stopRuntime(plugin))
  }

  restart (name: string): Promise<PluginStatus> {
    return this.#lifecycle(name, 'restart', async (plugin) => {
      await this.#stopRuntime(plugin)
      await (plugin.runtime === undefined ? this.#load(plugin) : this.#startRuntime(plugin))
    })
  }

  /** Refreshes the source and loads the plugin anew (new code, new config). */
  reload (name: string): Promise<PluginStatus> {
    return this.#lifecycle(name, 'reload', async (plugin) => {
      await this.#stopRuntime(plugin)
      await this.#load(plugin)
    })
  }

  /** Stops every plugin (shutdown): processes, then core cleanups, all at once. */
  async stopAll (): Promise<void> {
    await Promise.allSettled([...this.#plugins.values()].map((plugin) =>
      this.#locked(plugin, () => this.#stopRuntime(plugin))))
  }

  /**
   * SIGKILLs every plugin's process group at once, without waiting: for a
   * forced exit (second signal), so no plugin outlives the server.
   */
  killAll (): void {
    for (const plugin of this.#plugins.values()) plugin.runtime?.kill?.()
  }

  /** The largest STOP_TIMEOUT of the plugins, in ms: what stopping them all may take at most (besides cleanups). */
  maxStopTimeoutMs (): number {
    let max = 0
    for (const plugin of this.#plugins.values()) max = Math.max(max, plugin.config?.stopTimeoutMs ?? 0)
    return max
  }

  #get (name: string): ManagedPlugin {
    const plugin = this.#plugins.get(name)
    if (plugin === undefined) throw Object.assign(new PluginNotFound(name), { plugin: name })
    return plugin
  }

  #track (name: string, type: PluginType | null, source: string): ManagedPlugin {
    const plugin = new ManagedPlugin(name, type, source, this.#options.pluginLogger(name))
    this.#plugins.set(name, plugin)
    return plugin
  }

  async #lifecycle (name: string, action: Action, work: (plugin: ManagedPlugin) => Promise<unknown>): Promise<PluginStatus> {
    const plugin = this.#get(name)
    await this.#locked(plugin, async () => {
      if (!ALLOWED[action].has(plugin.state)) {
        throw Object.assign(new InvalidTransition(action, name, plugin.state), { plugin: name })
      }
      await work(plugin)
    })
    return this.#status(plugin)
  }

  #locked<T> (plugin: ManagedPlugin, work: () => Promise<T>): Promise<T> {
    const run = plugin.queue.then(work)
    plugin.queue = run.catch(() => {})
    return run
  }

  /**
   * The whole pipeline: source → AIGIS.config → requirements → secrets →
   * runtime. A failure leaves the plugin `failed`; the error is also returned.
   */
  async #load (plugin: ManagedPlugin, fetched?: Promise<MaterializeResult>): Promise<unknown> {
    const { secretsDir } = this.#options
    const previous = plugin.runtime?.info().lastExit
    if (previous !== undefined && previous !== null) plugin.priorExit = previous
    plugin.runtime?.removeAllListeners()
    plugin.runtime = undefined
    this.#setState(plugin, 'starting', null)
    try {
      const { root, warnings } = await (fetched ?? this.#materialize(plugin))
      for (const warning of warnings) plugin.log.warn(warning)
      const config = await loadPluginConfig(plugin.name, root)
      if (plugin.type !== null && plugin.type !== config.type) {
        throw new PluginTypeMismatch(plugin.name, plugin.type, config.type, config.type, config.type)
      }
      plugin.type = config.type
      plugin.config = config
      await preparePlugin(plugin.name, config, secretsDir, plugin.log, (stream, line, pid) => {
        this.#options.hub.publishLine(plugin.name, stream, pid, line)
      })
      plugin.runtime = this.#createRuntime(plugin, config)
    } catch (err) {
      this.#fail(plugin, errorMessage(err))
      return err
    }
    await this.#startRuntime(plugin)
  }

  /** Copies or clones the source, once a boot-time fetch of it is done (two must never write one folder). */
  async #materialize (plugin: ManagedPlugin): Promise<MaterializeResult> {
    await plugin.prefetchDone()
    return await materializeSource(plugin.name, plugin.source, this.#options.baseDir, this.#options.dataDir)
  }

  #createRuntime (plugin: ManagedPlugin, config: PluginConfig): PluginRuntime {
    const runtime = this.#options.createRuntime({
      name: plugin.name,
      config,
      log: plugin.log,
      hub: this.#options.hub,
      skills: this.#options.skills,
      cacheDir: join(this.#options.dataDir, 'cache'),
      groups: { started: (pgid, runId) => this.#groups.started(plugin.name, pgid, runId), ended: () => this.#groups.ended(plugin.name) },
      serverUrl: this.#options.serverUrl,
      pluginToken: this.#options.pluginToken?.(plugin.name),
      backoff: this.#options.backoff
    })
    runtime.on('state', (state, error) => this.#setState(plugin, state, error))
    return runtime
  }

  async #startRuntime (plugin: ManagedPlugin): Promise<void> {
    try {
      await plugin.runtime!.start()
      plugin.log.boot(`${plugin.type} plugin started`)
    } catch (err) {
      this.#fail(plugin, errorMessage(err))
    }
  }

  async #stopRuntime (plugin: ManagedPlugin): Promise<void> {
    if (plugin.runtime === undefined || !ACTIVE.has(plugin.state)) return
    await plugin.runtime.stop()
    plugin.log.shutdown(`${plugin.type} plugin stopped`)
  }

  #fail (plugin: ManagedPlugin, error: string): void {
    plugin.log.error(error)
    this.#setState(plugin, 'failed', error)
  }

  #setState (plugin: ManagedPlugin, state: PluginState, error: string | null): void {
    plugin.state = state
    plugin.error = error
    // A plugin no longer listed (deleted, or an add that was not kept) has no state to tell.
    if (this.#plugins.get(plugin.name) === plugin) this.emit('state', this.#status(plugin))
  }

  #status (plugin: ManagedPlugin): PluginStatus {
    const info = plugin.runtime?.info() ?? IDLE_RUNTIME
    return {
      name: plugin.name,
      type: plugin.type,
      source: plugin.source,
      state: plugin.state,
      error: plugin.error,
      skills: this.#options.skills.ofPlugin(plugin.name).map((s) => s.id),
      ...info,
      lastExit: info.lastExit ?? plugin.priorExit
    }
  }
}

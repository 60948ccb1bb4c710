import { EventEmitter } from 'node:events'
import { realpath } from 'node:fs/promises'
import { join } from 'node:path'
import { loadPluginConfig, type PluginConfig } from '../config/plugin-config.js'
import { isPluginName, type PluginType } from '../config/names.js'
import type { PluginDeclaration } from '../config/main-config.js'
import { errorCode, errorMessage, InvalidPluginName, InvalidSource, InvalidTransition, LoadTimeout, PluginExists, PluginNotFound } from '../errors.js'
import { findCoreFile } from '../core/loader.js'
import type { LogHub } from '../log/hub.js'
import type { AigisLogger } from '../log/logger.js'
import type { SkillRegistry } from '../skills/registry.js'
import type { BackoffOptions } from '../supervisor/backoff.js'
import { signalRun, within, type Run } from '../supervisor/kill-group.js'
import { bounded, DEFAULT_REQUIREMENT_TIMEOUT_S, DEFAULT_START_TIMEOUT_S, LoadAborted, seconds } from './load-steps.js'
import { preparePlugin } from './prepare.js'
import { ownerOfStack } from './stack-owner.js'
import type { PluginRuntime, RuntimeContext } from './runtime.js'
import { inSourceTerms, materializeSource, redactSource, removeRuntimeFolder, type MaterializeResult } from './source.js'
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
  /** Milliseconds a load step may take before the plugin fails (see load-steps.ts). */
  loadTimeouts?: { requirementCommandMs?: number, startMs?: number }
  /** Milliseconds a core module's `cleanup` may take on stop (default 10 s). */
  cleanupTimeoutMs?: number
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
/** How long a shutdown waits for runtimes whose start was given up to settle, so that what they spawn late is stopped. */
const ABANDONED_WAIT_MS = 1000

/** A fetch of a plugin's source under way. */
interface Fetch {
  done: Promise<MaterializeResult>
  abort: AbortController
}

class ManagedPlugin {
  state: PluginState = 'stopped'
  error: string | null = null
  config?: PluginConfig
  runtime?: PluginRuntime
  /** Serializes lifecycle operations on this plugin. */
  queue: Promise<unknown> = Promise.resolve()
  /** The latest fetch of its source (at boot, ahead of its turn); nothing else may write its folder before it settles. */
  fetch?: Fetch
  /** Aborts the load or start under way, if any. */
  loading?: AbortController
  /** The process group and run id of its REQUIREMENT_COMMAND while it runs. */
  commandRun?: Required<Run>
  /** The last exit of a runtime a reload replaced: still its last exit until the new runtime has one. */
  priorExit: ExitInfo | null = null
  /** Why its config entry can never be loaded (a bad or reserved name, a name listed twice): every load fails with it. */
  unloadable?: string

  constructor (
    readonly name: string,
    public type: PluginType | null,
    readonly source: string,
    readonly log: AigisLogger
  ) {}

  /** Settles once the latest fetch of its source (if any) is over, however it ended. */
  async fetchDone (): Promise<void> {
    await this.fetch?.done.catch(() => {})
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
  /** Set once shutdown began: loads under way are aborted and none begins. */
  #closing = false
  /** Runtimes whose start was given up (timed out or aborted): their skills are never registered. */
  #abandoned = new WeakSet<PluginRuntime>()
  /** Those whose start may still settle, each stopped once it does. */
  #abandonedStops = new Set<Promise<void>>()
  #requirementTimeoutMs: number
  #startTimeoutMs: number
  /** The process groups of running subprocess plugins, written down under `<data dir>/run`. */
  #groups: GroupRecords
  /** The plugin each folder holds, of every plugin loaded since start (a deleted plugin's timers may still run its code): its path and its real path, from which Node loads native modules. */
  #folders = new Map<string, string>()

  constructor (options: PluginManagerOptions) {
    super()
    this.#options = options
    this.#requirementTimeoutMs = options.loadTimeouts?.requirementCommandMs ?? DEFAULT_REQUIREMENT_TIMEOUT_S * 1000
    this.#startTimeoutMs = options.loadTimeouts?.startMs ?? DEFAULT_START_TIMEOUT_S * 1000
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
        if (this.#plugins.has(declaration.name)) {
          this.#options.logger.error(declaration.error)
        } else {
          const plugin = this.#track(declaration.name, declaration.type, declaration.source)
          plugin.unloadable = declaration.error
          this.#fail(plugin, declaration.error)
        }
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
    // Once shutdown began, nothing more is fetched or loaded.
    const awaitsBoot = (plugin: ManagedPlugin): boolean =>
      !this.#closing && this.#plugins.get(plugin.name) === plugin && plugin.runtime === undefined && plugin.state === 'stopped'
    const prefetched = new Map<ManagedPlugin, Promise<MaterializeResult>>()
    const fetchAhead = (i: number): void => {
      const plugin = pending[i]
      if (plugin === undefined || !awaitsBoot(plugin)) return
      prefetched.set(plugin, this.#fetch(plugin))
    }
    for (let i = 0; i < FETCH_AHEAD; i++) fetchAhead(i)
    for (const [i, plugin] of pending.entries()) {
      fetchAhead(i + FETCH_AHEAD)
      await this.#locked(plugin, async () => {
        if (awaitsBoot(plugin)) await this.#load(plugin, prefetched.get(plugin))
      })
      prefetched.delete(plugin)
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

  /**
   * The plugin whose code threw `err` (the top of its stack is in the
   * plugin's folder; see stack-owner.ts), with its logger; undefined when it
   * is the server's code, or the error has no stack to tell.
   */
  faultOwner (err: unknown): { name: string, log: AigisLogger } | undefined {
    const stack = (err as { stack?: unknown } | null)?.stack
    const name = typeof stack === 'string' ? ownerOfStack(stack, this.#folders) : undefined
    if (name === undefined) return undefined
    return { name, log: this.#plugins.get(name)?.log ?? this.#options.pluginLogger(name) }
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

  /** Stops the plugin (aborting its load, if it is loading), forgets it and deletes its runtime folder (`<data dir>/ext/<name>`). */
  async remove (name: string): Promise<void> {
    const plugin = this.#get(name)
    this.#interrupt(plugin, 'the plugin was deleted', true)
    await this.#locked(plugin, async () => {
      this.#stillListed(plugin)
      await this.#stopRuntime(plugin)
      await plugin.fetchDone()
      // One that could never load has no folder, and its name may not make a path.
      if (plugin.unloadable === undefined) await removeRuntimeFolder(this.#options.dataDir, name)
      // The name is free only once its folder is gone: a POST /plugins of it meanwhile (a 409 now) copied into the folder being deleted.
      this.#plugins.delete(name)
      plugin.log.shutdown('removed')
      this.emit('removed', name)
    })
  }

  async start (name: string): Promise<PluginStatus> {
    // A plugin that is loading is starting already: said at once, not once its load is over.
    const plugin = this.#get(name)
    if (plugin.loading !== undefined) throw Object.assign(new InvalidTransition('start', name, plugin.state), { plugin: name })
    return await this.#lifecycle(name, 'start', async (plugin) => {
      await (plugin.state === 'failed' || plugin.runtime === undefined ? this.#load(plugin) : this.#startRuntime(plugin))
    })
  }

  /** Stops the plugin; one that is loading has its load aborted (its REQUIREMENT_COMMAND ended) and ends `stopped`. */
  async stop (name: string): Promise<PluginStatus> {
    const interrupted = this.#interrupt(this.#get(name), 'a stop was asked for')
    return await this.#lifecycle(name, 'stop', (plugin) => this.#stopRuntime(plugin), interrupted)
  }

  async restart (name: string): Promise<PluginStatus> {
    this.#interrupt(this.#get(name), 'a restart was asked for')
    return await this.#lifecycle(name, 'restart', async (plugin) => {
      await this.#stopRuntime(plugin)
      await (plugin.runtime === undefined ? this.#load(plugin) : this.#startRuntime(plugin))
    })
  }

  /** Refreshes the source and loads the plugin anew (new code, new config); a load under way is aborted first. */
  async reload (name: string): Promise<PluginStatus> {
    this.#interrupt(this.#get(name), 'a reload was asked for')
    return await this.#lifecycle(name, 'reload', async (plugin) => {
      await this.#stopRuntime(plugin)
      await this.#load(plugin)
    })
  }

  /**
   * Shutdown begins: every load under way is aborted (a REQUIREMENT_COMMAND
   * ended with its group, a fetch stopped, a start given up) and none
   * begins from now on, so nothing starts only to be stopped.
   */
  beginShutdown (): void {
    this.#closing = true
    for (const plugin of this.#plugins.values()) this.#interrupt(plugin, 'the server is shutting down', true)
  }

  /** Stops every plugin (shutdown): loads aborted, then processes and core cleanups, all at once. */
  async stopAll (): Promise<void> {
    this.beginShutdown()
    await Promise.allSettled([...this.#plugins.values()].map((plugin) =>
      this.#locked(plugin, () => this.#stopRuntime(plugin))))
    // A start given up just as it spawned is stopped once it settles; one that never settles (a hung import) is not waited for.
    await within(Promise.allSettled(this.#abandonedStops), ABANDONED_WAIT_MS)
  }

  /**
   * SIGKILLs every plugin's process group at once, without waiting: for a
   * forced exit (second signal), so no plugin outlives the server.
   */
  killAll (): void {
    for (const plugin of this.#plugins.values()) {
      plugin.runtime?.kill?.()
      if (plugin.commandRun !== undefined) signalRun(plugin.commandRun, 'SIGKILL')
    }
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

  /**
   * Throws PluginNotFound unless `plugin` is still the one listed under its
   * name: a request queued behind a DELETE finds nothing to act on (a start
   * would load a plugin nobody lists, a second DELETE delete nothing).
   */
  #stillListed (plugin: ManagedPlugin): void {
    if (this.#plugins.get(plugin.name) !== plugin) throw Object.assign(new PluginNotFound(plugin.name), { plugin: plugin.name })
  }

  #track (name: string, type: PluginType | null, source: string): ManagedPlugin {
    const plugin = new ManagedPlugin(name, type, source, this.#options.pluginLogger(name))
    this.#plugins.set(name, plugin)
    return plugin
  }

  /** `interrupted`: this request aborted the plugin's load, so finding it `stopped` is what it asked for. */
  async #lifecycle (name: string, action: Action, work: (plugin: ManagedPlugin) => Promise<unknown>, interrupted = false): Promise<PluginStatus> {
    const plugin = this.#get(name)
    await this.#locked(plugin, async () => {
      this.#stillListed(plugin)
      if (interrupted && plugin.state === 'stopped') return
      if (!ALLOWED[action].has(plugin.state)) {
        throw Object.assign(new InvalidTransition(action, name, plugin.state), { plugin: name })
      }
      await work(plugin)
    })
    return this.#status(plugin)
  }

  /**
   * Aborts the plugin's load or start under way, with its source fetch;
   * `always` also a fetch ahead of its turn at boot (delete, shutdown). True
   * when there was a load to abort.
   */
  #interrupt (plugin: ManagedPlugin, why: string, always = false): boolean {
    const reason = new LoadAborted(why)
    const loading = plugin.loading
    const wasLoading = loading !== undefined && !loading.signal.aborted
    if (wasLoading || always) plugin.fetch?.abort.abort(reason)
    loading?.abort(reason)
    return wasLoading
  }

  #locked<T> (plugin: ManagedPlugin, work: () => Promise<T>): Promise<T> {
    const run = plugin.queue.then(work)
    plugin.queue = run.catch(() => {})
    return run
  }

  /**
   * The whole pipeline: source → AIGIS.config → requirements → secrets →
   * runtime. A failure leaves the plugin `failed`, an abort (stop, reload,
   * delete, shutdown) `stopped`; either is also returned.
   */
  async #load (plugin: ManagedPlugin, fetched?: Promise<MaterializeResult>): Promise<unknown> {
    if (plugin.unloadable !== undefined) {
      // A start, restart or reload of it fails as its boot did: only a fixed config (and a restart of the server) changes that.
      this.#fail(plugin, plugin.unloadable)
      return new Error(plugin.unloadable)
    }
    const previous = plugin.runtime?.info().lastExit
    if (previous !== undefined && previous !== null) plugin.priorExit = previous
    plugin.runtime?.removeAllListeners()
    plugin.runtime = undefined
    return await this.#abortably(plugin, async (signal) => {
      // The source has a time limit of its own (git's); a copy is bounded by the disk.
      const { root, warnings } = await bounded(fetched ?? this.#fetch(plugin), signal)
      for (const warning of warnings) plugin.log.warn(warning)
      // The section (or the type POST /plugins gave) is checked first: a mismatch explains the rest.
      const config = await loadPluginConfig(plugin.name, root, plugin.type)
      this.#folders.set(config.root, plugin.name)
      this.#folders.set(await realpath(config.root), plugin.name)
      for (const warning of config.warnings) plugin.log.warn(warning)
      plugin.type = config.type
      plugin.config = config
      signal.throwIfAborted()
      await preparePlugin(plugin.name, config, {
        secretsDir: this.#options.secretsDir,
        log: plugin.log,
        output: (stream, line, pid) => { this.#options.hub.publishLine(plugin.name, stream, pid, line) },
        signal,
        requirementTimeoutMs: this.#requirementTimeoutMs,
        group: (run) => {
          plugin.commandRun = run
          // Written down like a plugin's own process, which never runs at the same time: a server killed mid-install leaves none behind.
          if (run !== undefined) this.#groups.started(plugin.name, run.pgid, run.runId)
          else this.#groups.ended(plugin.name)
        }
      })
      signal.throwIfAborted()
      plugin.runtime = this.#createRuntime(plugin, config)
      await this.#run(plugin, signal)
    })
  }

  /** Starts the plugin's runtime again (a stopped plugin's start, a restart), abortable and bounded like a load. */
  async #startRuntime (plugin: ManagedPlugin): Promise<void> {
    await this.#abortably(plugin, (signal) => this.#run(plugin, signal))
  }

  /**
   * Runs `work` with an AbortSignal a stop, reload, delete or the shutdown
   * aborts. An abort leaves the plugin `stopped`, any other error `failed`;
   * the error is returned.
   */
  async #abortably (plugin: ManagedPlugin, work: (signal: AbortSignal) => Promise<void>): Promise<unknown> {
    const loading = new AbortController()
    plugin.loading = loading
    if (this.#closing) loading.abort(new LoadAborted('the server is shutting down'))
    this.#setState(plugin, 'starting', null)
    try {
      await work(loading.signal)
      return undefined
    } catch (err) {
      // Aborted: whatever the step threw on its way out (git's AbortError), the plugin was stopped, not failed.
      if (loading.signal.aborted) {
        plugin.log.info(errorMessage(loading.signal.reason))
        this.#setState(plugin, 'stopped', null)
      } else {
        this.#fail(plugin, errorMessage(err))
      }
      return err
    } finally {
      if (plugin.loading === loading) plugin.loading = undefined
      plugin.commandRun = undefined
    }
  }

  /**
   * Starts the runtime within the start time limit. A start that times out
   * or is aborted is given up: a module's import cannot be cancelled, so it
   * goes on in the background, its skills are never registered, and it is
   * stopped should it ever finish.
   */
  async #run (plugin: ManagedPlugin, signal: AbortSignal): Promise<void> {
    signal.throwIfAborted()
    const runtime = plugin.runtime!
    const started = runtime.start()
    try {
      await bounded(started, signal, { ms: this.#startTimeoutMs, error: () => this.#startTimeout(plugin) })
    } catch (err) {
      if (err instanceof LoadAborted || errorCode(err) === 'AIGIS_LOAD_TIMEOUT') this.#abandon(plugin, runtime, started)
      throw err
    }
    plugin.log.boot(`${plugin.type} plugin started`)
  }

  #startTimeout (plugin: ManagedPlugin): Error {
    const config = plugin.config!
    const core = findCoreFile(config.root)?.slice(config.root.length + 1)
    const step = core === undefined
      ? 'its start (spawning LAUNCH)'
      : `its start (importing ${core}${config.type === 'core' ? '' : ', then spawning LAUNCH'})`
    const hint = core === undefined
      ? 'reload the plugin to try again'
      : `a top-level await in ${core} or in a module it imports never settled (a connection, a lock, a promise nothing resolves). ` +
        'A module cannot be cancelled: what it waits for stays in the server until it restarts, and its skills are not registered even should it finish. ' +
        'Fix the module, then reload the plugin'
    return new LoadTimeout(plugin.name, step, seconds(this.#startTimeoutMs), hint)
  }

  /** Forgets a runtime whose start was given up; should the start still succeed, the runtime is stopped. */
  #abandon (plugin: ManagedPlugin, runtime: PluginRuntime, started: Promise<void>): void {
    this.#abandoned.add(runtime)
    plugin.priorExit = runtime.info().lastExit ?? plugin.priorExit
    runtime.removeAllListeners()
    if (plugin.runtime === runtime) plugin.runtime = undefined
    const stopped: Promise<void> = started.then(async () => {
      plugin.log.warn('a start that was given up finished after all; stopping what it started')
      await runtime.stop()
    }, () => {}).catch((err) => {
      plugin.log.error({ err }, `stopping a start that was given up failed: ${errorMessage(err)}`)
    }).finally(() => this.#abandonedStops.delete(stopped))
    this.#abandonedStops.add(stopped)
  }

  /**
   * Copies or clones the source, once an earlier fetch of it is done (two
   * must never write one folder). A stop, delete or the shutdown aborts it.
   */
  #fetch (plugin: ManagedPlugin): Promise<MaterializeResult> {
    const earlier = plugin.fetch
    const abort = new AbortController()
    if (this.#closing) abort.abort(new LoadAborted('the server is shutting down'))
    const done = (async () => {
      await earlier?.done.catch(() => {})
      abort.signal.throwIfAborted()
      return await materializeSource(plugin.name, plugin.source, this.#options.baseDir, this.#options.dataDir, abort.signal)
    })()
    done.catch(() => {}) // reported by #load, or moot when the plugin is skipped
    plugin.fetch = { done, abort }
    return done
  }

  #createRuntime (plugin: ManagedPlugin, config: PluginConfig): PluginRuntime {
    // Skills a runtime registers once its start was given up would overwrite those of the plugin's next load.
    const skills = gatedRegistry(this.#options.skills, () => !this.#abandoned.has(runtime))
    const runtime: PluginRuntime = this.#options.createRuntime({
      name: plugin.name,
      config,
      log: plugin.log,
      hub: this.#options.hub,
      skills,
      cacheDir: join(this.#options.dataDir, 'cache'),
      groups: { started: (pgid, runId) => this.#groups.started(plugin.name, pgid, runId), ended: () => this.#groups.ended(plugin.name) },
      serverUrl: this.#options.serverUrl,
      pluginToken: this.#options.pluginToken?.(plugin.name),
      backoff: this.#options.backoff,
      cleanupTimeoutMs: this.#options.cleanupTimeoutMs
    })
    runtime.on('state', (state, error) => this.#setState(plugin, state, error))
    return runtime
  }

  async #stopRuntime (plugin: ManagedPlugin): Promise<void> {
    if (plugin.runtime === undefined || !ACTIVE.has(plugin.state)) return
    await plugin.runtime.stop()
    plugin.log.shutdown(`${plugin.type} plugin stopped`)
  }

  #fail (plugin: ManagedPlugin, failure: string): void {
    const error = inSourceTerms(failure, plugin.name, plugin.source, this.#options.baseDir, this.#options.dataDir)
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
      source: redactSource(plugin.source),
      state: plugin.state,
      error: plugin.error,
      skills: this.#options.skills.ofPlugin(plugin.name).map((s) => s.id),
      ...info,
      lastExit: info.lastExit ?? plugin.priorExit
    }
  }
}

/** The registry, but `set` and `delete` do nothing once `live()` is false. */
function gatedRegistry (registry: SkillRegistry, live: () => boolean): SkillRegistry {
  return new Proxy(registry, {
    get (target, key) {
      if (key === 'set' || key === 'delete') {
        return (...args: Parameters<SkillRegistry['set']>) => { if (live()) (target[key] as (...a: unknown[]) => void)(...args) }
      }
      const value: unknown = Reflect.get(target, key, target)
      return typeof value === 'function' ? value.bind(target) : value
    }
  })
}

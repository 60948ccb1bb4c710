import { EventEmitter } from 'node:events'
import type { CoreSkills } from '../core/core-skills.js'
import { errorMessage, SpawnFailed } from '../errors.js'
import type { PluginRuntime, RuntimeContext, RuntimeEvents } from '../plugins/runtime.js'
import type { ExitInfo, PluginState, RuntimeInfo } from '../plugins/status.js'
import { Backoff } from './backoff.js'
import { Child, type ProcessSpec } from './child.js'
import { describeExit, describeExitWithOutput, formatSeconds, isCleanExit } from './exit-info.js'
import { runAlive, signalRun, terminateRun, type Run } from './kill-group.js'

export interface ProcessRuntimeOptions {
  /** What to run; asked at every spawn (the server's address is known only then). */
  spec: () => ProcessSpec
  /** Skills from the plugin's AIGIS.core, registered while it runs (hybrid internal plugins). */
  skills?: CoreSkills
}

/**
 * A supervised subprocess (internal and external plugins). It spawns the
 * program as its own process group, puts every line it prints into the
 * central log, restarts it after unexpected exits as `RESTART` allows (with
 * exponential backoff) and stops the whole run, its process group and what
 * left the group (see run-id.ts): SIGTERM, then SIGKILL after
 * `STOP_TIMEOUT`. States are reported through `state` events; the manager
 * decides which requests are allowed.
 */
export class ProcessRuntime extends EventEmitter<RuntimeEvents> implements PluginRuntime {
  #ctx: RuntimeContext
  #spec: () => ProcessSpec
  #skills?: CoreSkills
  #backoff: Backoff
  #child?: Child
  /** A restart spawning right now, which a stop waits for. */
  #spawning?: Promise<void>
  #timer?: NodeJS.Timeout
  /** Between start() and stop(): exits are unexpected and may be restarted. */
  #wanted = false
  /** Processes of a run that outlived its leader, being terminated. */
  #leftovers = new Set<Promise<unknown>>()
  #restarts = 0
  #exitCode: number | null = null
  #exitSignal: string | null = null
  #nextRestartAt: string | null = null
  #lastExit: ExitInfo | null = null

  constructor (ctx: RuntimeContext, options: ProcessRuntimeOptions) {
    super()
    this.#ctx = ctx
    this.#spec = options.spec
    this.#skills = options.skills
    this.#backoff = new Backoff(ctx.backoff)
  }

  /** Registers the hybrid skills, then spawns; rejects when the program cannot be run. */
  async start (): Promise<void> {
    this.#wanted = true
    this.#backoff.reset()
    this.#restarts = 0
    this.emit('state', 'starting', null)
    try {
      await this.#skills?.register()
      await this.#spawn()
    } catch (err) {
      this.#wanted = false
      await this.#dropSkills()
      throw err
    }
  }

  /** Cancels a pending restart and ends the whole run. */
  async stop (): Promise<void> {
    this.#wanted = false
    clearTimeout(this.#timer)
    this.#timer = undefined
    this.#nextRestartAt = null
    this.emit('state', 'stopping', null)
    await this.#spawning
    const child = this.#child
    if (child !== undefined) {
      const how = await child.terminate(this.#ctx.config.stopTimeoutMs)
      if (how === 'killed') {
        this.#ctx.log.warn(`did not end within STOP_TIMEOUT (${formatSeconds(this.#ctx.config.stopTimeoutMs / 1000)}) of SIGTERM; killed with SIGKILL`)
      }
      await child.exited
    }
    await Promise.allSettled(this.#leftovers)
    this.#ctx.groups?.ended()
    await this.#dropSkills()
    this.emit('state', 'stopped', null)
  }

  kill (): void {
    this.#wanted = false
    clearTimeout(this.#timer)
    if (this.#child !== undefined) signalRun(this.#child.run, 'SIGKILL')
  }

  info (): RuntimeInfo {
    return {
      pid: this.#child?.pid ?? null,
      restarts: this.#restarts,
      startedAt: this.#child !== undefined ? new Date(this.#child.startedAt).toISOString() : null,
      exitCode: this.#exitCode,
      exitSignal: this.#exitSignal,
      nextRestartAt: this.#nextRestartAt,
      lastExit: this.#lastExit
    }
  }

  async #spawn (): Promise<void> {
    const { name, hub } = this.#ctx
    let child: Child
    try {
      child = await Child.spawn(this.#spec(), {
        line: (stream, line, pid) => { hub.publishLine(name, stream, pid, line) },
        lines: (stream, bytes, start, end, pid) => { hub.publishLines(name, stream, pid, bytes, start, end) }
      })
    } catch (err) {
      throw new SpawnFailed(name, errorMessage(err))
    }
    this.#child = child
    this.#ctx.groups?.started(child.pid, child.run.runId)
    this.#exitCode = null
    this.#exitSignal = null
    child.exited.then((exit) => this.#onExit(child, exit), (err) => this.#ctx.log.error({ err }, 'watching the process failed'))
    // A stop that came while spawning ends it; it never counts as running.
    if (this.#wanted) this.emit('state', 'running', null)
  }

  #onExit (child: Child, exit: ExitInfo): void {
    if (this.#child === child) this.#child = undefined
    this.#lastExit = exit
    this.#exitCode = exit.code
    this.#exitSignal = exit.signal
    const log = this.#ctx.log
    if (child.stopRequested || !this.#wanted) {
      log.info({ exit }, `process ${child.pid} stopped: ${describeExit(exit)}`)
      return
    }
    this.#endLeftovers(child.run)

    const budget = this.#ctx.config.restart
    this.#backoff.settle(exit.uptime * 1000)
    if (budget === -1 || this.#backoff.failures < budget) {
      const delay = this.#backoff.next()
      this.#restarts++
      this.#nextRestartAt = new Date(Date.now() + delay).toISOString()
      const of = budget === -1 ? '' : ` of ${budget}`
      log.warn({ exit }, `process ${child.pid} ${describeExitWithOutput(exit)}; restart ${this.#backoff.failures}${of} in ${formatSeconds(delay / 1000)}`)
      this.emit('state', 'backoff', null)
      this.#timer = setTimeout(() => { void this.#restart() }, delay)
      return
    }

    // Nothing left to do: exited (ended on its own) or fatal (restarts used up on failures).
    this.#wanted = false
    // Crossed out once what the leader left behind is gone too, unless a new start wrote its own group meanwhile.
    void Promise.allSettled(this.#leftovers).then(() => { if (this.#child === undefined) this.#ctx.groups?.ended() })
    const fatal = budget > 0 && !isCleanExit(exit)
    const state: PluginState = fatal ? 'fatal' : 'exited'
    const error = fatal
      ? `gave up after ${budget} restart${budget === 1 ? '' : 's'} in a row (RESTART = ${budget}; ${this.#restarts} since it was started): ${describeExitWithOutput(exit)}`
      : isCleanExit(exit) ? null : describeExitWithOutput(exit)
    log[isCleanExit(exit) ? 'warn' : 'error']({ exit }, `process ${child.pid} ${describeExitWithOutput(exit)}; ${fatal ? 'restarts exhausted (RESTART)' : 'not restarted (RESTART)'}`)
    void this.#dropSkills()
    this.emit('state', state, error)
  }

  async #restart (): Promise<void> {
    this.#timer = undefined
    this.#nextRestartAt = null
    if (!this.#wanted) return
    this.emit('state', 'starting', null)
    this.#spawning = this.#spawn().catch((err) => {
      if (!this.#wanted) return
      this.#wanted = false
      this.#ctx.log.error(errorMessage(err))
      void this.#dropSkills()
      this.emit('state', 'failed', errorMessage(err))
    })
    await this.#spawning
    this.#spawning = undefined
  }

  /** Whatever the leader left running (in its group or out of it) after it ended gets the stop treatment. */
  #endLeftovers (run: Run): void {
    if (!runAlive(run)) return
    const ending = terminateRun(run, this.#ctx.config.stopTimeoutMs).finally(() => this.#leftovers.delete(ending))
    this.#leftovers.add(ending)
  }

  async #dropSkills (): Promise<void> {
    try {
      await this.#skills?.unregister()
    } catch (err) {
      this.#ctx.log.error({ err }, `cleanup failed: ${errorMessage(err)}`)
    }
  }
}

import { EventEmitter } from 'node:events'
import type { PluginRuntime, RuntimeContext, RuntimeEvents } from '../plugins/runtime.js'
import { IDLE_RUNTIME, type RuntimeInfo } from '../plugins/status.js'
import { CoreSkills } from './core-skills.js'

/** A core plugin: running means its skills are registered. No process of its own. */
export class CoreRuntime extends EventEmitter<RuntimeEvents> implements PluginRuntime {
  #skills: CoreSkills
  #log: RuntimeContext['log']
  #startedAt: string | null = null

  constructor (ctx: RuntimeContext) {
    super()
    this.#skills = new CoreSkills(ctx)
    this.#log = ctx.log
  }

  async start (): Promise<void> {
    this.emit('state', 'starting', null)
    await this.#skills.register()
    this.#startedAt = new Date().toISOString()
    this.emit('state', 'running', null)
  }

  async stop (): Promise<void> {
    this.emit('state', 'stopping', null)
    try {
      await this.#skills.unregister()
    } catch (err) {
      this.#log.error({ err }, `cleanup failed: ${(err as Error).message}`)
    }
    this.#startedAt = null
    this.emit('state', 'stopped', null)
  }

  info (): RuntimeInfo {
    return { ...IDLE_RUNTIME, startedAt: this.#startedAt }
  }
}

import { seconds } from '../plugins/load-steps.js'
import type { RuntimeContext } from '../plugins/runtime.js'
import type { Skill, SkillRegistry } from '../skills/registry.js'
import { within } from '../supervisor/kill-group.js'
import { findCoreFile, importCoreModule } from './loader.js'

/** Milliseconds a module's `cleanup` may take before its plugin is stopped without it (default). */
export const DEFAULT_CLEANUP_TIMEOUT_MS = 10_000

/**
 * The skills a plugin's AIGIS.core contributes. Used by core plugins, and by
 * internal plugins that also ship an AIGIS.core (hybrids).
 */
export class CoreSkills {
  #plugin: string
  #config: RuntimeContext['config']
  #cacheDir: string
  #registry: SkillRegistry
  #log: RuntimeContext['log']
  #cleanup: (() => unknown) | undefined
  #cleanupTimeoutMs: number

  constructor (ctx: RuntimeContext) {
    this.#plugin = ctx.name
    this.#config = ctx.config
    this.#cacheDir = ctx.cacheDir
    this.#registry = ctx.skills
    this.#log = ctx.log
    this.#cleanupTimeoutMs = ctx.cleanupTimeoutMs ?? DEFAULT_CLEANUP_TIMEOUT_MS
  }

  static present (root: string): boolean {
    return findCoreFile(root) !== undefined
  }

  /** Imports the module afresh and makes its skills callable. */
  async register (): Promise<void> {
    const module = await importCoreModule(this.#plugin, this.#config.root, this.#config.entrypoint, this.#cacheDir)
    for (const warning of module.warnings) this.#log.warn(warning)
    const skills: Skill[] = module.skills.map((def) => ({
      id: `${this.#plugin}.${def.name}`,
      plugin: this.#plugin,
      name: def.name,
      kind: def.kind,
      description: def.schema.description ?? def.schema.summary,
      schema: def.schema,
      path: `/skills/${this.#plugin}/${def.name}`,
      target: def.target
    }))
    this.#cleanup = module.cleanup
    this.#registry.set(this.#plugin, skills)
  }

  /**
   * Removes the skills, then runs the module's `cleanup` once; rejects with
   * its error. A cleanup that has not settled within the time limit is
   * logged and left behind: a stop (and the shutdown) must not wait for it
   * for good, nor every later lifecycle request of the plugin behind it.
   */
  async unregister (): Promise<void> {
    this.#registry.delete(this.#plugin)
    const cleanup = this.#cleanup
    this.#cleanup = undefined
    if (cleanup === undefined) return
    const done = Promise.resolve().then(cleanup)
    if (await within(done, this.#cleanupTimeoutMs)) {
      await done
      return
    }
    done.catch(() => {})
    this.#log.error(`cleanup() did not finish within ${seconds(this.#cleanupTimeoutMs)} s; the plugin is stopped without it, and what it was to release may stay held until the server restarts. Make cleanup finish (bound what it waits for)`)
  }
}

import type { RuntimeContext } from '../plugins/runtime.js'
import type { Skill, SkillRegistry } from '../skills/registry.js'
import { findCoreFile, importCoreModule } from './loader.js'

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

  constructor (ctx: RuntimeContext) {
    this.#plugin = ctx.name
    this.#config = ctx.config
    this.#cacheDir = ctx.cacheDir
    this.#registry = ctx.skills
    this.#log = ctx.log
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

  /** Removes the skills, then runs the module's `cleanup` once. */
  async unregister (): Promise<void> {
    this.#registry.delete(this.#plugin)
    const cleanup = this.#cleanup
    this.#cleanup = undefined
    await cleanup?.()
  }
}

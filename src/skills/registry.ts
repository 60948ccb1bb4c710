import { EventEmitter } from 'node:events'

export type SkillKind = 'function' | 'value'

/** The one HTTP route that serves every skill's `path`. */
export const SKILL_ROUTE = '/skills/:plugin/*'

/** A skill's optional schema entry from the module's `SCHEMAS` export. */
export interface SkillSchema {
  summary?: string
  description?: string
  body?: Record<string, unknown>
  response?: Record<string, unknown>
}

/** The keys a `SCHEMAS` entry may have; anything else is a typo (warned about at load). */
export const SKILL_SCHEMA_KEYS = Object.keys({ body: 1, response: 1, description: 1, summary: 1 } satisfies Record<keyof SkillSchema, 1>)

export interface Skill {
  /** `<plugin>.<dotted path>` */
  id: string
  plugin: string
  /** The dotted path inside the plugin's module. */
  name: string
  kind: SkillKind
  description?: string
  schema: SkillSchema
  /** The HTTP path it is served at. */
  path: string
  /** The function (called as fn(input, ctx)) or the constant value. */
  target: unknown
}

/**
 * The skills currently callable, by plugin. A plugin's skills are replaced
 * as a whole (start, reload) or removed as a whole (stop, delete); each change
 * bumps `version` and emits `change` so the OpenAPI document can follow, and
 * a removal emits `removed` first.
 */
export class SkillRegistry extends EventEmitter<{ change: [], removed: [plugin: string] }> {
  #byPlugin = new Map<string, Map<string, Skill>>()
  #version = 0

  get version (): number {
    return this.#version
  }

  set (plugin: string, skills: Skill[]): void {
    this.#byPlugin.set(plugin, new Map(skills.map((s) => [s.name, s])))
    this.#changed()
  }

  /** Removes a plugin's skills; `removed` tells who has calls of them in flight. */
  delete (plugin: string): void {
    if (!this.#byPlugin.delete(plugin)) return
    this.emit('removed', plugin)
    this.#changed()
  }

  get (plugin: string, name: string): Skill | undefined {
    return this.#byPlugin.get(plugin)?.get(name)
  }

  ofPlugin (plugin: string): Skill[] {
    return [...(this.#byPlugin.get(plugin)?.values() ?? [])]
  }

  list (): Skill[] {
    return [...this.#byPlugin.values()].flatMap((skills) => [...skills.values()])
  }

  #changed (): void {
    this.#version++
    this.emit('change')
  }
}

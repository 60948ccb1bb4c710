import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { importPluginModule } from '../plugin-import.js'
import { CoreModuleFailed, CoreModuleMissing, SkillsInvalid } from '../errors.js'
import type { SkillKind, SkillSchema } from '../skills/registry.js'

const CORE_FILES = ['AIGIS.core.ts', 'AIGIS.core.mts', 'AIGIS.core.js', 'AIGIS.core.mjs']

/** A skill as found in a core module, before it is registered. */
export interface SkillDefinition {
  name: string
  kind: SkillKind
  target: unknown
  schema: SkillSchema
}

export interface CoreModule {
  file: string
  skills: SkillDefinition[]
  cleanup?: () => unknown
}

/** The plugin's core injector file, if it has one. */
export function findCoreFile (root: string): string | undefined {
  return CORE_FILES.map((f) => join(root, 'AIGIS', f)).find((f) => existsSync(f))
}

/**
 * Imports a plugin's AIGIS.core afresh (see importPluginModule) and reads its
 * skills. Transpiled sources are cached in `cacheDir`, keyed by their content.
 */
export async function importCoreModule (plugin: string, root: string, entrypoint: string, cacheDir: string): Promise<CoreModule> {
  const file = findCoreFile(root)
  if (file === undefined) throw new CoreModuleMissing(plugin, join(root, 'AIGIS'))
  let exports: Record<string, unknown>
  try {
    exports = await importPluginModule(file, entrypoint, cacheDir)
  } catch (err) {
    throw new CoreModuleFailed(plugin, file, err instanceof Error ? err.message : String(err))
  }
  const cleanup = exports.cleanup
  return {
    file,
    skills: readSkills(plugin, exports),
    cleanup: typeof cleanup === 'function' ? cleanup as () => unknown : undefined
  }
}

/** Follows every name in `SKILLS` into the module's exports. */
export function readSkills (plugin: string, exports: Record<string, unknown>): SkillDefinition[] {
  const list = exports.SKILLS
  if (!Array.isArray(list) || !list.every((s) => typeof s === 'string' && s !== '')) {
    throw new SkillsInvalid(plugin, list === undefined
      ? 'AIGIS.core exports no SKILLS; add `export const SKILLS = ["name", ...]`'
      : 'SKILLS must be an array of non-empty strings (dotted paths into the module\'s exports)')
  }
  const schemas = (exports.SCHEMAS ?? {}) as Record<string, SkillSchema | undefined>
  return (list as string[]).map((name) => {
    const target = follow(plugin, exports, name)
    return {
      name,
      kind: typeof target === 'function' ? 'function' : 'value',
      target,
      schema: schemas[name] ?? {}
    }
  })
}

function follow (plugin: string, exports: Record<string, unknown>, name: string): unknown {
  let value: unknown = exports
  const segments = name.split('.')
  for (const [i, segment] of segments.entries()) {
    const holder = value as Record<string, unknown> | null | undefined
    if (holder === null || (typeof holder !== 'object' && typeof holder !== 'function') || !Object.hasOwn(holder, segment)) {
      const where = i === 0 ? 'the module\'s exports' : `"${segments.slice(0, i).join('.')}"`
      throw new SkillsInvalid(plugin, `SKILLS entry "${name}" cannot be followed: "${segment}" is not found in ${where}`)
    }
    value = holder[segment]
  }
  if (value === undefined) throw new SkillsInvalid(plugin, `SKILLS entry "${name}" is undefined`)
  return value
}

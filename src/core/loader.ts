import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { importPluginModule } from '../plugin-import.js'
import { CoreModuleFailed, CoreModuleMissing, SkillsInvalid } from '../errors.js'
import { closest } from '../config/names.js'
import { SKILL_SCHEMA_KEYS, type SkillKind, type SkillSchema } from '../skills/registry.js'
import { schemaProblem } from '../skills/validator.js'

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
  /** What in the module is ignored (typos in SCHEMAS): the plugin loads, and these are logged. */
  warnings: string[]
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
    ...readSkills(plugin, exports),
    cleanup: typeof cleanup === 'function' ? cleanup as () => unknown : undefined
  }
}

/**
 * Follows every name in `SKILLS` into the module's exports and picks its
 * `SCHEMAS` entry. Throws for what would break the skill or its path; warns
 * about what is ignored.
 */
export function readSkills (plugin: string, exports: Record<string, unknown>): { skills: SkillDefinition[], warnings: string[] } {
  const list = exports.SKILLS
  if (!Array.isArray(list) || !list.every((s) => typeof s === 'string' && s !== '')) {
    throw new SkillsInvalid(plugin, list === undefined
      ? 'AIGIS.core exports no SKILLS; add `export const SKILLS = ["name", ...]`'
      : 'SKILLS must be an array of non-empty strings (dotted paths into the module\'s exports)')
  }
  const listed = list as string[]
  const names = [...new Set(listed)]
  const schemas = readSchemas(plugin, exports.SCHEMAS)
  const skills = names.map((name): SkillDefinition => {
    checkName(plugin, name)
    const target = follow(plugin, exports, name)
    const schema = Object.hasOwn(schemas, name) ? checkSchema(plugin, name, schemas[name]) : {}
    return { name, kind: typeof target === 'function' ? 'function' : 'value', target, schema }
  })
  const twice = names.filter((name) => listed.indexOf(name) !== listed.lastIndexOf(name))
  const repeated = twice.map((name) => `SKILLS lists "${name}" more than once; it is one skill`)
  return { skills, warnings: [...repeated, ...ignoredSchemaKeys(schemas, names)] }
}

/*
 * A skill's name is its URL path (/skills/<plugin>/<name>) and its OpenAPI
 * path, both unescaped: each dot-separated segment holds only what a
 * JavaScript name may (letters, marks and digits of any script, "_", "$") and
 * "-". Anything else ("{" reads as a path template, "?" and "#" end the path,
 * "%" starts an escape, "/" splits it) fails the plugin.
 */
const NAME_CHAR = /^[\p{ID_Continue}$\u200C\u200D-]$/u

function checkName (plugin: string, name: string): void {
  const entry = `SKILLS entry ${JSON.stringify(name)}`
  if (name.split('.').includes('')) {
    throw new SkillsInvalid(plugin, `${entry} has an empty segment: separate the names of a path with single dots, none at either end`)
  }
  for (const char of name) {
    if (char === '.' || NAME_CHAR.test(char)) continue
    const shown = /[\p{C}\p{Z}]/u.test(char) ? `U+${char.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}` : JSON.stringify(char)
    throw new SkillsInvalid(plugin, `${entry}: ${shown} cannot be in a skill name, which is served as a URL path; use letters, digits, "_", "$" and "-", with dots between the names of a path`)
  }
}

function readSchemas (plugin: string, schemas: unknown): Record<string, unknown> {
  if (schemas === undefined) return {}
  if (typeof schemas !== 'object' || schemas === null || Array.isArray(schemas)) {
    throw new SkillsInvalid(plugin, 'SCHEMAS must be an object keyed by skill name: `export const SCHEMAS = { "math.add": { body: ... } }`')
  }
  return schemas as Record<string, unknown>
}

/** The entry, once its body and response are JSON Schemas (checked, not compiled: that waits for the first call). */
function checkSchema (plugin: string, name: string, entry: unknown): SkillSchema {
  const where = `SCHEMAS ${JSON.stringify(name)}`
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
    throw new SkillsInvalid(plugin, `${where} must be an object with ${SKILL_SCHEMA_KEYS.join(', ')}, got ${JSON.stringify(entry) ?? typeof entry}`)
  }
  const schema = entry as Record<string, unknown>
  for (const key of ['body', 'response'] as const) {
    if (schema[key] === undefined) continue
    const problem = schemaProblem(schema[key], key)
    if (problem !== undefined) throw new SkillsInvalid(plugin, `${where}.${key} is not a valid JSON Schema: ${problem}`)
  }
  for (const key of ['description', 'summary'] as const) {
    if (schema[key] !== undefined && typeof schema[key] !== 'string') {
      throw new SkillsInvalid(plugin, `${where}.${key} must be a string, got ${JSON.stringify(schema[key]) ?? typeof schema[key]}`)
    }
  }
  return schema as SkillSchema
}

/** Keywords that show a JSON Schema put where its entry should be. */
const SCHEMA_KEYWORDS = new Set(['type', 'properties', 'required', 'items', 'anyOf', 'oneOf', 'allOf', '$ref', 'enum', 'const', 'additionalProperties'])

/** A SCHEMAS key that is no skill, or an unknown key in an entry, is ignored: the skill would run unvalidated. */
function ignoredSchemaKeys (schemas: Record<string, unknown>, names: string[]): string[] {
  const warnings: string[] = []
  for (const [name, entry] of Object.entries(schemas)) {
    if (!names.includes(name)) {
      const hint = closest(name, names)
      warnings.push(`SCHEMAS has ${JSON.stringify(name)}, which is not in SKILLS${hint !== undefined ? ` (did you mean ${JSON.stringify(hint)}?)` : ''}; it is ignored`)
      continue
    }
    for (const key of Object.keys(entry as object)) {
      if (SKILL_SCHEMA_KEYS.includes(key)) continue
      const hint = closest(key, SKILL_SCHEMA_KEYS)
      warnings.push(`SCHEMAS ${JSON.stringify(name)} has an unknown key ${JSON.stringify(key)}${hint !== undefined ? ` (did you mean ${JSON.stringify(hint)}?)` : ''}; ` +
        `the known keys are ${SKILL_SCHEMA_KEYS.join(', ')}; it is ignored${SCHEMA_KEYWORDS.has(key) ? ' (a JSON Schema goes under "body" or "response")' : ''}`)
    }
  }
  return warnings
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

import { dirname, resolve } from 'node:path'
import { ConfigInvalid } from '../errors.js'
import { closest, pluginNameProblem, PLUGIN_TYPES, shown, type PluginType } from './names.js'
import { readToml } from './toml.js'

/** One `name = "source"` line of the main config. */
export interface PluginDeclaration {
  name: string
  type: PluginType
  source: string
  /** Set when this entry itself is unusable (bad name, bad value, duplicate). */
  error?: string
}

export interface MainConfig {
  file: string
  /** Folder relative local sources resolve against. */
  baseDir: string
  plugins: PluginDeclaration[]
}

const SECTIONS = '[core], [internal] or [external]'

/**
 * Reads `config.aigis`. A file that cannot be read or parsed, or has
 * something outside the three sections, is an error for the whole server
 * (naming every such problem); a bad entry only marks that plugin so the
 * others still load.
 */
export async function loadMainConfig (file: string): Promise<MainConfig> {
  const path = resolve(file)
  let data: Record<string, unknown>
  try {
    data = await readToml(path, {
      missing: `config file ${path} does not exist; pass --config or set AIGIS_CONFIG`,
      folder: 'pass the config file itself (--config or AIGIS_CONFIG), e.g. config.aigis in that folder'
    })
  } catch (err) {
    throw new ConfigInvalid((err as Error).message)
  }

  const problems: string[] = []
  for (const [key, value] of Object.entries(data)) {
    const isTable = typeof value === 'object' && value !== null && !Array.isArray(value)
    if ((PLUGIN_TYPES as readonly string[]).includes(key)) {
      if (!isTable) problems.push(`"${key}" must be a table of name = "source" lines: write [${key}] on a line of its own, the plugins below it`)
    } else if (!isTable) {
      problems.push(`${key} = ${shown(value)} is not in a section; plugins go under ${SECTIONS}: put one of those lines above it`)
    } else {
      const hint = closest(key, PLUGIN_TYPES)
      problems.push(`unknown section "${key}"${hint !== undefined ? ` (did you mean [${hint}]?)` : ''}; the sections are [core], [internal] and [external]`)
    }
  }
  if (problems.length > 0) throw new ConfigInvalid(`${path}: ${problems.join('; ')}`)

  const plugins: PluginDeclaration[] = []
  for (const type of PLUGIN_TYPES) {
    const section = (data[type] ?? {}) as Record<string, unknown>
    for (const [name, source] of Object.entries(section)) {
      const declaration: PluginDeclaration = { name, type, source: typeof source === 'string' ? source : '' }
      const nameProblem = pluginNameProblem(name)
      if (nameProblem !== undefined) {
        declaration.error = `invalid plugin name ${shown(name)} in [${type}]: ${nameProblem}`
      } else if (typeof source !== 'string' || source === '') {
        declaration.error = `plugin "${name}" in [${type}]: the source must be a non-empty string (a folder or a git URL)`
      }
      plugins.push(declaration)
    }
  }
  markDuplicates(plugins)
  return { file: path, baseDir: dirname(path), plugins }
}

/**
 * A name listed in two sections is an error on every entry of it: which one
 * was meant cannot be told, and the plugin shows as failed, naming both.
 */
function markDuplicates (plugins: PluginDeclaration[]): void {
  const sections = new Map<string, PluginType[]>()
  for (const { name, type } of plugins) sections.set(name, [...(sections.get(name) ?? []), type])
  for (const declaration of plugins) {
    const listed = sections.get(declaration.name)!
    if (listed.length < 2) continue
    const where = listed.map((s) => `[${s}]`)
    declaration.error = `plugin "${declaration.name}" is listed in ${where.slice(0, -1).join(', ')} and ${where.at(-1)!}; plugin names must be unique across sections: rename or remove one`
  }
}

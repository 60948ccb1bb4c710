import { dirname, resolve } from 'node:path'
import { ConfigInvalid } from '../errors.js'
import { closest, isPluginName, PLUGIN_TYPES, type PluginType } from './names.js'
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

/**
 * Reads `config.aigis`. A file that cannot be read or parsed, or has an
 * unknown section, is an error for the whole server; a bad entry only marks
 * that plugin so the others still load.
 */
export async function loadMainConfig (file: string): Promise<MainConfig> {
  const path = resolve(file)
  let data: Record<string, unknown>
  try {
    data = await readToml(path, `config file ${path} does not exist; pass --config or set AIGIS_CONFIG`)
  } catch (err) {
    throw new ConfigInvalid((err as Error).message)
  }

  for (const [section, value] of Object.entries(data)) {
    if (!(PLUGIN_TYPES as readonly string[]).includes(section)) {
      const hint = closest(section, PLUGIN_TYPES)
      throw new ConfigInvalid(`${path}: unknown section "${section}"${hint ? ` (did you mean [${hint}]?)` : ''}; the sections are [core], [internal] and [external]`)
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new ConfigInvalid(`${path}: "${section}" must be a table of name = "source" lines`)
    }
  }

  const plugins: PluginDeclaration[] = []
  const seen = new Set<string>()
  for (const type of PLUGIN_TYPES) {
    const section = (data[type] ?? {}) as Record<string, unknown>
    for (const [name, source] of Object.entries(section)) {
      const declaration: PluginDeclaration = { name, type, source: typeof source === 'string' ? source : '' }
      if (!isPluginName(name)) {
        declaration.error = `invalid plugin name ${JSON.stringify(name)} in [${type}]: use only letters, digits, "_" and "-"`
      } else if (typeof source !== 'string' || source === '') {
        declaration.error = `plugin "${name}" in [${type}]: the source must be a non-empty string (a folder or a git URL)`
      } else if (seen.has(name)) {
        declaration.error = `plugin "${name}" is listed twice; plugin names must be unique across sections`
      }
      seen.add(name)
      plugins.push(declaration)
    }
  }
  return { file: path, baseDir: dirname(path), plugins }
}

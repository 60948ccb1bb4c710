import { isAbsolute, join, relative, resolve } from 'node:path'
import { Type, type Static } from 'typebox'
import { parse as parseShellWords } from 'shell-quote'
import { PathEscape, PluginConfigInvalid, PluginTypeMismatch } from '../errors.js'
import { MAX_TIMEOUT_S } from './limits.js'
import { PLUGIN_TYPES, type PluginType } from './names.js'
import { tableChecker } from './schema-problems.js'
import { readToml } from './toml.js'

const StringList = Type.Array(Type.String({ minLength: 1 }))
const EnvValue = Type.Union([Type.String(), Type.Number(), Type.Boolean()])

/**
 * `AIGIS/AIGIS.config`: the one definition of its keys. It validates the file,
 * its types and examples word the errors (src/config/schema-problems.ts), and
 * its descriptions are the reference the README is written from.
 */
export const PluginConfigSchema = Type.Object({
  PLUGIN_TYPE: Type.Union(PLUGIN_TYPES.map((t) => Type.Literal(t)), { description: '"core", "internal" or "external"; must match the section the plugin is listed in' }),
  ENTRYPOINT: Type.Optional(Type.String({ minLength: 1, description: 'working directory, and module resolution root for core code (default "{root}")', examples: ['{root}/src'] })),
  LAUNCH: Type.Optional(Type.Union([Type.Array(Type.String(), { minItems: 1 }), Type.String({ minLength: 1 })], { description: 'external: argv list run in ENTRYPOINT; internal: module (relative to ENTRYPOINT) exporting launch(aigis)', examples: [['python3', 'main.py']] })),
  SYSTEM_REQUIREMENTS: Type.Optional(Type.Union([StringList, Type.String({ minLength: 1 })], { description: 'executables that must be on PATH', examples: [['python3', 'git']] })),
  REQUIREMENT_COMMAND: Type.Optional(Type.Union([Type.String({ minLength: 1 }), Type.Array(Type.String(), { minItems: 1 })], { description: 'command run before launch, with REQUIREMENT_FILE appended as last argument', examples: ['npm install --prefix {root}'] })),
  REQUIREMENT_FILE: Type.Optional(Type.String({ minLength: 1, description: 'file passed to REQUIREMENT_COMMAND', examples: ['requirements.txt'] })),
  SECRETS: Type.Optional(Type.Record(Type.String(), Type.String(), { description: '"file name" = "destination folder": copied from <secrets dir>/<plugin>/ before launch', examples: [{ 'api.key': '{root}/conf' }] })),
  RESTART: Type.Optional(Type.Integer({ minimum: -1, description: 'restarts allowed after an unexpected exit; -1 = always (default 0)', examples: [3] })),
  ENV: Type.Optional(Type.Record(Type.String(), EnvValue, { description: 'extra environment variables', examples: [{ LOG_LEVEL: 'debug' }] })),
  STOP_TIMEOUT: Type.Optional(Type.Number({ minimum: 0, maximum: MAX_TIMEOUT_S, description: 'seconds between SIGTERM and SIGKILL (default 5)', examples: [10] }))
}, { additionalProperties: false })

export type PluginConfigFile = Static<typeof PluginConfigSchema>

const checkTable = tableChecker(PluginConfigSchema)

/** A plugin's config with `{root}` substituted and every path absolute and checked. */
export interface PluginConfig {
  type: PluginType
  root: string
  entrypoint: string
  /** external: argv; internal: absolute path of the module exporting `launch`. */
  launch?: string[]
  systemRequirements: string[]
  requirementCommand?: string[]
  secrets: Array<{ file: string, destination: string }>
  restart: number
  env: Record<string, string>
  stopTimeoutMs: number
  /** Keys that are valid but do nothing here (LAUNCH on a core plugin): said once at load, not an error. */
  warnings: string[]
}

/** Keys only a subprocess (internal, external) uses. */
const PROCESS_KEYS = ['LAUNCH', 'RESTART', 'ENV', 'STOP_TIMEOUT'] as const

export function pluginConfigFile (root: string): string {
  return join(root, 'AIGIS', 'AIGIS.config')
}

/**
 * Reads and validates `<root>/AIGIS/AIGIS.config`. With `expectedType` (the
 * section the plugin is listed in, or the type POST /plugins gave), a
 * PLUGIN_TYPE that differs is the error reported, before anything the other
 * type would need.
 */
export async function loadPluginConfig (plugin: string, root: string, expectedType?: PluginType | null): Promise<PluginConfig> {
  const file = pluginConfigFile(root)
  let data: Record<string, unknown>
  try {
    data = await readToml(file, {
      missing: `${file} does not exist; every plugin needs an AIGIS/AIGIS.config with at least PLUGIN_TYPE`,
      folder: 'AIGIS.config is a TOML file with at least PLUGIN_TYPE'
    })
  } catch (err) {
    throw new PluginConfigInvalid(`Plugin "${plugin}": ${(err as Error).message}`)
  }
  return resolvePluginConfig(plugin, root, data, file, expectedType)
}

export function resolvePluginConfig (plugin: string, root: string, data: Record<string, unknown>, file: string, expectedType?: PluginType | null): PluginConfig {
  const fail = (reason: string): never => { throw new PluginConfigInvalid(`Plugin "${plugin}": ${file}: ${reason}`) }
  const declared = data.PLUGIN_TYPE
  if (expectedType != null && (PLUGIN_TYPES as readonly unknown[]).includes(declared) && declared !== expectedType) {
    throw new PluginTypeMismatch(plugin, expectedType, declared as string, declared as string, declared as string)
  }

  const problems = checkTable(data)
  if (problems.length > 0) fail(problems.join('; '))
  const config = data as PluginConfigFile
  const type = config.PLUGIN_TYPE
  const expand = (value: string): string => value.replaceAll('{root}', root)
  // A string is split into words first and {root} expanded in each word after:
  // a root with a space or a quote in it stays one argument.
  const argv = (what: string, value: string | string[]): string[] => {
    if (Array.isArray(value)) return value.map(expand)
    const words = parseShellWords(value, (name) => `$${name}`)
    if (!words.every((w): w is string => typeof w === 'string')) fail(`${what} may not use shell operators (|, &&, >, globs); write a script and run that`)
    return (words as string[]).map(expand)
  }
  const inside = (what: string, value: string, base: string): string => {
    const path = resolve(base, expand(value))
    const rel = relative(root, path)
    if (rel.startsWith('..') || isAbsolute(rel)) throw new PathEscape(plugin, what, path, root)
    return path
  }

  const entrypoint = inside('ENTRYPOINT', config.ENTRYPOINT ?? '{root}', root)
  let launch: string[] | undefined
  if (type !== 'core') {
    if (config.LAUNCH === undefined) fail(`LAUNCH is required for ${type} plugins`)
    if (type === 'internal') {
      if (typeof config.LAUNCH !== 'string') fail('LAUNCH of an internal plugin is a module path such as "main.ts"')
      launch = [inside('LAUNCH', config.LAUNCH as string, entrypoint)]
    } else {
      launch = argv('LAUNCH', config.LAUNCH!)
    }
  }

  let requirementCommand: string[] | undefined
  if (config.REQUIREMENT_COMMAND !== undefined) {
    requirementCommand = argv('REQUIREMENT_COMMAND', config.REQUIREMENT_COMMAND)
    if (config.REQUIREMENT_FILE !== undefined) {
      requirementCommand.push(inside('REQUIREMENT_FILE', config.REQUIREMENT_FILE, entrypoint))
    }
  }

  for (const [name, value] of Object.entries(config.ENV ?? {})) {
    // The OS takes neither in a variable's name (a name with "=" became another variable), nor NUL in its value.
    if (name === '' || /[=\0]/.test(name)) fail(`ENV key ${JSON.stringify(name)} is not an environment variable name: it must be non-empty, without "=" or NUL`)
    if (String(value).includes('\0')) fail(`ENV.${name} holds a NUL character, which no environment variable can`)
  }
  for (const secret of Object.keys(config.SECRETS ?? {})) {
    if (/[/\\]/.test(secret) || secret === '..' || secret === '.') fail(`SECRETS key "${secret}" must be a plain file name`)
  }
  const requirements = config.SYSTEM_REQUIREMENTS ?? []
  const warnings = type !== 'core'
    ? []
    : PROCESS_KEYS.filter((key) => config[key] !== undefined).map((key) => `${key} has no effect on a core plugin (it runs inside the server, not as a process); it is ignored`)
  if (config.REQUIREMENT_FILE !== undefined && config.REQUIREMENT_COMMAND === undefined) {
    warnings.push('REQUIREMENT_FILE has no effect without REQUIREMENT_COMMAND (it is that command\'s last argument); it is ignored')
  }
  return {
    type,
    root,
    entrypoint,
    launch,
    systemRequirements: typeof requirements === 'string' ? [requirements] : requirements,
    requirementCommand,
    secrets: Object.entries(config.SECRETS ?? {}).map(([secret, destination]) => ({
      file: secret,
      destination: inside(`SECRETS destination of "${secret}"`, destination, root)
    })),
    restart: config.RESTART ?? 0,
    env: Object.fromEntries(Object.entries(config.ENV ?? {}).map(([k, v]) => [k, String(v)])),
    stopTimeoutMs: (config.STOP_TIMEOUT ?? 5) * 1000,
    warnings
  }
}

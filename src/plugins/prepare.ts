import { copyFile, lstat, mkdir, realpath, rm } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { dirname, join, relative, isAbsolute } from 'node:path'
import which from 'which'
import type { PluginConfig } from '../config/plugin-config.js'
import { LoadTimeout, PathEscape, RequirementCommandFailed, RequirementMissing, SecretCopyFailed, SecretMissing } from '../errors.js'
import type { AigisLogger } from '../log/logger.js'
import { seconds } from './load-steps.js'
import { runCommand, type CommandOptions, type CommandOutput } from './requirement-command.js'

export type { CommandOutput } from './requirement-command.js'

export interface PrepareOptions {
  secretsDir: string
  log: AigisLogger
  /** Where the requirement command's output goes. */
  output: CommandOutput
  /** Aborts the requirement command (its whole process group); the step then rejects with the signal's reason. */
  signal: AbortSignal
  /** Milliseconds REQUIREMENT_COMMAND may run. */
  requirementTimeoutMs: number
  /** Told the requirement command's process group and run id while it runs (see CommandOptions.group). */
  group?: CommandOptions['group']
}

/** The steps between a plugin's config and its start, in the spec's order. */
export async function preparePlugin (plugin: string, config: PluginConfig, options: PrepareOptions): Promise<void> {
  await checkSystemRequirements(plugin, config.systemRequirements, config.env.PATH)
  options.signal.throwIfAborted()
  if (config.requirementCommand !== undefined) await runRequirementCommand(plugin, config, options)
  options.signal.throwIfAborted()
  await copySecrets(plugin, config, options.secretsDir)
}

/** Looked up on the PATH the plugin will run with: its ENV's, else the server's. */
async function checkSystemRequirements (plugin: string, requirements: string[], path = process.env.PATH): Promise<void> {
  const missing: string[] = []
  for (const name of requirements) {
    if (await which(name, { nothrow: true, path }) === null) missing.push(`"${name}"`)
  }
  if (missing.length > 0) throw new RequirementMissing(plugin, missing.join(', '))
}

async function runRequirementCommand (plugin: string, config: PluginConfig, options: PrepareOptions): Promise<void> {
  const shown = config.requirementCommand!.join(' ')
  options.log.info({ command: shown }, 'running REQUIREMENT_COMMAND')
  const result = await runCommand(config.requirementCommand!, {
    cwd: config.entrypoint,
    output: options.output,
    timeoutMs: options.requirementTimeoutMs,
    killGraceMs: config.stopTimeoutMs,
    signal: options.signal,
    group: options.group
  })
  if ('timedOut' in result) {
    throw new LoadTimeout(plugin, `REQUIREMENT_COMMAND \`${shown}\``, seconds(options.requirementTimeoutMs),
      'it was ended, with every process it started. If it needs longer (a large install on a slow network), raise AIGIS_REQUIREMENT_TIMEOUT ' +
      '(--requirement-timeout); if it waits for something (input, a lock, a server), fix the command; then reload the plugin')
  }
  if ('failed' in result) throw new RequirementCommandFailed(plugin, shown, result.failed)
  if (result.leftovers) options.log.warn({ command: shown }, 'REQUIREMENT_COMMAND left processes running when it exited; they were ended')
  if (result.exitCode !== 0) throw new RequirementCommandFailed(plugin, shown, `exit code ${result.exitCode}`)
}

async function copySecrets (plugin: string, config: PluginConfig, secretsDir: string): Promise<void> {
  const folder = join(secretsDir, plugin)
  const missing = config.secrets.filter(({ file }) => !existsSync(join(folder, file))).map(({ file }) => `"${file}"`)
  if (missing.length > 0) throw new SecretMissing(plugin, missing.join(', '), folder)
  const root = await realpath(config.root)
  for (const { file, destination } of config.secrets) {
    // The config check is on the path as written; a symlink in it may still lead out of the plugin folder.
    await insideRoot(plugin, `SECRETS destination of "${file}"`, await nearestExisting(destination), root)
    const target = join(destination, file)
    try {
      await mkdir(destination, { recursive: true })
      await insideRoot(plugin, `SECRETS destination of "${file}"`, destination, root)
      // A link there would be written through: it is replaced by the secret itself.
      if ((await lstat(target).catch(() => undefined))?.isSymbolicLink() === true) await rm(target)
      await copyFile(join(folder, file), target)
    } catch (err) {
      if ((err as { code?: string }).code === 'AIGIS_PATH_ESCAPE') throw err
      throw new SecretCopyFailed(plugin, file, target, (err as Error).message)
    }
  }
}

/** `path`, or the nearest folder above it that exists (what `mkdir -p` would create under). */
async function nearestExisting (path: string): Promise<string> {
  while (!existsSync(path) && dirname(path) !== path) path = dirname(path)
  return path
}

/** Throws PathEscape when `path`, its symlinks followed, is not inside `root` (a real path). */
async function insideRoot (plugin: string, what: string, path: string, root: string): Promise<void> {
  const real = await realpath(path)
  const up = relative(root, real)
  if (up.startsWith('..') || isAbsolute(up)) throw new PathEscape(plugin, what, real, root)
}

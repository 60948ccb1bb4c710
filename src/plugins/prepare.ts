import { copyFile, mkdir } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import which from 'which'
import type { PluginConfig } from '../config/plugin-config.js'
import { LoadTimeout, RequirementCommandFailed, RequirementMissing, SecretMissing } from '../errors.js'
import type { AigisLogger } from '../log/logger.js'
import { seconds } from './load-steps.js'
import { runCommand, type CommandOutput } from './requirement-command.js'

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
  /** Told the requirement command's process group while it runs (for a forced exit's SIGKILL). */
  group?: (pgid: number | undefined) => void
}

/** The steps between a plugin's config and its start, in the spec's order. */
export async function preparePlugin (plugin: string, config: PluginConfig, options: PrepareOptions): Promise<void> {
  await checkSystemRequirements(plugin, config.systemRequirements)
  options.signal.throwIfAborted()
  if (config.requirementCommand !== undefined) await runRequirementCommand(plugin, config, options)
  options.signal.throwIfAborted()
  await copySecrets(plugin, config, options.secretsDir)
}

async function checkSystemRequirements (plugin: string, requirements: string[]): Promise<void> {
  const missing: string[] = []
  for (const name of requirements) {
    if (await which(name, { nothrow: true }) === null) missing.push(`"${name}"`)
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
  for (const { file, destination } of config.secrets) {
    await mkdir(destination, { recursive: true })
    await copyFile(join(folder, file), join(destination, file))
  }
}

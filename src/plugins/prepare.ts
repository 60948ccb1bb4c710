import { copyFile, mkdir } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { execa } from 'execa'
import which from 'which'
import type { PluginConfig } from '../config/plugin-config.js'
import { RequirementCommandFailed, RequirementMissing, SecretMissing } from '../errors.js'
import type { AigisLogger } from '../log/logger.js'

/** Where the requirement command's output goes: one call a line, as a subprocess line. */
export type CommandOutput = (stream: 'stdout' | 'stderr', line: string, pid: number | undefined) => void

/** The steps between a plugin's config and its start, in the spec's order. */
export async function preparePlugin (plugin: string, config: PluginConfig, secretsDir: string, log: AigisLogger, output: CommandOutput): Promise<void> {
  await checkSystemRequirements(plugin, config.systemRequirements)
  if (config.requirementCommand !== undefined) await runRequirementCommand(plugin, config, log, output)
  await copySecrets(plugin, config, secretsDir)
}

async function checkSystemRequirements (plugin: string, requirements: string[]): Promise<void> {
  const missing: string[] = []
  for (const name of requirements) {
    if (await which(name, { nothrow: true }) === null) missing.push(`"${name}"`)
  }
  if (missing.length > 0) throw new RequirementMissing(plugin, missing.join(', '))
}

async function runRequirementCommand (plugin: string, config: PluginConfig, log: AigisLogger, output: CommandOutput): Promise<void> {
  const [command, ...args] = config.requirementCommand!
  const shown = config.requirementCommand!.join(' ')
  log.info({ command: shown }, 'running REQUIREMENT_COMMAND')
  const running = execa(command, args, { cwd: config.entrypoint, reject: false, stdin: 'ignore', lines: true })
  const result = await running
  for (const line of result.stdout) output('stdout', line, running.pid)
  for (const line of result.stderr) output('stderr', line, running.pid)
  if (result.exitCode !== 0) {
    const reason = result.exitCode === undefined ? String(result.shortMessage) : `exit code ${result.exitCode}`
    throw new RequirementCommandFailed(plugin, shown, reason)
  }
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

import { cp, mkdir, rm, stat } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { basename, join, resolve } from 'node:path'
import { execa } from 'execa'
import { SourceFailed } from '../errors.js'

/** Where a plugin's runtime copy lives: `<data dir>/ext/<name>`. */
export function runtimeFolder (dataDir: string, plugin: string): string {
  return join(dataDir, 'ext', plugin)
}

const GIT_URL = /^(?:[a-z][a-z0-9+.-]*:\/\/|[\w.-]+@[\w.-]+:)/i

/** A source is git when it is a URL (any scheme, or scp-like user@host:path) or ends in `.git`. */
export function isGitSource (source: string): boolean {
  return GIT_URL.test(source) || source.endsWith('.git')
}

export interface MaterializeResult {
  root: string
  /** Non-fatal problems to log, e.g. a failed `git pull`. */
  warnings: string[]
}

/**
 * Brings a plugin's source to its runtime folder: a local folder is copied
 * over it (files the plugin made there itself are kept), a git source is
 * cloned, or pulled when the clone exists.
 */
export async function materializeSource (plugin: string, source: string, baseDir: string, dataDir: string): Promise<MaterializeResult> {
  const root = runtimeFolder(dataDir, plugin)
  await mkdir(join(dataDir, 'ext'), { recursive: true })
  if (isGitSource(source)) return await fromGit(plugin, source, root)
  await copyLocal(plugin, resolve(baseDir, source), root)
  return { root, warnings: [] }
}

async function copyLocal (plugin: string, from: string, root: string): Promise<void> {
  const info = await stat(from).catch(() => undefined)
  if (info === undefined || !info.isDirectory()) {
    throw new SourceFailed(`Plugin "${plugin}": source folder ${from} does not exist; fix its path in the config (relative paths resolve against the config file's folder)`)
  }
  await cp(from, root, {
    recursive: true,
    force: true,
    filter: (path) => basename(path) !== '.git'
  })
}

async function fromGit (plugin: string, url: string, root: string): Promise<MaterializeResult> {
  if (existsSync(join(root, '.git'))) {
    const pull = await execa('git', ['-C', root, 'pull', '--ff-only'], { reject: false, stdin: 'ignore' })
    const warnings = pull.exitCode === 0 ? [] : [`git pull of ${url} failed, keeping the existing clone: ${lastLine(pull.stderr) || pull.shortMessage}`]
    return { root, warnings }
  }
  await rm(root, { recursive: true, force: true })
  const clone = await execa('git', ['clone', '--quiet', '--depth', '1', url, root], {
    reject: false,
    stdin: 'ignore',
    env: { GIT_TERMINAL_PROMPT: '0' }
  })
  if (clone.exitCode !== 0) {
    await rm(root, { recursive: true, force: true })
    const reason = clone.failed && clone.exitCode === undefined ? clone.shortMessage : lastLine(clone.stderr)
    throw new SourceFailed(`Plugin "${plugin}": git clone ${url} failed: ${reason}`)
  }
  return { root, warnings: [] }
}

/** git's own reason: its `fatal:` line when there is one, else its last line. */
function lastLine (text: string): string {
  const lines = text.trim().split('\n')
  return lines.find((l) => l.startsWith('fatal:')) ?? lines.at(-1) ?? ''
}

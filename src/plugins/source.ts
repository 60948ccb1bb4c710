import { cp, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { basename, join, resolve, sep } from 'node:path'
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
  await copyLocal(plugin, resolve(baseDir, source), root, manifestFile(dataDir, plugin))
  return { root, warnings: [] }
}

/** Deletes a removed plugin's runtime folder and what aigis kept about it. */
export async function removeRuntimeFolder (dataDir: string, plugin: string): Promise<void> {
  await rm(runtimeFolder(dataDir, plugin), { recursive: true, force: true })
  await rm(manifestFile(dataDir, plugin), { force: true })
}

// The files the last copy brought, so a refresh can tell a file deleted from
// the source (removed from the copy too) from one the plugin made (kept).
function manifestFile (dataDir: string, plugin: string): string {
  return join(dataDir, 'cache', 'sources', `${plugin}.json`)
}

async function copyLocal (plugin: string, from: string, root: string, manifest: string): Promise<void> {
  const info = await stat(from).catch(() => undefined)
  if (info === undefined || !info.isDirectory()) {
    throw new SourceFailed(`Plugin "${plugin}": source folder ${from} does not exist; fix its path in the config (relative paths resolve against the config file's folder)`)
  }
  const files = await sourceFiles(from)
  const copied = new Set(files)
  const previous = JSON.parse(await readFile(manifest, 'utf8').catch(() => '[]')) as string[]
  await Promise.all(previous.filter((f) => !copied.has(f)).map((f) => rm(join(root, f), { force: true })))
  await cp(from, root, {
    recursive: true,
    force: true,
    filter: (path) => basename(path) !== '.git'
  })
  await mkdir(join(manifest, '..'), { recursive: true })
  await writeFile(manifest, JSON.stringify(files))
}

/** Every file under `folder` (relative paths), `.git` folders left out. */
async function sourceFiles (folder: string): Promise<string[]> {
  const entries = await readdir(folder, { recursive: true, withFileTypes: true })
  return entries
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath ?? e.path, e.name).slice(folder.length + 1))
    .filter((f) => !f.split(sep).includes('.git'))
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

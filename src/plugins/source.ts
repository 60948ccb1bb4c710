import { cp, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { basename, join, resolve, sep } from 'node:path'
import { SourceFailed } from '../errors.js'
import { runGit, type GitResult } from './git.js'

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
 * How long git may print nothing (progress included) before it is stopped: a
 * server that accepts the connection and never answers would otherwise hold a
 * clone, and the plugin's load, forever. A slow transfer still prints progress.
 */
export const GIT_IDLE_TIMEOUT_MS = 2 * 60_000

export interface GitOptions {
  signal?: AbortSignal
  /** Default GIT_IDLE_TIMEOUT_MS. */
  idleTimeoutMs?: number
}

/**
 * Brings a plugin's source to its runtime folder: a local folder is copied
 * over it (files the plugin made there itself are kept), a git source is
 * cloned, or pulled when the clone exists. An aborted `signal` stops a copy,
 * clone or pull in progress (git's whole process group) and rejects with an
 * `AbortError` (code `ABORT_ERR`, `cause` the signal's reason).
 */
export async function materializeSource (plugin: string, source: string, baseDir: string, dataDir: string, signal?: AbortSignal): Promise<MaterializeResult> {
  const root = runtimeFolder(dataDir, plugin)
  await mkdir(join(dataDir, 'ext'), { recursive: true })
  if (isGitSource(source)) return await fromGit(plugin, source, root, { signal })
  await copyLocal(plugin, resolve(baseDir, source), root, manifestFile(dataDir, plugin), signal)
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

async function copyLocal (plugin: string, from: string, root: string, manifest: string, signal?: AbortSignal): Promise<void> {
  const checkAborted = (): void => {
    if (signal?.aborted === true) throw abortError(`Plugin "${plugin}": copying ${from} was aborted`, signal)
  }
  checkAborted()
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
    filter: (path) => {
      checkAborted()
      return basename(path) !== '.git'
    }
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

/** Clones `url` into `root`, or pulls when the clone exists. A failed pull is a warning; a failed clone is an error. */
export async function fromGit (plugin: string, url: string, root: string, options: GitOptions = {}): Promise<MaterializeResult> {
  const { signal, idleTimeoutMs = GIT_IDLE_TIMEOUT_MS } = options
  const run = async (what: string, args: string[]): Promise<GitResult> => {
    const result = await runGit(args, { signal, idleTimeoutMs })
    if (result.stopped !== undefined && what === 'pull') await removeLocks(join(root, '.git'))
    if (result.stopped === 'aborted') throw abortError(`Plugin "${plugin}": git ${what} of ${url} was aborted`, signal!)
    return result
  }
  const quiet = `made no progress for ${idleTimeoutMs / 1000} s and was stopped`

  if (existsSync(join(root, '.git'))) {
    const pull = await run('pull', ['-C', root, 'pull', '--ff-only', '--progress'])
    if (pull.ok) return { root, warnings: [] }
    const reason = pull.stopped === 'idle' ? `${quiet}, keeping the existing clone` : `failed, keeping the existing clone: ${pull.reason}`
    return { root, warnings: [`git pull of ${url} ${reason}`] }
  }
  await rm(root, { recursive: true, force: true })
  try {
    const clone = await run('clone', ['clone', '--progress', '--depth', '1', '--', url, root])
    if (clone.stopped === 'idle') throw new SourceFailed(`Plugin "${plugin}": git clone of ${url} ${quiet}; check the URL and that its server answers`)
    if (!clone.ok) throw new SourceFailed(`Plugin "${plugin}": git clone ${url} failed: ${clone.reason}`)
  } catch (err) {
    await rm(root, { recursive: true, force: true })
    throw err
  }
  return { root, warnings: [] }
}

/** The lock files a git stopped midway leaves (index.lock, refs' locks); the next pull would fail on them. */
async function removeLocks (gitDir: string): Promise<void> {
  const entries = await readdir(gitDir, { recursive: true, withFileTypes: true }).catch(() => [])
  await Promise.all(entries
    .filter((e) => e.isFile() && e.name.endsWith('.lock'))
    .map((e) => rm(join(e.parentPath ?? e.path, e.name), { force: true })))
}

/** Rejects like Node's own APIs do when their signal aborts. */
function abortError (message: string, signal: AbortSignal): Error {
  return Object.assign(new Error(message, { cause: signal.reason }), { name: 'AbortError', code: 'ABORT_ERR' })
}

import { cp, lstat, mkdir, readdir, readFile, readlink, realpath, rm, stat, symlink, unlink, writeFile } from 'node:fs/promises'
import { basename, dirname, join, resolve, sep } from 'node:path'
import { isPluginName } from '../config/names.js'
import { SourceFailed } from '../errors.js'
import { fromGit } from './git-source.js'
import { abortError } from './git.js'

export { fromGit, GIT_IDLE_TIMEOUT_MS, type GitOptions } from './git-source.js'
export { redactUrls as redactSource } from './git.js'

/** Where a plugin's runtime copy lives: `<data dir>/ext/<name>`. Throws for a name that is not a plugin name (`../x` would lead out of it). */
export function runtimeFolder (dataDir: string, plugin: string): string {
  if (!isPluginName(plugin)) throw new Error(`no runtime folder for an invalid plugin name ${JSON.stringify(plugin)}`)
  return join(dataDir, 'ext', plugin)
}

const GIT_URL = /^(?:[a-z][a-z0-9+.-]*:\/\/|[\w.-]+@[\w.-]+:)/i
// git's own rule: a colon before the first slash makes `host:path` an ssh address.
const SCP_LIKE = /^[^/]+:/

/**
 * `text` (a load error) with the runtime folder of a plugin whose source is
 * a local folder written as that folder: the file to fix is the source's,
 * the copy is overwritten on the next load. A git source keeps the clone's
 * path (the same path in the repository).
 */
export function inSourceTerms (text: string, plugin: string, source: string, baseDir: string, dataDir: string): string {
  if (isGitSource(source) || !isPluginName(plugin)) return text
  return text.split(runtimeFolder(dataDir, plugin) + sep).join(resolve(baseDir, source) + sep)
}

/** A source is git when it is a URL (any scheme, or scp-like user@host:path) or ends in `.git`. */
export function isGitSource (source: string): boolean {
  return GIT_URL.test(source) || source.endsWith('.git')
}

export interface MaterializeResult {
  root: string
  /** Non-fatal problems and notable events to log, e.g. a failed `git pull`. */
  warnings: string[]
}

/**
 * Brings a plugin's source to its runtime folder: a local folder is copied
 * over it (files the plugin made there itself are kept), a git source is
 * cloned, or pulled when the clone exists. Relative paths, folders and git
 * repositories alike, resolve against `baseDir` (the config file's folder).
 * An aborted `signal` stops a copy, clone or pull in progress (git's whole
 * process group) and rejects with an `AbortError` (code `ABORT_ERR`, `cause`
 * the signal's reason).
 */
export async function materializeSource (plugin: string, source: string, baseDir: string, dataDir: string, signal?: AbortSignal): Promise<MaterializeResult> {
  const root = runtimeFolder(dataDir, plugin)
  await mkdir(join(dataDir, 'ext'), { recursive: true })
  if (isGitSource(source)) {
    const url = GIT_URL.test(source) || SCP_LIKE.test(source) ? source : resolve(baseDir, source)
    return await fromGit(plugin, url, root, { signal })
  }
  await copyLocal(plugin, resolve(baseDir, source), root, manifestFile(dataDir, plugin), signal)
  return { root, warnings: [] }
}

/** Deletes a removed plugin's runtime folder and what aigis kept about it. */
export async function removeRuntimeFolder (dataDir: string, plugin: string): Promise<void> {
  await rm(runtimeFolder(dataDir, plugin), { recursive: true, force: true })
  await rm(manifestFile(dataDir, plugin), { force: true })
}

// The files and links the last copy brought, so a refresh can tell one deleted
// from the source (removed from the copy too) from one the plugin made (kept).
function manifestFile (dataDir: string, plugin: string): string {
  return join(dataDir, 'cache', 'sources', `${plugin}.json`)
}

/**
 * Copies `from` over `root`. Symlinks are copied as they are (a relative
 * link keeps pointing into the copy); fs.cp's own symlink handling rewrites
 * them to absolute paths into the source, and fails to replace one.
 */
async function copyLocal (plugin: string, from: string, root: string, manifest: string, signal?: AbortSignal): Promise<void> {
  const checkAborted = (): void => {
    if (signal?.aborted === true) throw abortError(`Plugin "${plugin}": copying ${from} was aborted`, signal)
  }
  checkAborted()
  const info = await stat(from).catch(() => undefined)
  if (info === undefined) {
    throw new SourceFailed(`Plugin "${plugin}": source folder ${from} does not exist; fix its path in the config (relative paths resolve against the config file's folder)`)
  }
  if (!info.isDirectory()) {
    throw new SourceFailed(`Plugin "${plugin}": source ${from} is a file, not a folder; a local source is the plugin's folder (the one holding AIGIS/AIGIS.config), a git source a URL or a path ending in .git`)
  }
  // Checked before anything is copied: a folder that is no plugin (`/etc`, a typo'd parent) is not copied whole first.
  if (await stat(join(from, 'AIGIS', 'AIGIS.config')).catch(() => undefined) === undefined) {
    throw new SourceFailed(`Plugin "${plugin}": ${join(from, 'AIGIS', 'AIGIS.config')} does not exist, so ${from} is not a plugin folder (every plugin needs an AIGIS/AIGIS.config with at least PLUGIN_TYPE); nothing was copied`)
  }
  const source = await realpath(from)
  const entries = await sourceEntries(source)
  const copied = new Set(entries.filter((e) => e.kind !== 'dir').map((e) => e.path))
  const previous = JSON.parse(await readFile(manifest, 'utf8').catch(() => '[]')) as string[]
  await Promise.all(previous.filter((f) => !copied.has(f)).map((f) => rm(join(root, f), { force: true })))
  // Never write through a link the copy holds: it goes first where the source has a file or folder
  // (in order, a folder before what it holds, so no lstat looks through a link about to go).
  for (const entry of entries) {
    if (entry.kind !== 'link') await unlinkIfLink(join(root, entry.path))
  }
  await cp(source, root, {
    recursive: true,
    force: true,
    filter: async (path) => {
      checkAborted()
      return basename(path) !== '.git' && (path === source || !(await lstat(path)).isSymbolicLink())
    }
  })
  for (const { path } of entries.filter((e) => e.kind === 'link')) {
    checkAborted()
    const target = join(root, path)
    await rm(target, { recursive: true, force: true })
    await mkdir(dirname(target), { recursive: true })
    await symlink(await readlink(join(source, path)), target)
  }
  await mkdir(dirname(manifest), { recursive: true })
  await writeFile(manifest, JSON.stringify([...copied]))
}

interface SourceEntry {
  /** Relative to the source folder. */
  path: string
  kind: 'file' | 'link' | 'dir'
}

/** Everything under `folder`, `.git` folders left out; links are not followed. */
async function sourceEntries (folder: string): Promise<SourceEntry[]> {
  const entries = await readdir(folder, { recursive: true, withFileTypes: true })
  return entries
    .map((e): SourceEntry => ({
      path: join(e.parentPath ?? e.path, e.name).slice(folder.length + 1),
      kind: e.isSymbolicLink() ? 'link' : e.isDirectory() ? 'dir' : 'file'
    }))
    .filter((e) => !e.path.split(sep).includes('.git'))
}

async function unlinkIfLink (path: string): Promise<void> {
  const info = await lstat(path).catch(() => undefined)
  if (info?.isSymbolicLink() === true) await unlink(path)
}

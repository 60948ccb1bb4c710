import { readdir, rename, rm } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { basename, dirname, join } from 'node:path'
import { SourceFailed } from '../errors.js'
import { abortError, gitOutput, redactUrls, runGit, type GitResult } from './git.js'

// A git source's runtime folder: a shallow clone of the default branch,
// pulled when it exists, cloned anew when the configured URL changed. The
// URL it was cloned from is kept in the clone's own config (aigis.source),
// as written in the config, so a URL git rewrites is not taken for a change.

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

export interface GitSourceResult {
  root: string
  /** Non-fatal problems and notable events to log: a failed pull, a re-clone. */
  warnings: string[]
}

/**
 * Clones `url` into `root`, pulls when the clone exists, or clones anew when
 * it was cloned from another URL. A failed pull is a warning; a failed clone
 * is an error (and leaves an existing clone as it was). Every message shows
 * the URL without its password.
 */
export async function fromGit (plugin: string, url: string, root: string, options: GitOptions = {}): Promise<GitSourceResult> {
  const { signal, idleTimeoutMs = GIT_IDLE_TIMEOUT_MS } = options
  const shown = redactUrls(url)
  const quiet = `made no progress for ${idleTimeoutMs / 1000} s and was stopped`
  const run = async (what: string, args: string[], dir: string): Promise<GitResult> => {
    const result = await runGit(args, { signal, idleTimeoutMs })
    if (result.stopped !== undefined) await removeLocks(join(dir, '.git'))
    if (result.stopped === 'aborted') throw abortError(`Plugin "${plugin}": git ${what} of ${shown} was aborted`, signal!)
    return { ...result, reason: redactUrls(result.reason) }
  }
  /** A fresh clone in `dir` (removed again when it fails). */
  const clone = async (dir: string, extra: string[] = []): Promise<void> => {
    await rm(dir, { recursive: true, force: true })
    try {
      const cloned = await run('clone', ['clone', '--progress', '--depth', '1', ...extra, '--', url, dir], dir)
      if (cloned.stopped === 'idle') throw new SourceFailed(`Plugin "${plugin}": git clone of ${shown} ${quiet}; check the URL and that its server answers`)
      if (!cloned.ok) throw new SourceFailed(`Plugin "${plugin}": git clone ${shown} failed: ${cloned.reason}`)
      await gitOutput(['-C', dir, 'config', 'aigis.source', url])
    } catch (err) {
      await rm(dir, { recursive: true, force: true })
      throw err
    }
  }

  if (!existsSync(join(root, '.git'))) {
    await clone(root)
    return { root, warnings: [] }
  }
  const previous = await gitOutput(['-C', root, 'config', '--get', 'aigis.source']) ??
    await gitOutput(['-C', root, 'remote', 'get-url', 'origin'])
  if (previous !== undefined && previous !== url) {
    await recloneInPlace(plugin, root, (dir) => clone(dir, ['--no-checkout']))
    return { root, warnings: [`git source changed from ${redactUrls(previous)} to ${shown}: cloned anew (files the plugin made are kept)`] }
  }
  const pull = await run('pull', ['-C', root, 'pull', '--ff-only', '--progress'], root)
  if (pull.ok) return { root, warnings: [] }
  const reason = pull.stopped === 'idle' ? `${quiet}, keeping the existing clone` : `failed, keeping the existing clone: ${pull.reason}`
  return { root, warnings: [`git pull of ${shown} ${reason}`] }
}

/**
 * Swaps the clone in `root` for a fresh one, the way a local copy is
 * refreshed: the new tree is written over the old, files only the old
 * repository tracked are removed, files the plugin made are kept. The fresh
 * clone is made beside `root` first, so a failed clone changes nothing.
 */
async function recloneInPlace (plugin: string, root: string, clone: (dir: string) => Promise<void>): Promise<void> {
  const fresh = join(dirname(root), `.${basename(root)}.clone`) // plugin names never start with "."
  await clone(fresh)
  const before = await trackedFiles(root)
  await rm(join(root, '.git'), { recursive: true, force: true })
  await rename(join(fresh, '.git'), join(root, '.git'))
  await rm(fresh, { recursive: true, force: true })
  if (await gitOutput(['-C', root, 'reset', '--quiet', '--hard']) === undefined) {
    throw new SourceFailed(`Plugin "${plugin}": checking out the new clone in ${root} failed; delete that folder and reload the plugin`)
  }
  const after = new Set(await trackedFiles(root))
  await Promise.all(before.filter((f) => !after.has(f)).map((f) => rm(join(root, f), { force: true })))
}

async function trackedFiles (root: string): Promise<string[]> {
  const list = await gitOutput(['-C', root, 'ls-files', '-z'])
  return list === undefined ? [] : list.split('\0').filter(Boolean)
}

/** The lock files a git stopped midway leaves (index.lock, refs' locks); the next git in that clone would fail on them. */
async function removeLocks (gitDir: string): Promise<void> {
  const entries = await readdir(gitDir, { recursive: true, withFileTypes: true }).catch(() => [])
  await Promise.all(entries
    .filter((e) => e.isFile() && e.name.endsWith('.lock'))
    .map((e) => rm(join(e.parentPath ?? e.path, e.name), { force: true })))
}

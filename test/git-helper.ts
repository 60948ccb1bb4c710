import { execFileSync } from 'node:child_process'
import { tempDir, writeFiles } from './helper.js'

// Real git repositories, made in a temp folder, for the tests of git sources.

export function git (cwd: string, ...args: string[]): string {
  return execFileSync('git', args, {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t' }
  })
}

/** A repository with one commit of `files` on branch `main`, in `dir` (a fresh temp folder by default). */
export async function makeRepo (files: Record<string, string>, dir = tempDir('aigis-repo-')): Promise<string> {
  git(dir, 'init', '--quiet', '--initial-branch=main')
  await writeFiles(dir, files)
  git(dir, 'add', '-A')
  git(dir, 'commit', '--quiet', '-m', 'first')
  return dir
}

/** Commits every change in `repo`. */
export function commitAll (repo: string, message = 'next'): void {
  git(repo, 'add', '-A')
  git(repo, 'commit', '--quiet', '-m', message)
}

import { execFile, spawn } from 'node:child_process'

// git as a server runs it: never a prompt (nobody is at a terminal to answer,
// and a prompt would hold the plugin's load forever), in a process group of
// its own so that stopping it also ends the helpers it starts
// (git-remote-http, index-pack, ssh), and stopped when it goes quiet.

/** The same for every git command, clone or pull. */
const GIT_ENV = { GIT_TERMINAL_PROMPT: '0', GCM_INTERACTIVE: 'never' }
/** git's reason is in its last lines; a long clone's progress is not kept. */
const STDERR_KEPT = 64 * 1024

export interface GitRunOptions {
  /** Stops git (its whole process group) when aborted. */
  signal?: AbortSignal
  /** Stops git when it prints nothing, progress included, for this long. */
  idleTimeoutMs: number
}

export interface GitResult {
  /** True when git exited 0. */
  ok: boolean
  /** Set when aigis stopped git: its signal aborted, or git went quiet too long. */
  stopped?: 'aborted' | 'idle'
  /** git's own reason for a failure (its `fatal:` line, else its last line). */
  reason: string
}

/**
 * Runs `git args` detached (a new session, so a process group of its own and
 * no terminal for ssh to prompt on). Pass `--progress` to commands that fetch:
 * progress is what tells a slow transfer from a stuck one.
 */
export async function runGit (args: string[], options: GitRunOptions): Promise<GitResult> {
  const { signal, idleTimeoutMs } = options
  if (signal?.aborted === true) return { ok: false, stopped: 'aborted', reason: '' }
  return await new Promise((resolve) => {
    const child = spawn('git', args, { detached: true, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...GIT_ENV } })
    let stderr = ''
    let exited = false
    let stopped: GitResult['stopped']
    const stop = (why: 'aborted' | 'idle'): void => {
      if (!exited) stopped ??= why
      try {
        process.kill(-child.pid!, 'SIGKILL')
      } catch {} // the group is gone already
    }
    // Also armed after git exits: a helper that kept git's stderr open is ended by it.
    const idle = setTimeout(() => stop('idle'), idleTimeoutMs)
    const onAbort = (): void => stop('aborted')
    signal?.addEventListener('abort', onAbort, { once: true })
    const finish = (result: GitResult): void => {
      clearTimeout(idle)
      signal?.removeEventListener('abort', onAbort)
      resolve(result)
    }
    child.stderr.setEncoding('utf8')
    child.stderr.on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-STDERR_KEPT)
      idle.refresh()
    })
    child.once('exit', () => { exited = true })
    child.once('error', (err) => finish({ ok: false, reason: `cannot run git: ${err.message}` }))
    child.once('close', (code) => finish({ ok: code === 0 && stopped === undefined, stopped, reason: gitReason(stderr) }))
  })
}

/** git's `fatal:` line when there is one, else its last line (progress lines end in `\r`). */
function gitReason (text: string): string {
  const lines = text.split(/[\r\n]+/).map((l) => l.trim()).filter(Boolean)
  return lines.find((l) => l.startsWith('fatal:')) ?? lines.at(-1) ?? ''
}

/** A local git command (no network: it cannot hang): its trimmed stdout, or undefined when it fails. */
export async function gitOutput (args: string[]): Promise<string | undefined> {
  return await new Promise((resolve) => {
    execFile('git', args, { env: { ...process.env, ...GIT_ENV }, maxBuffer: 64 * 1024 * 1024 }, (err, stdout) => {
      resolve(err === null ? stdout.trim() : undefined)
    })
  })
}

/** Rejects like Node's own APIs do when their signal aborts: name `AbortError`, code `ABORT_ERR`, the reason as `cause`. */
export function abortError (message: string, signal: AbortSignal): Error {
  return Object.assign(new Error(message, { cause: signal.reason }), { name: 'AbortError', code: 'ABORT_ERR' })
}

// scheme://userinfo@host: the userinfo runs to the last "@" before the path.
const USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)([^/?#\s'"]*)@/gi

/**
 * `text` with the password of every URL in it replaced by `***`
 * (`https://user:***@host/x.git`). An http(s) URL with a user and no
 * password is masked whole (`https://***@host`): that is how access tokens
 * are usually given (`https://<token>@github.com/...`).
 */
export function redactUrls (text: string): string {
  return text.replace(USERINFO, (match, scheme: string, userinfo: string) => {
    const colon = userinfo.indexOf(':')
    if (colon >= 0) return `${scheme}${userinfo.slice(0, colon)}:***@`
    return /^https?:/i.test(scheme) && userinfo !== '' ? `${scheme}***@` : match
  })
}

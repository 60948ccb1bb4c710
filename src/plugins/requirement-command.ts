import { once } from 'node:events'
import { readLines } from '../log/lines.js'
import { drainOutput } from '../supervisor/drain-output.js'
import { runAlive, terminateRun, type Run } from '../supervisor/kill-group.js'
import { newRunId } from '../supervisor/run-id.js'
import { spawnLeader } from '../supervisor/spawn-leader.js'

// A plugin's REQUIREMENT_COMMAND (`npm install`, `pip install -r ...`) runs
// as the leader of its own process group, like a supervised plugin, so that
// ending it ends what it started too (npm's node-gyp, a shell's background
// jobs): on its time limit, on a stop or reload of the plugin, and on
// shutdown. Its output is published line by line as it comes, so a long
// install shows its progress in the plugin's log.

/** Where the command's output goes: one call a line, as a subprocess line. */
export type CommandOutput = (stream: 'stdout' | 'stderr', line: string, pid: number | undefined) => void

export interface CommandOptions {
  cwd: string
  output: CommandOutput
  /** Milliseconds before the command is ended and `timedOut` is reported. */
  timeoutMs: number
  /** Milliseconds between SIGTERM and SIGKILL when it is ended. */
  killGraceMs: number
  /** Ends the command (its whole group); `run` then rejects with the signal's reason. */
  signal: AbortSignal
  /** Told the command's process group and run id while it runs, and undefined once it is gone (written down, and for a forced exit's SIGKILL). */
  group?: (run: Required<Run> | undefined) => void
}

export type CommandResult =
  /** `leftovers`: it exited, but processes it started were still running in its group (now ended). */
  | { exitCode: number, leftovers: boolean }
  | { failed: string }
  | { timedOut: true }

/**
 * Runs `argv` to its end, its time limit or an abort. Whatever its group
 * still holds once it has ended (background jobs it left) is ended too: a
 * load step must not leave processes nobody supervises.
 */
export async function runCommand (argv: string[], options: CommandOptions): Promise<CommandResult> {
  options.signal.throwIfAborted()
  const [file, ...args] = argv
  // A run id too: what leaves its group (setsid) is ended with it.
  const run = { pgid: 0, runId: newRunId() }
  const subprocess = spawnLeader(file, args, { cwd: options.cwd, runId: run.runId })
  // Its result waits for the pipes, which a background job may hold: the exit is what counts.
  subprocess.catch(() => {})
  const exit = new Promise<{ code: number | null, signal: string | null }>((resolve) => subprocess.once('exit', (code, signal) => resolve({ code, signal })))
  try {
    await once(subprocess, 'spawn')
  } catch (err) {
    const hint = (err as NodeJS.ErrnoException).code === 'ENOENT' ? ` (not found: check the command and PATH, or the folder ${options.cwd})` : ''
    return { failed: `cannot run "${file}"${hint}: ${(err as Error).message}` }
  }
  const pgid = run.pgid = subprocess.pid!
  options.group?.(run)
  let delivered = 0
  const read = (stream: 'stdout' | 'stderr'): Promise<void> =>
    readLines(subprocess[stream]!, (line) => {
      delivered++
      options.output(stream, line, pgid)
    }).catch(() => {})
  const output = Promise.all([read('stdout'), read('stderr')])

  let timer: NodeJS.Timeout | undefined
  let onAbort: (() => void) | undefined
  const ended = await Promise.race([
    exit,
    new Promise<'timeout' | 'aborted'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), options.timeoutMs)
      onAbort = () => resolve('aborted')
      if (options.signal.aborted) onAbort()
      else options.signal.addEventListener('abort', onAbort, { once: true })
    })
  ])
  clearTimeout(timer)
  options.signal.removeEventListener('abort', onAbort!)
  let leftovers = false
  try {
    if (typeof ended === 'object') {
      await drainOutput(output, () => delivered)
      leftovers = runAlive(run)
    }
    await terminateRun(run, options.killGraceMs, exit)
    await drainOutput(output, () => delivered)
  } finally {
    options.group?.(undefined)
  }
  if (ended === 'aborted') throw options.signal.reason
  if (ended === 'timeout') return { timedOut: true }
  return ended.code === null ? { failed: `it was ended by ${ended.signal ?? 'a signal'}` } : { exitCode: ended.code, leftovers }
}

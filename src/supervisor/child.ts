import { once } from 'node:events'
import { stat } from 'node:fs/promises'
import type { Readable } from 'node:stream'
import { readLines } from '../log/lines.js'
import type { ExitInfo } from '../plugins/status.js'
import { exitInfo, LastLines } from './exit-info.js'
import { drainOutput } from './drain-output.js'
import { terminateRun, type Run } from './kill-group.js'
import { newRunId } from './run-id.js'
import { spawnLeader } from './spawn-leader.js'

/** What to run: a program, its arguments, working directory and extra environment. */
export interface ProcessSpec {
  file: string
  args: string[]
  cwd: string
  /** Added to the server's environment; an `undefined` value removes the variable. */
  env: Record<string, string | undefined>
}

/**
 * Where a child's output goes: a line as text, or the whole lines of a
 * chunk as bytes, `bytes[start, end)` (see readLines' `onLines`).
 */
export interface ChildOutput {
  line: (stream: 'stdout' | 'stderr', line: string, pid: number) => void
  lines: (stream: 'stdout' | 'stderr', bytes: Buffer, start: number, end: number, pid: number) => void
}

type ExitStatus = [code: number | null, signal: NodeJS.Signals | null]

/**
 * One run of a supervised program, as the leader of its own process group,
 * with a run id of its own in its environment (see run-id.ts). Its stdout and
 * stderr are split into lines for `onLine`; `exited` resolves with how it
 * ended once it has exited and its output is read.
 */
export class Child {
  readonly pid: number
  /** What a stop ends: the group it leads and whatever carries its run id. */
  readonly run: Required<Run>
  readonly startedAt = Date.now()
  /** Settles when the leader has exited and been reaped. */
  readonly leaderExit: Promise<void>
  readonly exited: Promise<ExitInfo>
  /** Set before a stop, so its exit is not taken for a crash. */
  stopRequested = false

  /** Spawns the program; rejects with the OS error when it cannot be run. */
  static async spawn (spec: ProcessSpec, output: ChildOutput): Promise<Child> {
    await checkFolder(spec.cwd)
    const runId = newRunId()
    const subprocess = spawnLeader(spec.file, spec.args, { cwd: spec.cwd, env: spec.env, runId })
    const exit = new Promise<ExitStatus>((resolve) => subprocess.once('exit', (code, signal) => resolve([code, signal])))
    try {
      await once(subprocess, 'spawn')
    } catch (err) {
      throw new Error(spawnError(spec, err as NodeJS.ErrnoException))
    }
    return new Child(subprocess.pid!, runId, subprocess.stdout!, subprocess.stderr!, exit, output)
  }

  private constructor (pid: number, runId: string, stdout: Readable, stderr: Readable, exit: Promise<ExitStatus>, output: ChildOutput) {
    this.pid = pid
    this.run = { pgid: pid, runId }
    const last = new LastLines()
    /** Output deliveries so far: whether more came while waiting for the rest (see drainOutput). */
    let delivered = 0
    const read = (stream: 'stdout' | 'stderr', source: Readable): Promise<void> =>
      readLines(source, (line) => {
        delivered++
        last.push(line)
        output.line(stream, line, pid)
      }, {
        onLines: (bytes, start, end) => {
          delivered++
          last.pushLines(bytes, start, end)
          output.lines(stream, bytes, start, end, pid)
        }
      }).catch(() => {})
    const drained = Promise.all([read('stdout', stdout), read('stderr', stderr)])
    this.leaderExit = exit.then(() => {})
    this.exited = exit.then(async ([code, signal]) => {
      const info = exitInfo(code, signal, this.startedAt, [])
      // A grandchild may hold the pipes open: not waited for long.
      await drainOutput(drained, () => delivered)
      info.lastLines = last.lines
      return info
    })
  }

  /** SIGTERM to the whole run, SIGKILL after `timeoutMs`; resolves once all are gone. */
  terminate (timeoutMs: number): Promise<'gone' | 'killed'> {
    this.stopRequested = true
    return terminateRun(this.run, timeoutMs, this.leaderExit)
  }
}

async function checkFolder (cwd: string): Promise<void> {
  let isFolder: boolean
  try {
    isFolder = (await stat(cwd)).isDirectory()
  } catch (err) {
    throw new Error(`ENTRYPOINT ${cwd} cannot be used as working directory: ${(err as Error).message}`)
  }
  if (!isFolder) throw new Error(`ENTRYPOINT ${cwd} is not a folder (ENOTDIR)`)
}

const HINTS: Record<string, string> = {
  ENOENT: 'not found (check LAUNCH and PATH)',
  EACCES: 'not executable or not readable (check its permissions)'
}

function spawnError (spec: ProcessSpec, err: NodeJS.ErrnoException): string {
  const hint = err.code !== undefined && HINTS[err.code] !== undefined ? `${HINTS[err.code]}: ` : ''
  return `cannot run "${spec.file}" in ${spec.cwd}: ${hint}${err.message}`
}

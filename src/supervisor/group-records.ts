import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { runAlive, terminateRun, type Run } from './kill-group.js'
import { procStat, STAT } from './proc-stat.js'

// Plugin processes run in process groups of their own, so a server killed
// without a chance to stop them (SIGKILL, the OOM killer) leaves them
// running. Every group the server starts is written down in
// `<data dir>/run/<plugin>.json`, with the run id its processes carry, and
// crossed out once it ended; the next server on that data dir ends the groups
// still written down whose server is gone, and what left them carrying the
// run id (see run-id.ts). A process is recognised by its start time in /proc,
// so a pid the system has reused since is never signalled; where there is no
// /proc (macOS), nothing is written down.

interface GroupRecord {
  pgid: number
  /** The run id its processes carry (missing in records of servers before run ids). */
  runId?: string
  /** The leader's start time (clock ticks after boot, /proc/<pid>/stat field 22). */
  started: string
  /** The server that started it, and that server's start time. */
  owner: number
  ownerStarted: string
}

/** Milliseconds a leftover group gets between SIGTERM and SIGKILL. */
const LEFTOVER_STOP_MS = 2000

/** A process's start time, or undefined when it is gone (or there is no /proc). */
function startTime (pid: number): string | undefined {
  return procStat(pid)?.[STAT.starttime]
}

export interface Leftover {
  plugin: string
  pgid: number
  how: 'gone' | 'killed'
}

export class GroupRecords {
  readonly #dir: string
  /** This server's start time, written with each group: the mark that the group's server still runs. */
  readonly #ownerStarted = startTime(process.pid)

  constructor (dir: string) {
    this.#dir = dir
  }

  /** Writes down a group this server started (its leader's pid is its id), and the run id its processes carry. */
  started (plugin: string, pgid: number, runId: string): void {
    const started = startTime(pgid)
    if (started === undefined || this.#ownerStarted === undefined) return
    const record: GroupRecord = { pgid, runId, started, owner: process.pid, ownerStarted: this.#ownerStarted }
    mkdirSync(this.#dir, { recursive: true })
    writeFileSync(this.#file(plugin), JSON.stringify(record))
  }

  /** Crosses the plugin's group out: it ended. */
  ended (plugin: string): void {
    rmSync(this.#file(plugin), { force: true })
  }

  /**
   * Ends every group written down by a server that is no longer running,
   * with what carries its run id (SIGTERM, SIGKILL after 2 s), and crosses
   * it out. A group whose server still runs (another server on the same data
   * dir) is left alone.
   */
  async endLeftovers (): Promise<Leftover[]> {
    let files: string[]
    try {
      files = readdirSync(this.#dir).filter((f) => f.endsWith('.json'))
    } catch {
      return [] // never written: nothing left over
    }
    const ending: Array<Promise<Leftover | undefined>> = files.map(async (file) => {
      const plugin = file.slice(0, -'.json'.length)
      const path = this.#file(plugin)
      let record: GroupRecord
      try {
        record = JSON.parse(readFileSync(path, 'utf8')) as GroupRecord
      } catch {
        rmSync(path, { force: true })
        return undefined
      }
      if (startTime(record.owner) === record.ownerStarted) return undefined
      rmSync(path, { force: true })
      // A living leader must be the one written down; without its leader, a
      // group id cannot have been handed out again while members remain. A
      // run id is random: whatever carries it is the run's.
      const leader = startTime(record.pgid)
      const run: Run = { pgid: leader === undefined || leader === record.started ? record.pgid : undefined, runId: record.runId }
      if (!runAlive(run)) return undefined
      return { plugin, pgid: record.pgid, how: await terminateRun(run, LEFTOVER_STOP_MS) }
    })
    return (await Promise.all(ending)).filter((l): l is Leftover => l !== undefined)
  }

  #file (plugin: string): string {
    return join(this.#dir, `${plugin}.json`)
  }
}

import { once } from 'node:events'
import { sep } from 'node:path'
import { createStream, type RotatingFileStream } from 'rotating-file-stream'
import type { LineBatch, LogHub } from './hub.js'
import { SERVER_PLUGIN } from './record.js'
import { SerialWriter } from './serial-writer.js'

// Per-plugin log files: `<dir>/<plugin>.log` (the server's own is
// `aigis.log`), one JSON record a line, rotated by size the logrotate way
// (`x.log.1` is the newest rotated, up to `x.log.<files>`). Once a turn of
// the event loop the hub hands over the new records' JSON lines, as runs of
// one plugin: a flood costs one write a turn, not one a line.

export interface LogFilesOptions {
  /** The folder for the files, e.g. `<data dir>/logs`. */
  dir: string
  /** Bytes after which a file is rotated. */
  maxSize?: number
  /** Rotated files kept per plugin. */
  maxFiles?: number
}

export const DEFAULT_LOG_FILE_SIZE = 10 * 1024 * 1024
export const DEFAULT_LOG_FILES = 5

interface LogFile {
  stream: RotatingFileStream
  failed: boolean
  /** One write at a time (see #read). */
  writer: SerialWriter
}

/** Makes a plugin name safe as a file name (names are checked elsewhere; this is a second fence). */
function fileName (plugin: string): string {
  const safe = plugin.replace(/[^A-Za-z0-9_-]/g, '_')
  return `${safe === '' ? '_' : safe}.log`
}

export class LogFiles {
  readonly #hub: LogHub
  readonly #options: Required<LogFilesOptions>
  /** By plugin id (see LogHub.pluginIdAt). */
  #byPlugin: Array<LogFile | undefined> = []
  #files = new Map<string, LogFile>()
  #stopReading: () => void
  #closed = false

  constructor (hub: LogHub, options: LogFilesOptions) {
    this.#hub = hub
    this.#options = {
      dir: options.dir,
      maxSize: options.maxSize ?? DEFAULT_LOG_FILE_SIZE,
      maxFiles: options.maxFiles ?? DEFAULT_LOG_FILES
    }
    this.#stopReading = hub.onRecords(this.#read)
  }

  /**
   * Writes each run of one plugin's lines to its file. One write at a time
   * per file, and everything that came meanwhile in the next: rotating-file-
   * stream writes its buffered chunks one by one, a turn of the event loop
   * each, which a flood outruns.
   */
  #read = (lines: LineBatch): void => {
    for (const { plugin, view } of lines.runs) {
      const file = this.#file(plugin)
      // Never dropped: what the disk has not taken yet waits in the writer.
      if (!file.failed) file.writer.push(view)
    }
  }

  #file (id: number): LogFile {
    let file = this.#byPlugin[id]
    if (file !== undefined) return file
    const plugin = this.#hub.pluginName(id)
    const name = fileName(plugin)
    file = this.#files.get(name)
    if (file === undefined) {
      const stream = createStream(name, {
        path: this.#options.dir.endsWith(sep) ? this.#options.dir : this.#options.dir + sep,
        size: `${Math.max(1, Math.floor(this.#options.maxSize))}B`,
        rotate: this.#options.maxFiles
      })
      const created: LogFile = { stream, failed: false, writer: new SerialWriter((data, done) => { if (created.failed) done(); else stream.write(data, done) }) }
      stream.on('error', (err) => {
        if (created.failed) return
        created.failed = true
        // Said once, through the hub (stdout, SSE and the other files).
        this.#hub.publish({ time: Date.now(), level: 'error', plugin: SERVER_PLUGIN, stream: 'log', msg: `log file ${name} failed, its records are no longer written: ${err.message}` })
      })
      file = created
      this.#files.set(name, file)
    }
    this.#byPlugin[id] = file
    return file
  }

  /** Writes what is pending, closes every file and stops taking records. */
  async close (): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    this.#hub.flush()
    this.#stopReading()
    await Promise.all([...this.#files.values()].map(async (file) => await this.#end(file)))
  }

  /**
   * Writes a deleted plugin's pending records and closes its file: each
   * plugin added and deleted kept a file descriptor open for the server's
   * life, and enough of them ran the server out of descriptors. A record
   * that comes for the name later opens the file again.
   */
  async closePlugin (plugin: string): Promise<void> {
    this.#hub.flush()
    const name = fileName(plugin)
    const file = this.#files.get(name)
    if (file === undefined) return
    this.#files.delete(name)
    this.#byPlugin = this.#byPlugin.map((f) => f === file ? undefined : f)
    await this.#end(file)
  }

  async #end (file: LogFile): Promise<void> {
    if (file.failed || file.stream.destroyed) return
    const finished = once(file.stream, 'finish').catch(() => {})
    // What waits for the write under way goes first; end() then follows every write.
    const rest = file.writer.takePending()
    if (rest !== undefined) file.stream.write(rest)
    file.stream.end()
    await finished
  }
}

import { once } from 'node:events'
import { sep } from 'node:path'
import { createStream, type RotatingFileStream } from 'rotating-file-stream'
import type { LogHub } from './hub.js'
import { SERVER_PLUGIN } from './record.js'

// Per-plugin log files: `<dir>/<plugin>.log` (the server's own is
// `aigis.log`), one JSON record a line, rotated by size the logrotate way
// (`x.log.1` is the newest rotated, up to `x.log.<files>`). Once a turn of
// the event loop, the new records' JSON lines are copied out of the hub's
// ring into one buffer per plugin: a flood costs one write a turn, not one
// a line.

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
  #cursor: number
  #stopReading: () => void
  #closed = false

  constructor (hub: LogHub, options: LogFilesOptions) {
    this.#hub = hub
    this.#options = {
      dir: options.dir,
      maxSize: options.maxSize ?? DEFAULT_LOG_FILE_SIZE,
      maxFiles: options.maxFiles ?? DEFAULT_LOG_FILES
    }
    this.#cursor = hub.lastSeq + 1
    this.#stopReading = hub.onRecords(this.#read)
  }

  /** Copies the JSON lines of the records since the last call into one buffer per plugin, and writes them. */
  #read = (): void => {
    const hub = this.#hub
    const last = hub.lastSeq
    const from = Math.max(this.#cursor, hub.firstSeq)
    if (from > last) return
    this.#cursor = last + 1
    const sizes: number[] = []
    for (let seq = from; seq <= last; seq++) {
      const id = hub.pluginIdAt(seq)
      sizes[id] = (sizes[id] ?? 0) + hub.lineLength(seq)
    }
    const buffers: Buffer[] = []
    const at: number[] = []
    sizes.forEach((size, id) => {
      buffers[id] = Buffer.allocUnsafe(size)
      at[id] = 0
    })
    for (let seq = from; seq <= last; seq++) {
      const id = hub.pluginIdAt(seq)
      at[id] = hub.copyLine(seq, buffers[id], at[id])
    }
    buffers.forEach((lines, id) => {
      const file = this.#file(id)
      // Never dropped: the disk is far faster than any producer, and the stream buffers if not.
      if (!file.failed) file.stream.write(lines)
    })
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
      const created: LogFile = { stream, failed: false }
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
    this.#stopReading()
    this.#read()
    await Promise.all([...this.#files.values()].map(async (file) => {
      if (file.failed || file.stream.destroyed) return
      const finished = once(file.stream, 'finish').catch(() => {})
      file.stream.end()
      await finished
    }))
  }
}

import { EventEmitter } from 'node:events'
import { LEVELS, levelName, type LevelName } from './levels.js'
import { SERVER_PLUGIN, type LogInput, type LogRecord } from './record.js'

/** A retained record with its JSON text, serialized once for every destination. */
export interface HubEntry {
  record: LogRecord
  json: string
}

export interface LogHubOptions {
  /** Records kept in memory for replay (SSE `lines`, Last-Event-ID, plugin logs). */
  capacity?: number
  /** Records below this level are dropped at the door. */
  level?: LevelName
}

export interface LogFilter {
  plugins?: ReadonlySet<string>
  stream?: string
  minLevel?: number
}

/** The object a pino/bunyan JSON line holds, or undefined for any other line. */
function parseStructured (line: string): Record<string, unknown> | undefined {
  try {
    const value = JSON.parse(line)
    if (typeof value === 'object' && value !== null && !Array.isArray(value) && levelName(value.level) !== undefined) return value
  } catch {}
  return undefined
}

export function matches (record: LogRecord, filter: LogFilter): boolean {
  if (filter.plugins !== undefined && !filter.plugins.has(record.plugin)) return false
  if (filter.stream !== undefined && record.stream !== filter.stream) return false
  if (filter.minLevel !== undefined && LEVELS[record.level] < filter.minLevel) return false
  return true
}

/**
 * The single path every log record takes. It numbers records, keeps the last
 * `capacity` of them in a ring for replay, and emits `record` for each
 * destination (stdout, files, SSE clients) to pick up.
 */
export class LogHub extends EventEmitter<{ record: [HubEntry] }> {
  readonly capacity: number
  #ring: Array<HubEntry | undefined>
  #seq = 0
  #minLevel: number

  constructor (options: LogHubOptions = {}) {
    super()
    this.capacity = options.capacity ?? 100_000
    this.#ring = new Array(this.capacity)
    this.#minLevel = LEVELS[options.level ?? 'info']
  }

  /** Sequence number of the newest record (0 before the first). */
  get lastSeq (): number {
    return this.#seq
  }

  /** Sequence number of the oldest record still retained. */
  get firstSeq (): number {
    return Math.max(1, this.#seq - this.capacity + 1)
  }

  /** Adds a record; returns it, or undefined when it is below the minimum level. */
  publish (input: LogInput): LogRecord | undefined {
    if (LEVELS[input.level] < this.#minLevel) return undefined
    const record = { seq: ++this.#seq, ...input } as LogRecord
    const entry = { record, json: JSON.stringify(record) }
    this.#ring[record.seq % this.capacity] = entry
    this.emit('record', entry)
    return record
  }

  /** Adds a record from one line of pino JSON (the server's and plugins' loggers). */
  publishJson (line: string): LogRecord | undefined {
    let parsed: Record<string, unknown>
    try {
      parsed = JSON.parse(line)
    } catch {
      parsed = { msg: line.trimEnd() }
    }
    const { level, time, plugin, stream, msg, ...fields } = parsed
    return this.publish({
      ...fields,
      time: typeof time === 'number' ? time : Date.now(),
      level: levelName(level) ?? 'info',
      plugin: typeof plugin === 'string' ? plugin : SERVER_PLUGIN,
      stream: stream === 'stdout' || stream === 'stderr' ? stream : 'log',
      msg: typeof msg === 'string' ? msg : msg === undefined ? '' : String(msg)
    })
  }

  /**
   * Adds one line a subprocess printed. A line that is a JSON object with a
   * pino/bunyan `level` keeps its level, message and fields; any other line
   * is a record at `info` (stdout) or `error` (stderr).
   */
  publishLine (plugin: string, stream: 'stdout' | 'stderr', pid: number | undefined, line: string): LogRecord | undefined {
    const structured = line.startsWith('{') ? parseStructured(line) : undefined
    if (structured !== undefined) {
      const { level, time, msg, message, plugin: _p, stream: _s, seq: _q, pid: _pid, ...fields } = structured
      return this.publish({
        ...fields,
        time: typeof time === 'number' ? time : Date.now(),
        level: levelName(level)!,
        plugin,
        stream,
        pid,
        msg: String(msg ?? message ?? '')
      })
    }
    return this.publish({ time: Date.now(), level: stream === 'stderr' ? 'error' : 'info', plugin, stream, pid, msg: line })
  }

  /** The retained entry with this sequence number, if it is still in the ring. */
  entry (seq: number): HubEntry | undefined {
    if (seq < this.firstSeq || seq > this.#seq) return undefined
    return this.#ring[seq % this.capacity]
  }

  /** The last `count` retained records that match `filter`, oldest first. */
  tail (count: number, filter: LogFilter = {}): LogRecord[] {
    const found: LogRecord[] = []
    for (let seq = this.#seq; seq >= this.firstSeq && found.length < count; seq--) {
      const entry = this.#ring[seq % this.capacity]
      if (entry !== undefined && matches(entry.record, filter)) found.push(entry.record)
    }
    return found.reverse()
  }
}

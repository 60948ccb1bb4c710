import { isUtf8 } from 'node:buffer'
import { EventEmitter } from 'node:events'
import { LEVELS, levelName, type LevelName } from './levels.js'
import { SERVER_PLUGIN, type LogInput, type LogRecord, type LogStream } from './record.js'
import { decodeLine, wasCut } from './lines.js'
import { Framer } from './framer.js'
import { FrameRing, LineBuffer, type LineBatch } from './ring.js'

export type { LineBatch } from './ring.js'
import { LogStreams, type LogStreamsOptions } from './sse.js'

/** A record with its JSON text, serialized once for every destination. */
export interface HubEntry {
  record: LogRecord
  json: string
}

export interface LogHubOptions {
  /** Records kept in memory for replay (SSE `lines`, Last-Event-ID, plugin logs); default 100,000. */
  capacity?: number
  /** Bytes of records kept in memory at most; older records go first. Default 32 MiB. */
  maxBytes?: number
  /** Records below this level are dropped at the door. */
  level?: LevelName
  /** Milliseconds records may wait to be handed to stdout, files and SSE together (default 2). */
  handOverMs?: number
  /** How SSE clients are paced (heartbeat, lag allowed, stall timeout). */
  sse?: LogStreamsOptions
}

export interface LogFilter {
  plugins?: ReadonlySet<string>
  stream?: string
  minLevel?: number
}

/** One line of `recordCounts()`. */
export interface RecordCount {
  plugin: string
  level: LevelName
  count: number
}

/** Per plugin: its id in the ring, its name as JSON, counts, the seqs of its latest records. */
interface PluginLog {
  id: number
  name: string
  json: string
  count: number
  byLevel: Float64Array
  recent: Float64Array
  /** By stream id: the JSON between the time and the message of its lines (see #middleText), and for which pid. */
  middle: Array<string | undefined>
  middlePid: Array<number | undefined>
  /** By stream id: the same with the time before it, encoded (see #head), and for which time. */
  head: Array<Buffer | undefined>
  headTime: number[]
  /** Its records in the ring now. */
  retained: number
  /** The JSON of its latest records evicted from the ring, oldest first (see #evicted), and their length. */
  archive: string[]
  archiveLength: number
}

/** Without a prototype, so that a stream named like one of its keys (`toString`) is unknown. */
const STREAM_IDS: Record<string, number> = Object.assign(Object.create(null), { log: 0, stdout: 1, stderr: 2 })
const LEVEL_NAMES = Object.keys(LEVELS) as LevelName[]
const LEVEL_INDEX = new Map(LEVEL_NAMES.map((name, i) => [name, i]))

/** Most records of one plugin found without scanning the whole ring. */
const PLUGIN_INDEX = 10_000

/**
 * Records of a plugin kept beside the ring once evicted from it, at most (and
 * at most that many characters of them), so that a plugin's latest records
 * outlive another plugin's flood.
 */
const ARCHIVE_RECORDS = 1000
const ARCHIVE_LENGTH = 256 * 1024

/** Bytes of records that are handed over at once, however recent the last hand-over. */
const HAND_OVER_BYTES = 1024 * 1024

/** Records the clock is read for once (and at least once a turn of the event loop). */
const CLOCK_REUSE = 64

/** The object a pino/bunyan JSON line holds, or undefined for any other line. */
function parseStructured (line: string): Record<string, unknown> | undefined {
  try {
    const value = JSON.parse(line)
    if (typeof value === 'object' && value !== null && !Array.isArray(value) && levelName(value.level) !== undefined) return value
  } catch {}
  return undefined
}

/** A `level` field near the start of a JSON line (pino writes it first, bunyan after a few short fields). */
const LEVEL_FIELD = /"level":\s*(\d+|"[A-Za-z]+")/

/**
 * The level of a pino/bunyan JSON line that was cut at the length limit, and
 * so no longer parses, read from its start; undefined for any other line.
 */
function cutJsonLevel (line: string): LevelName | undefined {
  if (!wasCut(line)) return undefined
  const field = LEVEL_FIELD.exec(line.slice(0, 512))
  return field === null ? undefined : levelName(field[1].startsWith('"') ? field[1].slice(1, -1) : Number(field[1]))
}

function timeOf (value: unknown): number {
  if (typeof value === 'number' && Number.isFinite(value)) return value
  if (typeof value === 'string') {
    const parsed = Date.parse(value)
    if (!Number.isNaN(parsed)) return parsed
  }
  return Date.now()
}

function text (value: unknown): string {
  if (typeof value === 'string') return value
  if (value === undefined || value === null) return ''
  return typeof value === 'object' ? JSON.stringify(value) : String(value)
}

/** A `record` event whose JSON is read back from the ring only when asked for (made anew once it is gone from there). */
class RingEntry implements HubEntry {
  constructor (readonly record: LogRecord, readonly ring: FrameRing) {}

  get json (): string {
    const { seq } = this.record
    return seq >= this.ring.firstSeq ? this.ring.json(seq) : JSON.stringify(this.record)
  }
}

/**
 * The single path every log record takes. It numbers records, encodes each
 * once and keeps the latest as SSE frames in a ring (see ring.ts), with each
 * one's JSON line in a buffer for the writers. The destinations are handed
 * records in bulk: every `onRecords` reader (stdout, the files, the SSE pump)
 * gets the lines of the records since its last call and writes them, or
 * views of the ring, as they are. The `record` event gives each record as an
 * object to whoever listens (with its JSON read back only when asked for);
 * it costs a call a record, so counting is better done with `recordCounts`.
 */
export class LogHub extends EventEmitter<{ record: [HubEntry] }> {
  readonly capacity: number
  /** The SSE clients reading this hub. */
  readonly streams: LogStreams
  readonly #ring: FrameRing
  readonly #lines = new LineBuffer()
  #seq = 0
  #minLevel: number
  #plugins = new Map<string, PluginLog>()
  #pluginsById: PluginLog[] = []
  #readers = new Set<(lines: LineBatch) => void>()
  #turnScheduled = false
  /** The first record not yet handed to the readers, and the bytes since. */
  #pendingFrom = 1
  #pendingBytes = 0
  readonly #framer = new Framer()
  /**
   * Records, and bytes of them, that are handed over at once whatever the
   * turn (half the ring): more would overrun readers that wait for the turn
   * to end.
   */
  readonly #handOverRecords: number
  readonly #handOverBytes: number
  #lastHandOver = 0
  #handOverMs: number
  #timer: NodeJS.Timeout | undefined
  #clock = 0
  #clockText = '0'
  #clockUses = 0

  constructor (options: LogHubOptions = {}) {
    super()
    this.#ring = new FrameRing({
      capacity: options.capacity ?? 100_000,
      maxBytes: options.maxBytes ?? 32 * 1024 * 1024,
      onEvict: (seq, plugin) => this.#evicted(seq, plugin)
    })
    this.capacity = this.#ring.capacity
    this.#handOverRecords = Math.ceil(this.capacity / 2)
    this.#handOverBytes = this.#ring.maxBytes / 2
    this.#minLevel = LEVELS[options.level ?? 'info']
    this.#handOverMs = options.handOverMs ?? 2
    this.streams = new LogStreams(this, options.sse)
  }

  /** Sequence number of the newest record (0 before the first). */
  get lastSeq (): number {
    return this.#seq
  }

  /** Sequence number of the oldest record still retained (lastSeq + 1 when none is). */
  get firstSeq (): number {
    return this.#ring.firstSeq
  }

  /** How many SSE clients are connected now. */
  get sseClients (): number {
    return this.streams.clients
  }

  /** Records published so far (since start, after the level filter), by plugin. */
  countsByPlugin (): Record<string, number> {
    const counts: Record<string, number> = {}
    for (const [name, log] of this.#plugins) counts[name] = log.count
    return counts
  }

  /** Records published so far, by plugin and level (only the pairs seen). */
  recordCounts (): RecordCount[] {
    const counts: RecordCount[] = []
    for (const log of this.#pluginsById) {
      log.byLevel.forEach((count, i) => { if (count > 0) counts.push({ plugin: log.name, level: LEVEL_NAMES[i], count }) })
    }
    return counts
  }

  /**
   * Calls `read` with the JSON lines of the records added since the last
   * call: at the end of the turn of the event loop that added them, or up
   * to `handOverMs` later while records keep coming (see #endTurn). Returns
   * a function that stops it.
   */
  onRecords (read: (lines: LineBatch) => void): () => void {
    this.#readers.add(read)
    return () => { this.#readers.delete(read) }
  }

  /** Adds a record; returns it, or undefined when it is below the minimum level. */
  publish (input: LogInput): LogRecord | undefined {
    if (!(LEVELS[input.level] >= this.#minLevel)) return undefined
    const seq = this.#seq + 1
    const record = { seq, ...input } as LogRecord
    record.seq = seq
    if (STREAM_IDS[record.stream] === undefined) record.stream = 'log'
    let json: string
    try {
      json = JSON.stringify(record)
    } catch (err) {
      // A circular or BigInt field: keep the record, say why its fields are gone.
      const { time, level, plugin, stream, msg, pid } = record
      json = JSON.stringify({ seq, time, level, plugin, stream, pid, msg, logError: `fields not serializable: ${(err as Error).message}` })
    }
    this.#add(record, json)
    return record
  }

  /** Adds a record from one line of pino JSON (the server's and plugins' loggers). */
  publishJson (line: string): LogRecord | undefined {
    let parsed: Record<string, unknown>
    try {
      parsed = JSON.parse(line)
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) parsed = { msg: line.trimEnd() }
    } catch {
      parsed = { msg: line.trimEnd() }
    }
    const { level, time, plugin, stream, msg, ...fields } = parsed
    const name = levelName(level) ?? 'info'
    if (!(LEVELS[name] >= this.#minLevel)) return undefined
    // pino's own line already has every key in place: prefix the seq instead of serializing again.
    if (typeof level === 'string' && level === name && typeof time === 'number' && typeof plugin === 'string' &&
        (stream === 'log' || stream === 'stdout' || stream === 'stderr') && typeof msg === 'string' &&
        !('seq' in fields) && line.startsWith('{"level":')) {
      const seq = this.#seq + 1
      const end = line.endsWith('\n') ? line.length - 1 : line.length
      const record = { seq, ...fields, time, level: name, plugin, stream, msg } as LogRecord
      record.seq = seq
      this.#add(record, '{"seq":' + seq + ',' + line.slice(1, end))
      return record
    }
    return this.publish({
      ...fields,
      time: timeOf(time),
      level: name,
      plugin: typeof plugin === 'string' ? plugin : SERVER_PLUGIN,
      stream: stream === 'stdout' || stream === 'stderr' ? stream : 'log',
      msg: text(msg)
    })
  }

  /**
   * Adds one line a subprocess printed. A line that is a JSON object with a
   * pino/bunyan `level` keeps its level, message and fields (one cut at the
   * length limit keeps its level, as text); any other line is a record at
   * `info` (stdout) or `error` (stderr).
   */
  publishLine (plugin: string, stream: 'stdout' | 'stderr', pid: number | undefined, line: string): LogRecord | undefined {
    if (line.charCodeAt(0) === 123 /* { */) {
      const structured = parseStructured(line)
      if (structured !== undefined) return this.#publishStructured(plugin, stream, pid, structured)
      // Cut at the length limit, it is kept as text, at the level it had.
      const level = cutJsonLevel(line)
      if (level !== undefined) return this.publish({ time: Date.now(), level, plugin, stream, pid, msg: line })
    }
    const level: LevelName = stream === 'stderr' ? 'error' : 'info'
    if (LEVELS[level] < this.#minLevel) return undefined
    const seq = this.#seq + 1
    const time = this.#now()
    const log = this.#plugin(plugin)
    const record: LogRecord = { seq, time, level, plugin, stream, pid, msg: line }
    const s = '' + seq
    this.#store(record, 'id: ' + s + '\nevent: log\ndata: {"seq":' + s + ',"time":' + this.#clockText + this.#middleText(log, stream, pid, level) + JSON.stringify(line).slice(1) + '}\n\n', s.length + 22, log)
    return record
  }

  /**
   * Adds the lines a subprocess printed that `bytes` holds from `start` to
   * `end`: whole lines, each ending in `\n`, as readLines hands them over.
   * Each becomes what `publishLine` makes of it; the hottest case, lines of
   * UTF-8 that are not JSON and have nothing to escape, are framed by the
   * Framer a chunk at a time, without a string of a line or of its record.
   * The lines of a chunk share one time: they came in one read.
   */
  publishLines (plugin: string, stream: 'stdout' | 'stderr', pid: number | undefined, bytes: Buffer, start: number, end: number): void {
    const lines = bytes.subarray(start, end)
    const level: LevelName = stream === 'stderr' ? 'error' : 'info'
    // Records wanted as objects, lines below the level (a JSON one may be above it), or broken UTF-8: one by one.
    if (LEVELS[level] < this.#minLevel || this.listenerCount('record') > 0 || !isUtf8(lines)) {
      this.#publishEach(plugin, stream, pid, lines, 0)
      return
    }
    const log = this.#plugin(plugin)
    this.#readClock()
    if (!this.#framer.load(lines, this.#head(log, stream, pid, level))) {
      this.#publishEach(plugin, stream, pid, lines, 0)
      return
    }
    const ring = this.#ring
    const streamId = STREAM_IDS[stream]
    const levelIndex = LEVEL_INDEX.get(level)!
    for (let at = 0; at < lines.length;) {
      const seq = this.#seq + 1
      // Handed over at the same marks as one record at a time (see #pend), before a frame that would pass one;
      // when nothing waits, a frame larger than the mark goes alone.
      if (this.#handOverDue(seq)) this.flush()
      const waiting = this.#pendingFrom <= this.#seq
      const maxRecords = this.#handOverRecords - (seq - this.#pendingFrom)
      const framed = this.#framer.frame(at, seq, maxRecords, waiting ? Math.min(ring.room(), this.#handOverBytes - this.#pendingBytes) : ring.room(), this.#lines.room())
      if (framed.count > 0) {
        const added = ring.appendFrames(seq, framed, log.id, streamId, LEVELS[level])
        this.#lines.append(framed.lines, log.id)
        for (let i = 0; i < framed.count; i++) this.#count(seq + i, log, levelIndex)
        this.#pend(added)
      }
      at = framed.next
      if (framed.needed > 0) {
        // No room for the next frame: in the ring's chunk, the line buffer's, or before the next hand-over.
        if (framed.needed > ring.room()) ring.makeRoom(framed.needed)
        else if (framed.needed > this.#lines.room()) this.#lines.reserve(framed.needed, log.id)
        else this.flush()
      } else if (at < lines.length && framed.count < maxRecords) {
        // A line that is JSON or has something to escape.
        at = this.#publishEach(plugin, stream, pid, lines, at, 1)
      }
    }
  }

  /** Publishes the lines of `lines` from `at` on one by one (`count` of them at most); returns where the next starts. */
  #publishEach (plugin: string, stream: 'stdout' | 'stderr', pid: number | undefined, lines: Buffer, at: number, count = Infinity): number {
    for (let n = 0; n < count && at < lines.length; n++) {
      const newline = lines.indexOf(10, at)
      this.publishLine(plugin, stream, pid, decodeLine(lines, at, newline))
      at = newline + 1
    }
    return at
  }

  /** `,"level":..,"plugin":..,"stream":..,"pid":..,"msg":"` for a plugin's stream, kept for its next line. */
  #middleText (log: PluginLog, stream: 'stdout' | 'stderr', pid: number | undefined, level: LevelName): string {
    const i = STREAM_IDS[stream]
    if (log.middlePid[i] !== pid || log.middle[i] === undefined) {
      log.middlePid[i] = pid
      log.middle[i] = ',"level":"' + level + '","plugin":' + log.json + ',"stream":"' + stream + (pid === undefined ? '"' : '","pid":' + pid) + ',"msg":"'
      log.head[i] = undefined
    }
    return log.middle[i]!
  }

  /** `,"time":..` and the middle text, encoded, for the lines of a plugin's stream now. */
  #head (log: PluginLog, stream: 'stdout' | 'stderr', pid: number | undefined, level: LevelName): Buffer {
    const middle = this.#middleText(log, stream, pid, level)
    const time = this.#now()
    const i = STREAM_IDS[stream]
    if (log.head[i] === undefined || log.headTime[i] !== time) {
      log.head[i] = Buffer.from(',"time":' + this.#clockText + middle)
      log.headTime[i] = time
    }
    return log.head[i]!
  }

  #publishStructured (plugin: string, stream: LogStream, pid: number | undefined, line: Record<string, unknown>): LogRecord | undefined {
    const { level, time, msg, message, plugin: _plugin, stream: _stream, seq: _seq, pid: _pid, ...fields } = line
    const name = levelName(level)!
    if (msg !== undefined && message !== undefined) fields.message = message
    // Keys the record owns are kept with a leading underscore, as ctx.log's are (see logger.ts).
    if (_plugin !== undefined) fields._plugin = _plugin
    if (_stream !== undefined) fields._stream = _stream
    if (_seq !== undefined) fields._seq = _seq
    if (_pid !== undefined) fields._pid = _pid
    return this.publish({ time: timeOf(time), level: name, plugin, stream, pid, msg: text(msg ?? message), ...fields })
  }

  /** Date.now(), read once for a run of records in the same turn of the event loop. */
  #now (): number {
    if (--this.#clockUses < 0) this.#readClock()
    return this.#clock
  }

  /** Reads the clock now, for the next CLOCK_REUSE records. */
  #readClock (): void {
    this.#clockUses = CLOCK_REUSE
    this.#clock = Date.now()
    this.#clockText = '' + this.#clock
  }

  #plugin (name: string): PluginLog {
    let log = this.#plugins.get(name)
    if (log === undefined) {
      const json = JSON.stringify(name)
      log = { id: this.#pluginsById.length, name, json, count: 0, byLevel: new Float64Array(LEVEL_NAMES.length), recent: new Float64Array(64), middle: [], middlePid: [], head: [], headTime: [], retained: 0, archive: [], archiveLength: 0 }
      this.#plugins.set(name, log)
      this.#pluginsById.push(log)
    }
    return log
  }

  #add (record: LogRecord, json: string): void {
    const prefix = 'id: ' + (this.#seq + 1) + '\nevent: log\ndata: '
    this.#store(record, prefix + json + '\n\n', prefix.length, this.#plugin(record.plugin), json)
  }

  /**
   * Keeps the record's SSE frame (its JSON starts at `dataAt`) in the ring
   * and its JSON line in the turn's lines, counts it, tells listeners.
   */
  #store (record: LogRecord, frame: string, dataAt: number, log: PluginLog, json?: string): void {
    const seq = record.seq
    const bytes = this.#ring.append(seq, frame, dataAt, log.id, STREAM_IDS[record.stream], LEVELS[record.level])
    // Copied from the ring's bytes: the frame is encoded once.
    this.#lines.appendFrom(this.#ring, seq, seq, log.id, bytes)
    this.#stored(record, seq, bytes, log, json)
  }

  /** Counts a record the ring now holds, tells listeners, and has it handed over. */
  #stored (record: LogRecord, seq: number, bytes: number, log: PluginLog, json?: string): void {
    this.#counted(seq, bytes, log, LEVEL_INDEX.get(record.level)!)
    if (this.listenerCount('record') > 0) this.emit('record', json !== undefined ? { record, json } : new RingEntry(record, this.#ring))
  }

  /** Counts record `seq` (of `bytes` in the ring, at level index `level`) and has it handed over. */
  #counted (seq: number, bytes: number, log: PluginLog, level: number): void {
    this.#count(seq, log, level)
    this.#pend(bytes)
  }

  /** Counts record `seq` of a plugin, at level index `level`. */
  #count (seq: number, log: PluginLog, level: number): void {
    this.#seq = seq
    let recent = log.recent
    if (log.count === recent.length && recent.length < PLUGIN_INDEX) {
      // Grows with the plugin's output, so a name seen once costs little.
      const grown = new Float64Array(Math.min(PLUGIN_INDEX, recent.length * 4))
      grown.set(recent)
      recent = log.recent = grown
    }
    recent[log.count % recent.length] = seq
    log.count++
    log.retained++
    log.byLevel[level]++
  }

  /** Has the records up to the newest, `bytes` more of them, handed over. */
  #pend (bytes: number): void {
    this.#pendingBytes += bytes
    if (this.#handOverDue(this.#seq)) {
      this.flush()
    } else if (!this.#turnScheduled) {
      this.#turnScheduled = true
      setImmediate(this.#endTurn)
    }
  }

  /** Whether what waits, up to record `seq`, is as much as is handed over at once (see #handOverRecords). */
  #handOverDue (seq: number): boolean {
    return seq - this.#pendingFrom >= this.#handOverRecords || this.#pendingBytes >= this.#handOverBytes
  }

  /**
   * Record `seq` of plugin `id` leaves the ring. When the plugin has fewer
   * than ARCHIVE_RECORDS left there, its JSON is kept in the plugin's
   * archive: a plugin that floods keeps far more than that in the ring, so
   * a flood costs a count a record here, and only a quieter plugin's records
   * pushed out by the flood are copied.
   */
  #evicted (seq: number, id: number): void {
    const log = this.#pluginsById[id]
    if (--log.retained >= ARCHIVE_RECORDS) return
    const json = this.#ring.json(seq)
    log.archive.push(json)
    log.archiveLength += json.length
    while (log.archive.length > ARCHIVE_RECORDS || log.archiveLength > ARCHIVE_LENGTH) log.archiveLength -= log.archive.shift()!.length
  }

  /** Hands the records not yet handed over to the readers now (before closing one, say). */
  flush (): void {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer)
      this.#timer = undefined
    }
    if (this.#pendingFrom > this.#seq) return
    this.#pendingFrom = this.#seq + 1
    this.#pendingBytes = 0
    this.#lastHandOver = Date.now()
    this.#notify()
  }

  /**
   * At the end of a turn with new records: hand them over at once when the
   * last hand-over is older than `handOverMs` or they fill a write, else
   * when that time is up. A trickle goes out at once; a flood of small
   * reads (a child writing a line at a time) goes out in writes of many
   * records, not a write to every destination for each read.
   */
  #endTurn = (): void => {
    this.#turnScheduled = false
    this.#clockUses = 0
    const since = Date.now() - this.#lastHandOver
    if (since >= this.#handOverMs || this.#pendingBytes >= HAND_OVER_BYTES) this.flush()
    else this.#timer ??= setTimeout(this.#onTimer, this.#handOverMs - since).unref()
  }

  #onTimer = (): void => {
    this.#timer = undefined
    this.flush()
  }

  #notify (): void {
    const lines = this.#lines.take()
    for (const read of this.#readers) read(lines)
  }

  /** The JSON text of a retained record (no bounds check: `firstSeq <= seq <= lastSeq`). */
  jsonAt (seq: number): string {
    return this.#ring.json(seq)
  }

  /**
   * Hands `write` views of the SSE frames of retained records `from` to `to`,
   * each with a `done` to call once written (the bytes behind it are reused
   * after that; see ring.ts).
   */
  writeFramesAt (from: number, to: number, write: (view: Buffer, done: () => void) => void): void {
    this.#ring.writeFrames(from, to, write)
  }

  /** Bytes of the SSE frame of a retained record. */
  frameLength (seq: number): number {
    return this.#ring.frameLength(seq)
  }

  /** The name of a plugin id from `pluginIdAt`. */
  pluginName (id: number): string {
    return this.#pluginsById[id].name
  }

  /**
   * A check of whether a retained record (no bounds check) matches `filter`,
   * on the ids the ring keeps beside each record, without parsing it. Each
   * plugin's name is looked up in the filter once, not once a record: an SSE
   * client with a filter checks every record of a flood. Undefined when the
   * filter lets every record through.
   */
  matcher (filter: LogFilter): ((seq: number) => boolean) | undefined {
    const plugins = filter.plugins
    if (plugins === undefined && filter.stream === undefined && filter.minLevel === undefined) return undefined
    const ring = this.#ring
    const stream = filter.stream === undefined ? undefined : STREAM_IDS[filter.stream] ?? -1
    const minLevel = filter.minLevel ?? 0
    const byId = this.#pluginsById
    /** By plugin id: whether the filter wants its records (ids are dense, in order of first record). */
    let wanted = new Uint8Array(0)
    const wants = (id: number): boolean => {
      if (id >= wanted.length) {
        const grown = new Uint8Array(byId.length)
        grown.set(wanted)
        for (let i = wanted.length; i < grown.length; i++) grown[i] = plugins!.has(byId[i].name) ? 1 : 0
        wanted = grown
      }
      return wanted[id] === 1
    }
    return (seq) => {
      const slot = seq % ring.capacity
      if (plugins !== undefined && !wants(ring.pluginOf[slot])) return false
      if (stream !== undefined && ring.streamOf[slot] !== stream) return false
      return ring.levelOf[slot] >= minLevel
    }
  }

  /** The retained entry with this sequence number, if it is still in the ring. */
  entry (seq: number): HubEntry | undefined {
    if (seq < this.firstSeq || seq > this.#seq) return undefined
    const json = this.jsonAt(seq)
    return { record: JSON.parse(json), json }
  }

  /**
   * The last `count` records that match `filter`, oldest first: retained
   * ones, and for a filter on one plugin also those of its archive (its
   * latest records evicted from the ring, see #evicted).
   */
  tail (count: number, filter: LogFilter = {}): LogRecord[] {
    return this.tailJson(count, filter).map((json) => JSON.parse(json))
  }

  /** Like `tail`, as each record's JSON text: a large tail is sent without parsing and serializing every record again. */
  tailJson (count: number, filter: LogFilter = {}): string[] {
    const records = this.tailSeqs(count, filter).map((seq) => this.jsonAt(seq))
    const archive = filter.plugins?.size === 1 ? this.#plugins.get([...filter.plugins][0])?.archive : undefined
    if (archive === undefined || records.length >= count) return records
    const older: string[] = []
    for (let i = archive.length - 1; i >= 0 && older.length + records.length < count; i--) {
      const record = JSON.parse(archive[i]) as LogRecord
      if ((filter.stream === undefined || record.stream === filter.stream) && LEVELS[record.level] >= (filter.minLevel ?? 0)) older.push(archive[i])
    }
    return [...older.reverse(), ...records]
  }

  /** Like `tail`, with each record's JSON text. */
  tailEntries (count: number, filter: LogFilter = {}): HubEntry[] {
    return this.tailSeqs(count, filter).map((seq) => {
      const json = this.jsonAt(seq)
      return { record: JSON.parse(json), json }
    })
  }

  /** The sequence numbers of the last `count` retained records that match `filter`, oldest first. */
  tailSeqs (count: number, filter: LogFilter = {}): number[] {
    const found: number[] = []
    if (count <= 0) return found
    const first = this.firstSeq
    let seq = this.#seq
    const matches = this.matcher(filter) ?? (() => true)
    const only = filter.plugins?.size === 1 ? this.#plugins.get([...filter.plugins][0]) : undefined
    if (filter.plugins?.size === 1 && only === undefined) return found
    if (only !== undefined) {
      // The plugin's own index first: a quiet plugin's records are found without a full scan.
      const recent = only.recent
      const indexed = Math.min(only.count, recent.length)
      for (let k = 1; k <= indexed && found.length < count; k++) {
        seq = recent[(only.count - k) % recent.length]
        if (seq < first) return found.reverse()
        if (matches(seq)) found.push(seq)
      }
      if (indexed === only.count) return found.reverse()
      seq-- // older records than the index holds: scan the ring from there
    }
    for (; seq >= first && found.length < count; seq--) {
      if (matches(seq)) found.push(seq)
    }
    return found.reverse()
  }
}

// The log hub and the line reader, driven directly and by real child
// processes: record shape, pino/bunyan lines, escaping, levels, retention,
// lookups, and what readLines makes of awkward output.
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import t from 'tap'
import { LogHub, type LineBatch } from '../src/log/hub.js'
import { MAX_LINE_LENGTH, readLines } from '../src/log/lines.js'

const PRINTER = join(import.meta.dirname, 'fixtures', 'log-printer.mjs')

/** Runs `node -e source` and feeds its stdout and stderr to the hub as `plugin`, like the supervisor does (whole lines as bytes). */
async function runChild (hub: LogHub, plugin: string, args: string[]): Promise<number> {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] })
  const pid = child.pid!
  const feed = (stream: 'stdout' | 'stderr'): Promise<void> => readLines(child[stream], (line) => { hub.publishLine(plugin, stream, pid, line) }, {
    onLines: (bytes, start, end) => hub.publishLines(plugin, stream, pid, bytes, start, end)
  })
  await Promise.all([feed('stdout'), feed('stderr'), once(child, 'exit')])
  return pid
}

/** Every retained record, parsed from the JSON the hub serves. */
function retained (hub: LogHub): any[] {
  const records = []
  for (let seq = hub.firstSeq; seq <= hub.lastSeq; seq++) records.push(JSON.parse(hub.jsonAt(seq)))
  return records
}

t.test('a subprocess line is one record: stdout at info, stderr at error, with pid and a rising seq', async (t) => {
  const hub = new LogHub()
  const pid = await runChild(hub, 'worker', ['-e', 'console.log("hello"); console.error("oh no")'])
  const records = retained(hub)
  t.equal(records.length, 2)
  const out = records.find((r) => r.stream === 'stdout')
  const err = records.find((r) => r.stream === 'stderr')
  t.match(out, { level: 'info', plugin: 'worker', pid, msg: 'hello' })
  t.match(err, { level: 'error', plugin: 'worker', pid, msg: 'oh no' })
  for (const r of records) {
    t.type(r.seq, 'number')
    t.type(r.time, 'number')
    t.ok(Math.abs(r.time - Date.now()) < 60_000, 'time is the epoch in ms')
  }
  t.not(out.seq, err.seq)
  t.equal(hub.lastSeq, 2)
})

t.test('a pino or bunyan JSON line keeps its level, message and fields', async (t) => {
  const hub = new LogHub({ level: 'trace' })
  const lines = [
    { level: 40, time: 1700000000000, msg: 'pino warn', pid: 999, hostname: 'h', user: { id: 7 } },
    { name: 'app', hostname: 'h', pid: 1, level: 50, msg: 'bunyan error', time: '2024-01-02T03:04:05.000Z', v: 0 },
    { level: 'debug', message: 'by name, winston style', extra: true },
    { level: 'WARNING', msg: 'upper case name' },
    { level: 35, msg: 'between levels rounds down' },
    { level: 30, msg: 'kept', message: 'both given', seq: 123, plugin: 'other', stream: 'x' },
    { level: 'CRITICAL', msg: 'Python\'s name' },
    { level: 'err', msg: 'syslog\'s name' },
    { level: 'notice', msg: 'syslog\'s notice' },
    { level: '50', msg: 'a number as text' }
  ]
  const source = lines.map((l) => `console.log(${JSON.stringify(JSON.stringify(l))})`).join(';')
  const pid = await runChild(hub, 'structured', ['-e', source])
  const records = retained(hub)
  t.equal(records.length, lines.length)
  t.match(records[0], { level: 'warn', msg: 'pino warn', time: 1700000000000, hostname: 'h', user: { id: 7 }, plugin: 'structured', stream: 'stdout', pid, _pid: 999 })
  t.match(records[1], { level: 'error', msg: 'bunyan error', time: Date.parse('2024-01-02T03:04:05.000Z'), name: 'app', v: 0, pid, _pid: 1 })
  t.match(records[2], { level: 'debug', msg: 'by name, winston style', extra: true })
  t.notOk('message' in records[2], 'message became msg')
  t.match(records[3], { level: 'warn', msg: 'upper case name' })
  t.match(records[4], { level: 'info', msg: 'between levels rounds down' })
  t.match(records[5], { level: 'info', msg: 'kept', message: 'both given', plugin: 'structured', stream: 'stdout', pid, _seq: 123, _plugin: 'other', _stream: 'x' }, 'keys the record owns are kept with a leading underscore')
  t.equal(records[5].seq, hub.lastSeq - 4, 'the line cannot set its own seq, plugin or stream')
  t.same(records.slice(6).map((r) => r.level), ['fatal', 'error', 'info', 'error'], 'other loggers\' level names, and digits')
})

t.test('JSON that is not a log record, and broken JSON, are plain lines', async (t) => {
  const hub = new LogHub()
  hub.publishLine('p', 'stdout', 1, '{"no":"level"}')
  hub.publishLine('p', 'stdout', 1, '{"level":30, broken')
  hub.publishLine('p', 'stdout', 1, '[1,2,3]')
  t.same(retained(hub).map((r) => r.msg), ['{"no":"level"}', '{"level":30, broken', '[1,2,3]'])
})

t.test('any text survives the JSON round trip', async (t) => {
  const hub = new LogHub()
  const texts = ['say "hi"', 'back\\slash', 'tab\there', 'bell\u0007 and esc\u001b[31m', 'é ü 日本語 🚀', 'lone \ud800 surrogate', '', '   ']
  for (const text of texts) {
    hub.publishLine('p', 'stdout', 1, text)
    hub.publishLine('p', 'stderr', undefined, text)
  }
  const records = retained(hub)
  t.same(records.map((r) => r.msg), texts.flatMap((text) => [text, text]))
  hub.publish({ time: 1, level: 'info', plugin: 'aigis', stream: 'log', msg: 'über "quoted"', nested: { a: ['x', 1] } })
  t.match(JSON.parse(hub.jsonAt(hub.lastSeq)), { msg: 'über "quoted"', nested: { a: ['x', 1] } })
})

t.test('plugin names that need escaping stay valid JSON', async (t) => {
  const hub = new LogHub()
  hub.publishLine('we"ird\\name é', 'stdout', 1, 'plain text')
  t.match(JSON.parse(hub.jsonAt(1)), { plugin: 'we"ird\\name é', msg: 'plain text' })
})

t.test('LOG_LEVEL drops records below it at the hub', async (t) => {
  const hub = new LogHub({ level: 'warn' })
  t.equal(hub.publishLine('p', 'stdout', 1, 'info line'), undefined)
  t.ok(hub.publishLine('p', 'stderr', 1, 'error line'))
  t.equal(hub.publish({ time: 1, level: 'info', plugin: 'aigis', stream: 'log', msg: 'dropped' }), undefined)
  t.ok(hub.publish({ time: 1, level: 'boot', plugin: 'aigis', stream: 'log', msg: 'lifecycle is above everything' }))
  t.equal(hub.publishLine('p', 'stdout', 1, JSON.stringify({ level: 'debug', msg: 'dropped too' })), undefined)
  t.equal(hub.publishJson('{"level":"info","time":1,"plugin":"aigis","stream":"log","msg":"x"}\n'), undefined)
  t.same(retained(hub).map((r) => r.msg), ['error line', 'lifecycle is above everything'])
})

t.test('pino lines from the server logger: seq first, keys as pino wrote them', async (t) => {
  const hub = new LogHub()
  const record = hub.publishJson('{"level":"warn","time":1700000000000,"plugin":"aigis","stream":"log","reqId":"r1","msg":"slow"}\n')
  t.match(record, { seq: 1, level: 'warn', plugin: 'aigis', stream: 'log', reqId: 'r1', msg: 'slow' })
  t.equal(hub.jsonAt(1), '{"seq":1,"level":"warn","time":1700000000000,"plugin":"aigis","stream":"log","reqId":"r1","msg":"slow"}')
  hub.publishJson('{"level":"info","time":5,"plugin":"aigis","stream":"log","seq":"mine","msg":"a seq field of its own"}')
  t.match(JSON.parse(hub.jsonAt(2)), { seq: 2, msg: 'a seq field of its own' })
  hub.publishJson('not json at all\n')
  t.match(JSON.parse(hub.jsonAt(3)), { seq: 3, level: 'info', plugin: 'aigis', stream: 'log', msg: 'not json at all' })
  hub.publishJson('{"level":30,"time":"2024-01-01T00:00:00Z","msg":{"an":"object"},"stream":"weird"}')
  t.match(JSON.parse(hub.jsonAt(4)), { level: 'info', time: Date.parse('2024-01-01T00:00:00Z'), plugin: 'aigis', stream: 'log', msg: '{"an":"object"}' })
})

t.test('a record whose fields cannot be serialized is kept, saying so', async (t) => {
  const hub = new LogHub()
  const circular: Record<string, unknown> = {}
  circular.self = circular
  hub.publish({ time: 1, level: 'error', plugin: 'aigis', stream: 'log', msg: 'with a loop', circular })
  hub.publish({ time: 1, level: 'info', plugin: 'aigis', stream: 'log', msg: 'big', n: 10n })
  const [loop, big] = retained(hub)
  t.match(loop, { msg: 'with a loop', logError: /not serializable/ })
  t.match(big, { msg: 'big', logError: /not serializable/ })
})

t.test('the ring keeps the latest records, by count and by bytes', async (t) => {
  const hub = new LogHub({ capacity: 10 })
  for (let i = 1; i <= 25; i++) hub.publishLine('p', 'stdout', 1, `line ${i}`)
  t.equal(hub.lastSeq, 25)
  t.equal(hub.firstSeq, 16)
  t.equal(hub.entry(15), undefined)
  t.equal(hub.entry(26), undefined)
  t.match(hub.entry(16)?.record, { seq: 16, msg: 'line 16' })
  t.same(retained(hub).map((r) => r.msg), Array.from({ length: 10 }, (_, i) => `line ${i + 16}`))

  const small = new LogHub({ capacity: 1000, maxBytes: 2000 })
  for (let i = 1; i <= 100; i++) small.publishLine('p', 'stdout', 1, `line ${i} ${'x'.repeat(100)}`)
  const kept = small.lastSeq - small.firstSeq + 1
  t.ok(kept >= 5 && kept <= 12, `about 2000 bytes of ~200-byte frames are kept (${kept})`)
  t.equal(JSON.parse(small.jsonAt(small.lastSeq)).msg, `line 100 ${'x'.repeat(100)}`)

  // A record bigger than a whole chunk still fits.
  const huge = new LogHub()
  const text = 'y'.repeat(2 * 1024 * 1024)
  huge.publishLine('p', 'stdout', 1, text)
  huge.publishLine('p', 'stdout', 1, 'after')
  t.equal(JSON.parse(huge.jsonAt(1)).msg.length, text.length)
  t.equal(JSON.parse(huge.jsonAt(2)).msg, 'after')
})

t.test('tail finds the last matching records, oldest first', async (t) => {
  const hub = new LogHub({ level: 'trace', capacity: 50_000 })
  for (let i = 1; i <= 45_000; i++) {
    hub.publishLine(i % 3 === 0 ? 'quiet' : 'busy', i % 2 === 0 ? 'stderr' : 'stdout', 1, `line ${i}`)
  }
  hub.publish({ time: 1, level: 'warn', plugin: 'rare', stream: 'log', msg: 'once' })
  t.same(hub.tail(3).map((r) => r.msg), ['line 44999', 'line 45000', 'once'])
  t.same(hub.tail(2, { plugins: new Set(['quiet']) }).map((r) => r.msg), ['line 44997', 'line 45000'])
  t.same(hub.tail(5, { plugins: new Set(['rare']) }).map((r) => r.msg), ['once'])
  t.same(hub.tail(5, { plugins: new Set(['nobody']) }), [])
  t.same(hub.tail(2, { plugins: new Set(['quiet', 'rare']) }).map((r) => r.msg), ['line 45000', 'once'])
  t.same(hub.tail(2, { stream: 'stdout' }).map((r) => r.msg), ['line 44997', 'line 44999'])
  t.same(hub.tail(2, { minLevel: 40 }).map((r) => r.msg), ['line 45000', 'once'])
  t.same(hub.tail(2, { plugins: new Set(['quiet']), stream: 'stdout' }).map((r) => r.msg), ['line 44991', 'line 44997'])
  // More than a plugin's own index holds (10,000): the rest is found by scanning the ring.
  const quiet = hub.tail(12_000, { plugins: new Set(['quiet']) })
  t.equal(quiet.length, 12_000)
  t.equal(quiet[0].msg, 'line 9003')
  t.ok(quiet.every((r, i) => i === 0 || r.seq > quiet[i - 1].seq), 'in order')
  t.same(hub.tail(0), [])
  t.equal(hub.tailEntries(1)[0].json, hub.jsonAt(hub.lastSeq))
})

t.test('a stream the hub does not know, even one named like an object key, is stored as log and matches no filter', async (t) => {
  const hub = new LogHub()
  const record = hub.publish({ time: 1, level: 'info', plugin: 'p', stream: 'toString' as 'log', msg: 'odd stream' })
  t.equal(record?.stream, 'log')
  t.same(hub.tail(5, { stream: 'log' }).map((r) => r.msg), ['odd stream'])
  t.same(hub.tail(5, { stream: 'toString' }), [])
  t.same(hub.tail(5, { stream: 'constructor' }), [])
})

t.test('counts by plugin and by plugin and level', async (t) => {
  const hub = new LogHub()
  hub.publishLine('a', 'stdout', 1, 'x')
  hub.publishLine('a', 'stderr', 1, 'y')
  hub.publishLine('b', 'stdout', 1, 'z')
  hub.publishLine('b', 'stdout', 1, JSON.stringify({ level: 'debug', msg: 'dropped' }))
  t.same(hub.countsByPlugin(), { a: 2, b: 1 })
  t.same(hub.recordCounts(), [
    { plugin: 'a', level: 'info', count: 1 },
    { plugin: 'a', level: 'error', count: 1 },
    { plugin: 'b', level: 'info', count: 1 }
  ])
})

t.test('publishLines hands readers the same JSON lines as publishLine, across ring chunks and with a small ring', async (t) => {
  // Plain lines are framed a chunk at a time (see framer.ts): a quoted line cuts a batch, and
  // so do the ring's limits and its chunks' room; 4,000 lines span ring chunks, some are long.
  const lines: string[] = []
  for (let i = 1; i <= 4000; i++) lines.push(i % 997 === 0 ? `line ${i} "quoted"` : i % 1500 === 0 ? `line ${i} ${'x'.repeat(i === 3000 ? 20_000 : 3000)}` : `line ${i} the quick brown fox jumps over the lazy dog`)
  const bytes = Buffer.from(lines.join('\n') + '\n')
  const handedOver = (hub: LogHub, feed: (hub: LogHub) => void): any[] => {
    const batches: LineBatch[] = []
    hub.onRecords((batch) => batches.push(batch))
    feed(hub)
    hub.flush()
    return Buffer.concat(batches.flatMap((b) => b.views)).toString().trimEnd().split('\n').map((l) => ({ ...JSON.parse(l), time: 0 }))
  }
  const expected = handedOver(new LogHub(), (hub) => { for (const line of lines) hub.publishLine('p', 'stdout', 3, line) })
  t.equal(expected.length, 4000)
  t.same(handedOver(new LogHub(), (hub) => hub.publishLines('p', 'stdout', 3, bytes, 0, bytes.length)), expected, 'one call, a large ring')
  t.same(handedOver(new LogHub({ capacity: 7, maxBytes: 5000 }), (hub) => hub.publishLines('p', 'stdout', 3, bytes, 0, bytes.length)), expected, 'one call, a ring of 7 records and 5,000 bytes')
})

t.test('a flood\'s hand-overs follow each other in memory, so a writer joins them without a copy', async (t) => {
  // SerialWriter copies what waits only when it is not one stretch of memory (see LINE_CHUNK_BYTES).
  const hub = new LogHub()
  const views: Buffer[] = []
  hub.onRecords((batch) => views.push(...batch.views))
  const chunk = Buffer.from(Array.from({ length: 1300 }, (_, i) => `${i} the quick brown fox jumps over the lazy dog 0123456789\n`).join(''))
  for (let handOver = 0; handOver < 5; handOver++) {
    hub.publishLines('flood', 'stdout', 42, chunk, 0, chunk.length)
    hub.flush()
  }
  t.equal(views.length, 5, 'a view a hand-over')
  t.ok(views.every((view) => view.length > 190_000), 'of ~200 KB each, as a flood hands over every 2 ms')
  const adjacent = views.slice(1).filter((view, i) => view.buffer === views[i].buffer && views[i].byteOffset + views[i].length === view.byteOffset)
  t.ok(adjacent.length >= 3, `${adjacent.length} of 4 follow the one before`)
})

t.test('readers get each turn\'s JSON lines once, in order, as runs of one plugin', async (t) => {
  const hub = new LogHub()
  const batches: LineBatch[] = []
  const stop = hub.onRecords((lines) => batches.push(lines))
  hub.publishLine('a', 'stdout', 1, 'one')
  hub.publishLine('a', 'stdout', 1, 'two')
  hub.publishLine('b', 'stdout', 1, 'three "quoted"')
  hub.publishLine('a', 'stdout', 1, 'four')
  t.equal(batches.length, 0, 'nothing until the turn ends')
  await new Promise((resolve) => setImmediate(resolve))
  t.equal(batches.length, 1)
  const text = Buffer.concat(batches[0].views).toString()
  t.same(text.trimEnd().split('\n').map((l) => JSON.parse(l).msg), ['one', 'two', 'three "quoted"', 'four'])
  t.same(batches[0].runs.map((r) => [r.plugin, r.view.toString().split('\n').length - 1]), [[0, 2], [1, 1], [0, 1]])
  hub.publishLine('a', 'stdout', 1, 'five')
  hub.flush()
  t.equal(batches.length, 2, 'flush hands them over at once')
  await new Promise((resolve) => setImmediate(resolve))
  t.equal(batches.length, 2, 'and not twice')
  stop()
  hub.publishLine('a', 'stdout', 1, 'six')
  await new Promise((resolve) => setImmediate(resolve))
  t.equal(batches.length, 2, 'a stopped reader gets nothing')
})

t.test('the record event gives each record with its JSON', async (t) => {
  const hub = new LogHub()
  const seen: Array<{ seq: number, json: string }> = []
  hub.on('record', ({ record, json }) => seen.push({ seq: record.seq, json }))
  hub.publishLine('p', 'stdout', 4, 'plain')
  hub.publishLine('p', 'stdout', 4, 'not "plain"')
  hub.publish({ time: 1, level: 'info', plugin: 'aigis', stream: 'log', msg: 'm' })
  t.same(seen.map((s) => s.seq), [1, 2, 3])
  t.match(seen.map((s) => JSON.parse(s.json)), [
    { seq: 1, plugin: 'p', stream: 'stdout', pid: 4, level: 'info', msg: 'plain' },
    { seq: 2, plugin: 'p', stream: 'stdout', pid: 4, level: 'info', msg: 'not "plain"' },
    { seq: 3, plugin: 'aigis', stream: 'log', level: 'info', msg: 'm' }
  ])
  for (const s of seen) t.equal(s.json, hub.jsonAt(s.seq), 'the same text the hub keeps')

  // An entry kept past its record's time in the ring still gives the right JSON.
  const small = new LogHub({ capacity: 2 })
  const kept: Array<{ json: string }> = []
  small.on('record', (entry) => kept.push(entry))
  for (let i = 1; i <= 5; i++) small.publishLine('p', 'stdout', 1, `line ${i}`)
  t.same(kept.map((entry) => JSON.parse(entry.json).msg), ['line 1', 'line 2', 'line 3', 'line 4', 'line 5'])
})

t.test('readLines: a last line without newline, CRLF, empty lines, split characters', async (t) => {
  const hub = new LogHub()
  const script = `
    process.stdout.write('first\\r\\nsecond\\n\\nthird')
    process.stdout.write(Buffer.from([0x63, 0x61, 0x66, 0xc3]))
    setTimeout(() => process.stdout.write(Buffer.from([0xa9, 0x0a, 0x6c, 0x61, 0x73, 0x74])), 50)
  `
  await runChild(hub, 'p', ['-e', script])
  t.same(retained(hub).map((r) => r.msg), ['first', 'second', '', 'thirdcafé', 'last'])
})

t.test('readLines: a very long line is cut and marked, not fatal, and the next line is whole', async (t) => {
  const hub = new LogHub()
  const long = 3 * MAX_LINE_LENGTH + 17
  await runChild(hub, 'p', ['-e', `process.stdout.write('a'.repeat(${long}) + '\\nnext\\n' + 'b'.repeat(${MAX_LINE_LENGTH + 5}))`])
  const [cut, next, last] = retained(hub)
  // Compared in parts, so a failure does not print 64 KiB of "a".
  t.equal(cut.msg.length, MAX_LINE_LENGTH + ` ... [truncated ${long - MAX_LINE_LENGTH} chars]`.length - 1)
  t.ok(cut.msg.startsWith('a'.repeat(MAX_LINE_LENGTH) + '...'), 'the first 64 KiB are kept')
  t.equal(cut.msg.slice(MAX_LINE_LENGTH), `... [truncated ${long - MAX_LINE_LENGTH} chars]`)
  t.equal(next.msg, 'next')
  t.equal(last.msg.slice(MAX_LINE_LENGTH), '... [truncated 5 chars]')
})

t.test('a pino or bunyan line cut at the length limit keeps its level; its text is the message', async (t) => {
  const hub = new LogHub()
  const script = `
    console.log(JSON.stringify({ level: 50, time: 1, msg: 'y'.repeat(${MAX_LINE_LENGTH + 100}) }))
    console.log(JSON.stringify({ name: 'app', hostname: 'h', pid: 1, level: 'warn', msg: 'z'.repeat(${MAX_LINE_LENGTH}) }))
    console.log('{"not":"a log line", "text": "' + 'x'.repeat(${MAX_LINE_LENGTH}) + '"}')
  `
  await runChild(hub, 'p', ['-e', script])
  const [pino, bunyan, other] = retained(hub)
  t.match(pino, { level: 'error', stream: 'stdout', plugin: 'p' })
  t.ok(pino.msg.startsWith('{"level":50,"time":1,"msg":"yyy'), 'the cut JSON is the message')
  t.match(pino.msg.slice(MAX_LINE_LENGTH), /^\.\.\. \[truncated \d+ chars\]$/)
  t.match(bunyan, { level: 'warn' })
  t.match(other, { level: 'info' }, 'a cut JSON line without a level: stdout\'s info')
})

t.test('readLines: a flood of lines arrives whole and in order', async (t) => {
  const hub = new LogHub({ capacity: 200_000 })
  const count = 100_000
  await runChild(hub, 'flood', [PRINTER, String(count), 'batch', '--no-final-newline'])
  t.equal(hub.lastSeq, count)
  let expected = 1
  let bad = 0
  for (let seq = 1; seq <= count; seq++) {
    if (!hub.jsonAt(seq).includes(`"msg":"${expected++} the quick`)) bad++
  }
  t.equal(bad, 0, 'every line once, in order, the last one without its newline too')
})

t.test('readLines takes a chunk a turn of the event loop, so other work runs between a flood\'s chunks', async (t) => {
  const source = new PassThrough()
  const events: string[] = []
  const done = readLines(source, (line) => events.push(line))
  // Three chunks waiting at once, as libuv hands a flood over (up to 32 reads a poll).
  source.write('a\n')
  source.write('b\n')
  source.write('c\n')
  source.end()
  setImmediate(() => events.push('other work'))
  await done
  t.same(events.filter((e) => e !== 'other work'), ['a', 'b', 'c'])
  const other = events.indexOf('other work')
  t.ok(other >= 0 && other < events.indexOf('c'), `the work queued meanwhile ran before the last chunk, not after all of them: ${events.join(', ')}`)
})

t.test('readLines rejects when its stream fails, keeping what it had', async (t) => {
  const source = new PassThrough()
  const seen: string[] = []
  const done = readLines(source, (line) => seen.push(line))
  source.write('one\ntw')
  await new Promise((resolve) => setImmediate(resolve))
  source.destroy(new Error('pipe broke'))
  await t.rejects(done, /pipe broke/)
  t.same(seen.slice(0, 1), ['one'])
})

t.test('publishLines: whole lines as bytes make the same records as publishLine, line by line', async (t) => {
  const lines = ['plain one', 'say "hi"', 'tab\there', 'crlf\r', '{"level":40,"msg":"structured"}', '{not json', '', 'é 日本 🚀', 'esc \u001b[31m red', 'last plain']
  const bytes = Buffer.from('junk\n' + lines.join('\n') + '\n')
  const byBytes = new LogHub()
  byBytes.publishLines('p', 'stdout', 7, bytes, 5, bytes.length)
  const byText = new LogHub()
  for (const line of lines) byText.publishLine('p', 'stdout', 7, line.replace(/\r$/, ''))
  const strip = (r: any): any => ({ ...r, time: 0 })
  t.same(retained(byBytes).map(strip), retained(byText).map(strip))
  t.equal(retained(byBytes)[3].msg, 'crlf', 'a \\r before the newline is not part of the line')
  t.equal(retained(byBytes)[4].level, 'warn')

  const broken = Buffer.concat([Buffer.from('ok\nbad \xff byte\n', 'latin1')])
  const hub = new LogHub()
  hub.publishLines('p', 'stderr', 7, broken, 0, broken.length)
  t.same(retained(hub).map((r) => [r.level, r.msg]), [['error', 'ok'], ['error', 'bad \ufffd byte']], 'broken UTF-8 is decoded with replacement characters')
})

t.test('a plugin\'s latest records outlive another plugin\'s flood: up to 1,000 of them are kept once evicted, for tail on that plugin', async (t) => {
  const hub = new LogHub({ capacity: 100 })
  hub.publish({ time: 1, level: 'warn', plugin: 'quiet', stream: 'log', msg: 'first', n: 1 })
  hub.publishLine('quiet', 'stderr', 7, 'second')
  const flood = Buffer.from(Array.from({ length: 1000 }, (_, i) => `line ${i}\n`).join(''))
  hub.publishLines('flood', 'stdout', 8, flood, 0, flood.length)
  for (let i = 0; i < 300; i++) hub.publish({ time: 2, level: 'info', plugin: 'flood', stream: 'log', msg: `record ${i}` })
  t.equal(hub.tailSeqs(5, { plugins: new Set(['quiet']) }).length, 0, 'none of them is in the ring any more')
  t.match(hub.tail(5, { plugins: new Set(['quiet']) }), [{ msg: 'first', level: 'warn', n: 1, plugin: 'quiet' }, { msg: 'second', stream: 'stderr', pid: 7 }])
  t.match(hub.tail(1, { plugins: new Set(['quiet']) }), [{ msg: 'second' }], 'the latest first when fewer are asked for')
  t.match(hub.tail(5, { plugins: new Set(['quiet']), stream: 'log' }), [{ msg: 'first' }], 'filtered by stream')
  t.match(hub.tail(5, { plugins: new Set(['quiet']), minLevel: 50 }), [{ msg: 'second', level: 'error' }], 'and by level')
  t.equal(hub.tail(2000, { plugins: new Set(['flood']) }).length, 1100, 'the flooding plugin: the ring\'s 100 and 1,000 archived (this ring is smaller than an archive)')
  t.match(hub.tail(1, { plugins: new Set(['flood']) }), [{ msg: 'record 299' }])

  // Retained and archived records together, oldest first, never twice.
  hub.publish({ time: 3, level: 'info', plugin: 'quiet', stream: 'log', msg: 'third' })
  t.same(hub.tail(5, { plugins: new Set(['quiet']) }).map((r) => r.msg), ['first', 'second', 'third'])

  const chatty = new LogHub({ capacity: 100 })
  for (let i = 0; i < 1500; i++) chatty.publish({ time: 1, level: 'info', plugin: 'chatty', stream: 'log', msg: `c${i}` })
  for (let i = 0; i < 2000; i++) chatty.publish({ time: 1, level: 'info', plugin: 'other', stream: 'log', msg: `o${i}` })
  const kept = chatty.tail(5000, { plugins: new Set(['chatty']) })
  t.equal(kept.length, 1000, 'at most 1,000 a plugin')
  t.same([kept[0].msg, kept.at(-1)!.msg], ['c500', 'c1499'], 'its latest, in order')
})

// The WebAssembly framer of plain subprocess lines (src/log/framer.ts): the
// committed module is the compiled source, its frames and JSON lines are
// what the hub makes of a line in JavaScript, it stops where it must, and the
// hub gives the same records through it as line by line, whatever the mix.
import { readFileSync } from 'node:fs'
import t, { type Test } from 'tap'
import { FRAMER_HEAD_BYTES, FRAMER_INPUT_BYTES, Framer, type Framed } from '../src/log/framer.js'
import { LogHub, type LineBatch } from '../src/log/hub.js'
import { FRAMER_MODULE, generateFramerModule } from '../scripts/wasm.js'

const HEAD = Buffer.from(',"time":1,"level":"info","plugin":"p","stream":"stdout","pid":9,"msg":"')

/** The frames and lines of a call, split per record. */
function split (t: Test, framed: Framed): Array<{ frame: string, line: string, dataAt: number }> {
  const records = []
  let frameAt = 0
  let lineAt = 0
  for (let i = 0; i < framed.count; i++) {
    const frame = framed.frames.toString('utf8', frameAt, frameAt + framed.lengths[i])
    const lineEnd = framed.lines.indexOf(10, lineAt) + 1
    records.push({ frame, line: framed.lines.toString('utf8', lineAt, lineEnd), dataAt: framed.dataAts[i] })
    frameAt += framed.lengths[i]
    lineAt = lineEnd
  }
  t.equal(frameAt, framed.frames.length, 'the lengths add up to the frames written')
  t.equal(lineAt, framed.lines.length, 'a JSON line a record')
  return records
}

/** What the hub's JavaScript makes of a plain line as record `seq`: its SSE frame and JSON line. */
function expected (seq: number, text: string): { frame: string, line: string } {
  const json = `{"seq":${seq}${HEAD.toString()}${text}"}`
  return { frame: `id: ${seq}\nevent: log\ndata: ${json}\n\n`, line: json + '\n' }
}

t.test('the committed module is the compiled framer source (run `npm run wasm` after changing it)', async (t) => {
  t.equal(readFileSync(FRAMER_MODULE, 'utf8'), await generateFramerModule())
})

t.test('frames plain lines as the hub does, the seq counted on across digit counts', async (t) => {
  const framer = new Framer()
  const texts = ['a', 'the quick brown fox', '', 'é 日本 🚀 (UTF-8 is plain)', 'x'.repeat(1000), 'tail']
  const input = Buffer.from(texts.map((l) => l + '\n').join(''))
  t.ok(framer.load(input, HEAD))
  for (const first of [1, 7, 97, 999_998, 2 ** 53 - 10]) {
    const framed = framer.frame(0, first, 100, 1 << 20, 1 << 20)
    t.equal(framed.count, texts.length, `from seq ${first}`)
    t.equal(framed.next, input.length)
    t.equal(framed.needed, 0)
    t.same(split(t, framed).map(({ frame, line }) => ({ frame, line })), texts.map((text, i) => expected(first + i, text)))
    t.same(split(t, framed).map(({ frame, dataAt }) => frame.slice(dataAt, dataAt + 7)), texts.map(() => '{"seq":'), 'dataAt: where the JSON starts')
  }
})

t.test('stops before a line that is not plain, or at its limits', async (t) => {
  const framer = new Framer()
  for (const stopper of ['{"level":30}', 'say "hi"', 'back\\slash', 'tab\there', 'crlf\r', 'esc \u001b[0m', 'nul \u0000']) {
    const input = Buffer.from(`one\ntwo\n${stopper}\nthree\n`)
    framer.load(input, HEAD)
    const framed = framer.frame(0, 1, 100, 1 << 20, 1 << 20)
    t.equal(framed.count, 2, JSON.stringify(stopper))
    t.equal(framed.next, 8, 'at the start of the line')
    t.equal(framed.needed, 0)
    t.equal(framer.frame(framed.next + Buffer.byteLength(stopper) + 1, 3, 100, 1 << 20, 1 << 20).count, 1, 'and goes on after it')
  }

  const input = Buffer.from('one\ntwo\nthree\n')
  framer.load(input, HEAD)
  t.equal(framer.frame(0, 1, 2, 1 << 20, 1 << 20).count, 2, 'at most maxRecords')
  const oneFrame = expected(1, 'one').frame.length
  const tight = framer.frame(0, 1, 100, oneFrame + 5, 1 << 20)
  t.same([tight.count, tight.next, tight.needed], [1, 4, expected(2, 'two').frame.length], 'the frames\' room: says what the next one needs')
  const noLines = framer.frame(0, 1, 100, 1 << 20, 10)
  t.same([noLines.count, noLines.next, noLines.needed], [0, 0, oneFrame], 'the lines\' room')
})

t.test('takes up to 64 KiB of lines and a 4 KiB head; a line may end at the last byte', async (t) => {
  const framer = new Framer()
  const line = 'y'.repeat(99) + '\n'
  const full = Buffer.from(line.repeat(FRAMER_INPUT_BYTES / line.length) + 'z'.repeat(FRAMER_INPUT_BYTES % line.length - 1) + '\n')
  t.equal(full.length, FRAMER_INPUT_BYTES)
  t.ok(framer.load(full, HEAD))
  const framed = framer.frame(0, 1, 100_000, 1 << 30, 1 << 30)
  t.equal(framed.count, Math.ceil(FRAMER_INPUT_BYTES / line.length))
  t.equal(framed.next, FRAMER_INPUT_BYTES)
  t.notOk(framer.load(Buffer.concat([full, Buffer.from('\n')]), HEAD), 'more lines: not taken')
  t.notOk(framer.load(Buffer.from('a\n'), Buffer.alloc(FRAMER_HEAD_BYTES + 1, 32)), 'a longer head: not taken')
  t.notOk(framer.load(Buffer.from('a\n'), Buffer.from(',"msg":"')), 'nor one shorter than 16 bytes')
})

/** The JSON lines readers get and the records retained, their times zeroed (lines of one read share a time). */
function outcome (hub: LogHub, feed: () => void): { lines: any[], retained: any[] } {
  const batches: LineBatch[] = []
  hub.onRecords((batch) => batches.push(batch))
  feed()
  hub.flush()
  const zero = (r: any): any => ({ ...r, time: 0 })
  const text = Buffer.concat(batches.flatMap((b) => b.views)).toString()
  const retained = []
  for (let seq = hub.firstSeq; seq <= hub.lastSeq; seq++) retained.push(zero(JSON.parse(hub.jsonAt(seq))))
  return { lines: text === '' ? [] : text.trimEnd().split('\n').map((l) => zero(JSON.parse(l))), retained }
}

t.test('the hub gives the same records and lines through the framer as line by line, for any mix of lines, chunks and ring sizes', async (t) => {
  // A seeded generator: a failure can be run again.
  let state = 12345
  const random = (n: number): number => {
    state = (state * 1103515245 + 12345) % 2 ** 31
    return state % n
  }
  const kinds = [
    () => `plain ${random(1e6)} the quick brown fox`,
    () => '',
    () => `quoted "${random(100)}"`,
    () => `{"level":${[20, 30, 40, 50][random(4)]},"msg":"json ${random(100)}","n":${random(9)}}`,
    () => '{not json',
    () => `tab\t${random(10)}`,
    () => `crlf ${random(10)}\r`,
    () => `utf8 é 日本 🚀 ${random(10)}`,
    () => 'long '.repeat(random(3000))
  ]
  for (let round = 0; round < 12; round++) {
    const lines = Array.from({ length: 200 + random(800) }, () => kinds[random(kinds.length)]())
    const bytes = Buffer.from(lines.map((l) => l + '\n').join(''))
    // Whole lines a call, as readLines hands them over: cut at random line ends.
    const cuts = [0]
    for (let at = bytes.indexOf(10) + 1; at < bytes.length; at = bytes.indexOf(10, at) + 1) if (random(40) === 0) cuts.push(at)
    cuts.push(bytes.length)
    const options = [{}, { capacity: 5 + random(50), maxBytes: 4000 + random(20_000) }, { capacity: 1 }][round % 3]
    const stream = round % 2 === 0 ? 'stdout' : 'stderr'
    const reference = new LogHub(options)
    const expectedOutcome = outcome(reference, () => { for (const line of lines) reference.publishLine('p', stream, 4, line.replace(/\r$/, '')) })
    const framed = new LogHub(options)
    const got = outcome(framed, () => { for (let i = 1; i < cuts.length; i++) framed.publishLines('p', stream, 4, bytes, cuts[i - 1], cuts[i]) })
    t.same(got.lines, expectedOutcome.lines, `round ${round}: ${lines.length} lines in ${cuts.length - 1} calls, ${JSON.stringify(options)}: the lines readers get`)
    t.same(got.retained, expectedOutcome.retained, 'the records retained')
    t.same(framed.recordCounts(), reference.recordCounts(), 'the counts')
  }
})

t.test('a plugin name too long for the framer\'s head: its lines go one by one, the same records', async (t) => {
  const name = 'n'.repeat(FRAMER_HEAD_BYTES)
  const bytes = Buffer.from('one\ntwo\n')
  const reference = new LogHub()
  const expectedOutcome = outcome(reference, () => { reference.publishLine(name, 'stdout', 1, 'one'); reference.publishLine(name, 'stdout', 1, 'two') })
  const hub = new LogHub()
  t.same(outcome(hub, () => hub.publishLines(name, 'stdout', 1, bytes, 0, bytes.length)), expectedOutcome)
})

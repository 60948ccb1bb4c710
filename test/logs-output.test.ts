// Where the central log goes besides SSE: the server's stdout (pino JSON, or
// pretty), flushed on shutdown, and the per-plugin files, rotated by size and
// flushed when the app closes. The CLI runs as a real child process.
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { buildApp } from '../src/app.js'
import { startCli, until } from './cli-helper.js'
import { tempDir, writeFiles } from './helper.js'
import { waitFor } from './supervisor-helper.js'

/** A folder with a config running one external plugin that prints and ends, its last line lacking a newline. */
async function configWithPrinter (): Promise<string> {
  const dir = tempDir()
  await writeFiles(dir, {
    'config.aigis': '[external]\nprinter = "plugins/printer"\n',
    'plugins/printer/AIGIS/AIGIS.config': 'PLUGIN_TYPE = "external"\nLAUNCH = ["node", "print.mjs"]\n',
    'plugins/printer/print.mjs': `
      console.log('plain line')
      console.error('to stderr')
      console.log(JSON.stringify({ level: 40, msg: 'structured warning', code: 7 }))
      process.stdout.write('last line without newline')
    `
  })
  return dir
}

t.test('stdout is pino JSON, one record a line, and the last lines are flushed on SIGTERM', async (t) => {
  const dir = await configWithPrinter()
  const cli = await startCli(t, ['--config', join(dir, 'config.aigis'), '--data-dir', join(dir, 'data')])
  await until('the printer\'s last line', () => cli.stdout().includes('last line without newline'))
  cli.child.kill('SIGTERM')
  const exit = await cli.exited
  t.equal(exit.code, 0)
  const lines = cli.stdout().split('\n').filter((l) => l !== '')
  const records = lines.map((l) => JSON.parse(l))
  t.ok(records.length > 5)
  for (const r of records) {
    t.type(r.seq, 'number')
    t.type(r.time, 'number')
    t.type(r.level, 'string', 'levels by name')
    t.type(r.plugin, 'string')
    t.match(r.stream, /^(log|stdout|stderr)$/)
    t.type(r.msg, 'string')
  }
  t.ok(records.every((r, i) => i === 0 || r.seq > records[i - 1].seq), 'in seq order')
  t.ok(records.some((r) => r.plugin === 'aigis' && /Server listening at http:\/\//.test(r.msg)))
  const printer = records.filter((r) => r.plugin === 'printer' && r.stream !== 'log')
  // stdout and stderr are two pipes: their lines may interleave either way.
  t.equal(printer.length, 4)
  for (const expected of [
    { stream: 'stdout', level: 'info', msg: 'plain line' },
    { stream: 'stderr', level: 'error', msg: 'to stderr' },
    { stream: 'stdout', level: 'warn', msg: 'structured warning', code: 7 },
    { stream: 'stdout', level: 'info', msg: 'last line without newline' }
  ]) t.match(printer.find((r) => r.msg === expected.msg), { ...expected, pid: Number })
  t.equal(records.at(-1).msg, 'stopped', 'the very last record made it out before exit')

  // The same records are in the files, one per plugin.
  const logs = join(dir, 'data', 'logs')
  const inFile = readFileSync(join(logs, 'printer.log'), 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l))
  t.same(inFile.filter((r) => r.stream !== 'log').map((r) => r.msg).sort(), printer.map((r) => r.msg).sort())
  t.ok(readFileSync(join(logs, 'aigis.log'), 'utf8').includes('Server listening at'), 'the server\'s own file')
})

t.test('--pretty writes lines for people', async (t) => {
  const dir = await configWithPrinter()
  const cli = await startCli(t, ['--config', join(dir, 'config.aigis'), '--data-dir', join(dir, 'data'), '--pretty'])
  await until('the printer\'s lines', () => cli.stdout().includes('last line without newline'))
  cli.child.kill('SIGTERM')
  t.equal((await cli.exited).code, 0)
  const out = cli.stdout()
  t.notOk(out.split('\n').some((l) => l.startsWith('{"seq"')), 'no JSON lines')
  t.match(out, /INFO.*\[aigis\] Server listening at http:\/\//)
  t.match(out, /ERROR.*\[printer\] to stderr/)
  t.match(out, /WARN.*\[printer\] structured warning/)
})

t.test('log files rotate by size, keep the configured count, and are complete after close', async (t) => {
  const dir = tempDir()
  await writeFiles(dir, { 'config.aigis': '' })
  const app = await buildApp({ config: join(dir, 'config.aigis'), dataDir: join(dir, 'data'), logFileSize: 4096, logFiles: 2 })
  const hub = app.aigis.hub
  const logs = join(dir, 'data', 'logs')
  const onDisk = (text: string): boolean => existsSync(logs) && readdirSync(logs).some((f) => f.startsWith('rot.log') && readFileSync(join(logs, f), 'utf8').includes(text))
  const total = 300
  for (let i = 1; i <= total; i++) {
    hub.publishLine('rot', 'stdout', 9, `record ${i} ${'z'.repeat(150)}`)
    // Ten records a write: the files grow write by write, however slow the disk.
    if (i % 10 === 0) await waitFor(`record ${i} on disk`, () => onDisk(`"record ${i} `))
  }
  await app.close()
  const names = readdirSync(logs).filter((f) => f.startsWith('rot.log')).sort()
  t.same(names, ['rot.log', 'rot.log.1', 'rot.log.2'], 'the current file and 2 rotated ones')
  const read = (name: string): any[] => readFileSync(join(logs, name), 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l))
  const kept = [...read('rot.log.2'), ...read('rot.log.1'), ...read('rot.log')]
  for (const name of names) t.ok(readFileSync(join(logs, name)).length <= 4096 + 64 * 1024, `${name} is about the rotation size`)
  t.equal(kept.at(-1).msg, `record ${total} ${'z'.repeat(150)}`, 'the last record is there, flushed on close')
  const first = Number(kept[0].msg.split(' ')[1])
  t.same(kept.map((r) => Number(r.msg.split(' ')[1])), Array.from({ length: total - first + 1 }, (_, i) => first + i), 'oldest to newest, none missing')
  t.ok(first > 1, 'the oldest were rotated away')
  t.notOk(existsSync(join(logs, 'rot.log.3')))
})

import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { call, corePlugin, tempDir, writeFiles } from './helper.js'
import { externalPlugin, pidAlive } from './supervisor-helper.js'
import { startCli, until, type RunningCli } from './cli-helper.js'

// The real CLI's shutdown: a plugin's STOP_TIMEOUT, however long, is part of
// a clean shutdown (the watchdog allows for it), and every record of the
// shutdown, the last one included, reaches the log file.

async function project (files: Record<string, string>, config: string): Promise<string[]> {
  const dir = tempDir('aigis-shutdown-limits-')
  await writeFiles(dir, { 'config.aigis': config, ...files })
  return ['--config', join(dir, 'config.aigis'), '--data-dir', join(dir, 'data')]
}

function recordOf (cli: RunningCli, plugin: string, match: RegExp): Record<string, any> | undefined {
  return cli.records().find((r) => r.plugin === plugin && typeof r.msg === 'string' && match.test(r.msg))
}

t.test('every record of a shutdown reaches the log file, the last one `stopped` included', async (t) => {
  const args = await project(corePlugin('p/hello', 'export const SKILLS = ["hi"]\nexport const hi = () => "hi"'), '[core]\nhello = "p/hello"\n')
  const cli = await startCli(t, args)
  cli.child.kill('SIGTERM')
  t.same(await cli.exited, { code: 0, signal: null }, cli.stderr())
  const stdout = cli.records().filter((r) => r.plugin === 'aigis').map((r) => r.msg)
  const file = fileRecords(args[3]).map((r) => r.msg)
  t.equal(stdout.at(-1), 'stopped')
  t.same(file.slice(file.indexOf('SIGTERM received, shutting down')), stdout.slice(stdout.indexOf('SIGTERM received, shutting down')), 'the file has what stdout has, to the last record')
})

t.test('a plugin that ignores SIGTERM is SIGKILLed after its STOP_TIMEOUT, however long, and the shutdown still exits 0', { timeout: 120_000 }, async (t) => {
  // The watchdog allowed --shutdown-timeout + 30 s whatever the plugins'
  // STOP_TIMEOUT: here 0 + 30, which a STOP_TIMEOUT of 31 s outlasts.
  const args = await project(externalPlugin('p/stubborn', 'LAUNCH = ["sh", "-c", "trap \'\' TERM; echo up; while :; do sleep 1; done"]\nSTOP_TIMEOUT = 31'), '[external]\nstubborn = "p/stubborn"\n')
  const cli = await startCli(t, [...args, '--shutdown-timeout', '0'])
  await until('the plugin to trap SIGTERM', () => recordOf(cli, 'stubborn', /^up$/) !== undefined)
  const pid = (await call(cli.url, '/plugins/stubborn')).body.pid as number
  cli.child.kill('SIGTERM')
  t.same(await cli.exited, { code: 0, signal: null }, cli.stderr())
  t.ok(recordOf(cli, 'stubborn', /did not end within STOP_TIMEOUT \(31(\.0)? s\) of SIGTERM; killed with SIGKILL/))
  t.notOk(cli.records().some((r) => r.level === 'fatal'), 'no forced exit')
  t.notOk(pidAlive(pid))
})

/** The records of `<data dir>/logs/aigis.log`, the server's own file. */
function fileRecords (dataDir: string): Array<Record<string, any>> {
  return readFileSync(join(dataDir, 'logs', 'aigis.log'), 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l))
}

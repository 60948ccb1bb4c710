import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { call, corePlugin, tempDir, writeFiles } from './helper.js'
import { externalPlugin, pidAlive } from './supervisor-helper.js'
import { startCli, until, type RunningCli } from './cli-helper.js'
import { processesWith, silentServer } from './hang-helper.js'

// The real CLI shut down while plugins are still loading, or stopping
// slowly: a load under way is aborted (nothing starts after SIGTERM, nothing
// it ran is left), a plugin's STOP_TIMEOUT is part of a clean shutdown, and
// every record, the last `stopped` included, reaches the log file.

async function project (files: Record<string, string>, config: string): Promise<string[]> {
  const dir = tempDir('aigis-shutdown-loading-')
  await writeFiles(dir, { 'config.aigis': config, ...files })
  return ['--config', join(dir, 'config.aigis'), '--data-dir', join(dir, 'data')]
}

/** The records of `<data dir>/logs/aigis.log`, the server's own file. */
function fileRecords (args: string[]): Array<Record<string, any>> {
  const file = join(args[3], 'logs', 'aigis.log')
  return readFileSync(file, 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l))
}

function recordOf (cli: RunningCli, plugin: string, match: RegExp): Record<string, any> | undefined {
  return cli.records().find((r) => r.plugin === plugin && typeof r.msg === 'string' && match.test(r.msg))
}

t.test('SIGTERM while a REQUIREMENT_COMMAND runs: it is ended with its group, the plugin never starts, exit 0', async (t) => {
  const args = await project(externalPlugin('p/req', [
    'LAUNCH = ["sh", "-c", "touch launched; exec sleep 300"]',
    // Writes its own pid and its background job's, then sleeps for long.
    'REQUIREMENT_COMMAND = ["sh", "-c", "sleep 3333 & echo $$ $! > pids.tmp && mv pids.tmp pids; exec sleep 1000"]'
  ].join('\n')), '[external]\nreq = "p/req"\n')
  const cli = await startCli(t, args, { waitFor: '/health' })
  const pidsFile = join(args[3], 'ext', 'req', 'pids')
  await until('the command to run', () => existsSync(pidsFile))
  const pids = readFileSync(pidsFile, 'utf8').trim().split(' ').map(Number)
  for (const pid of pids) t.ok(pidAlive(pid), `process ${pid} of the command runs`)

  cli.child.kill('SIGTERM')
  t.same(await cli.exited, { code: 0, signal: null }, cli.stderr())
  for (const pid of pids) t.notOk(pidAlive(pid), `process ${pid} of the command is gone`)
  t.notOk(existsSync(join(args[3], 'ext', 'req', 'launched')), 'the plugin was not started after SIGTERM')
  t.notOk(recordOf(cli, 'req', /plugin started/), 'no start record')
  t.ok(recordOf(cli, 'req', /^loading stopped: the server is shutting down$/))
})

t.test('SIGTERM while a core import hangs: exit 0, and the last record `stopped` is in the log file too', async (t) => {
  const args = await project(corePlugin('p/hang', 'await new Promise(() => {})\nexport const SKILLS = []\n'), '[core]\nhang = "p/hang"\n')
  const cli = await startCli(t, args, { waitFor: '/health' })
  await until('the plugin to be loading', async () => (await call(cli.url, '/plugins/hang')).body.state === 'starting')
  t.equal((await call(cli.url, '/ready')).status, 503)
  cli.child.kill('SIGTERM')
  t.same(await cli.exited, { code: 0, signal: null }, cli.stderr())
  t.equal(cli.records().at(-1)?.msg, 'stopped', 'the last record on stdout')
  const file = fileRecords(args)
  t.equal(file.at(-1)?.msg, 'stopped', 'the last record in <data dir>/logs/aigis.log')
  t.ok(file.some((r) => r.msg === 'SIGTERM received, shutting down'))
})

t.test('SIGTERM while a git clone hangs on a server that never answers: git is ended, exit 0', async (t) => {
  const host = await silentServer(t)
  const args = await project({}, `[core]\ncloned = "${host.url}"\n`)
  const cli = await startCli(t, args, { waitFor: '/health' })
  await host.connected
  await until('git to be connected', () => processesWith(`127.0.0.1:${host.port}`).length > 0)
  cli.child.kill('SIGTERM')
  t.same(await cli.exited, { code: 0, signal: null }, cli.stderr())
  // git's group was SIGKILLed; as in load-limits.test.ts, one in a disk wait may still be listed for a moment.
  await until('git to end', () => processesWith(`127.0.0.1:${host.port}`).length === 0, 5000).catch(() => {})
  t.same(processesWith(`127.0.0.1:${host.port}`), [], 'no git process is left')
  t.notOk(cli.records().some((r) => r.level === 'fatal'), 'no forced exit')
})

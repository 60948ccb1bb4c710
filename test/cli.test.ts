import { existsSync, mkdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { call, corePlugin, tempDir, writeFiles } from './helper.js'
import { externalPlugin } from './supervisor-helper.js'
import { pruneOldBuilds, ROOT, runCli, spawnCli, startCli, until } from './cli-helper.js'

// The `aigis` command, run for real: help, version, bad flags, every path
// setting from a flag or the environment, auth from the environment, and the
// warning for an open server on a public address.

const hello = corePlugin('plugins/hello', `
  export const SKILLS = ['greet']
  export function greet (input: { name: string }) { return 'Hello, ' + input.name + '!' }
`)

const PKG = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }

async function project (files: Record<string, string> = {}): Promise<string> {
  const dir = tempDir('aigis-cli-')
  await writeFiles(dir, { 'config.aigis': '[core]\nhello = "plugins/hello"\n', ...hello, ...files })
  return dir
}

t.test('--help, --version and bad flags', async (t) => {
  const help = await runCli(['--help'])
  t.equal(help.code, 0)
  t.match(help.stdout, /^Usage: aigis \[options\]/)
  for (const flag of ['--config', '--host', '--port', '--data-dir', '--secrets-dir', '--skill-timeout', '--log-level', '--shutdown-timeout', 'AIGIS_TOKEN']) t.match(help.stdout, flag)

  const version = await runCli(['--version'])
  t.equal(version.code, 0)
  t.equal(version.stdout, `${PKG.version}\n`)

  const unknown = await runCli(['--nope'])
  t.equal(unknown.code, 2)
  t.equal(unknown.stderr, 'aigis: Unknown option \'--nope\'\nRun `aigis --help` for the options.\n', 'a clear message, no stack')
  t.equal(unknown.stdout, '')

  const badPort = await runCli(['--port', 'eighty'])
  t.equal(badPort.code, 2)
  t.match(badPort.stderr, /invalid --port "eighty"/)

  const badEnv = await runCli([], { env: { AIGIS_SKILL_TIMEOUT: '-3' } })
  t.equal(badEnv.code, 2)
  t.match(badEnv.stderr, /invalid AIGIS_SKILL_TIMEOUT \(--skill-timeout\) "-3"/)
})

t.test('a config that cannot be read is a clear error, exit 1', async (t) => {
  const dir = tempDir('aigis-cli-')
  const res = await runCli(['--config', join(dir, 'missing.aigis'), '--data-dir', join(dir, 'data')])
  t.equal(res.code, 1)
  t.match(res.stderr, /^aigis: cannot start: .*missing\.aigis/)
})

t.test('--config, --data-dir and --host from flags; the server answers', async (t) => {
  const dir = await project()
  const cli = await startCli(t, ['--config', join(dir, 'config.aigis'), '--data-dir', join(dir, 'state'), '--host', '127.0.0.1'])
  const res = await call(cli.url, '/skills/hello/greet', { method: 'POST', json: { name: 'cli' } })
  t.equal(res.body, 'Hello, cli!')
  t.ok(existsSync(join(dir, 'state/ext/hello/AIGIS/AIGIS.config')), 'the plugin copy is under --data-dir')

  cli.child.kill('SIGTERM')
  t.same(await cli.exited, { code: 0, signal: null })
  t.ok(cli.records().some((r) => r.msg === `Server listening at http://127.0.0.1:${cli.port}`), 'logs the address it listens on')
  t.notOk(cli.records().some((r) => /NO AUTH/.test(r.msg)), 'no warning on loopback')
})

t.test('the same settings from the environment; relative paths against the working directory; the flag wins', async (t) => {
  const dir = await project()
  const cli = await startCli(t, ['--data-dir', 'from-flag'], {
    cwd: dir,
    env: { AIGIS_CONFIG: 'config.aigis', AIGIS_DATA_DIR: 'from-env', LOG_LEVEL: 'warn', AIGIS_PORT: '1' }
  })
  t.not(cli.port, 1, '--port (0: any free port) won over AIGIS_PORT')
  t.equal((await call(cli.url, '/skills/hello/greet', { method: 'POST', json: { name: 'env' } })).body, 'Hello, env!')
  t.ok(existsSync(join(dir, 'from-flag/ext/hello')), '--data-dir won over AIGIS_DATA_DIR')
  t.notOk(existsSync(join(dir, 'from-env')))
  cli.child.kill('SIGTERM')
  t.equal((await cli.exited).code, 0)
  t.notOk(cli.records().some((r) => r.level === 'info'), 'LOG_LEVEL=warn drops info records')
  t.ok(cli.records().some((r) => r.level === 'boot' && r.msg === `Server listening at http://127.0.0.1:${cli.port}`), 'but still says where it listens')
})

t.test('defaults: config/config.aigis and .aigis under the working directory', async (t) => {
  const dir = tempDir('aigis-cli-')
  await writeFiles(dir, { 'config/config.aigis': '[core]\nhello = "../plugins/hello"\n', ...hello })
  const cli = await startCli(t, [], { cwd: dir })
  t.equal((await call(cli.url, '/skills/hello/greet', { method: 'POST', json: { name: 'd' } })).status, 200)
  t.ok(existsSync(join(dir, '.aigis/ext/hello')))
  cli.child.kill('SIGINT')
  t.equal((await cli.exited).code, 0)
})

t.test('AIGIS_TOKEN turns auth on and is not passed on to plugins', async (t) => {
  const token = 'cli-token-0123456789abcdef'
  // It prints which token it got (never the token itself): the admin's, a plugin token of its own (auth is on), or none.
  const dir = await project(externalPlugin('plugins/envy', `LAUNCH = ["sh", "-c", "case \\"$AIGIS_TOKEN\\" in ${token}) t=admin;; '') t=none;; *) t=own;; esac; echo token=$t file=\${AIGIS_TOKEN_FILE:-none}; exec sleep 60"]`))
  await writeFiles(dir, { 'config.aigis': '[core]\nhello = "plugins/hello"\n[external]\nenvy = "plugins/envy"\n' })
  const cli = await startCli(t, ['--config', join(dir, 'config.aigis'), '--data-dir', join(dir, 'data')], { env: { AIGIS_TOKEN: token } })
  t.equal((await call(cli.url, '/skills')).status, 401)
  t.equal((await call(cli.url, '/skills', { headers: { authorization: `Bearer ${token}` } })).status, 200)
  await until('the external plugin to print', async () => {
    const logs = await call(cli.url, '/plugins/envy/logs', { headers: { authorization: `Bearer ${token}` } })
    return logs.status === 200 && logs.body.some((r: { msg: string }) => r.msg.startsWith('token='))
  })
  const logs = await call(cli.url, '/plugins/envy/logs', { headers: { authorization: `Bearer ${token}` } })
  t.ok(logs.body.some((r: { msg: string }) => r.msg === 'token=own file=none'), 'the external plugin got a token of its own, not the admin token')
  cli.child.kill('SIGTERM')
  t.equal((await cli.exited).code, 0)
  t.notMatch(cli.stdout(), token, 'the token is nowhere on stdout')
})

t.test('AIGIS_TOKEN_FILE reads the token from a file', async (t) => {
  const dir = await project({ 'token.txt': 'file-token-0123456789abcdef\n' })
  const cli = await startCli(t, ['--config', join(dir, 'config.aigis'), '--data-dir', join(dir, 'data')], { env: { AIGIS_TOKEN_FILE: join(dir, 'token.txt') } })
  t.equal((await call(cli.url, '/skills')).status, 401)
  t.equal((await call(cli.url, '/skills', { headers: { authorization: 'Bearer file-token-0123456789abcdef' } })).status, 200)
  cli.child.kill('SIGTERM')
  t.equal((await cli.exited).code, 0)
})

t.test('a public address without a token logs a loud warning; with a token it does not', async (t) => {
  const dir = await project()
  const open = await startCli(t, ['--config', join(dir, 'config.aigis'), '--data-dir', join(dir, 'd1'), '--host', '0.0.0.0'])
  open.child.kill('SIGTERM')
  await open.exited
  const warning = open.records().find((r) => /NO AUTH/.test(r.msg))
  t.ok(warning, 'warned')
  t.equal(warning?.level, 'warn')
  t.match(warning?.msg, /listening on 0\.0\.0\.0 without AIGIS_TOKEN/)

  const closed = await startCli(t, ['--config', join(dir, 'config.aigis'), '--data-dir', join(dir, 'd2'), '--host', '0.0.0.0'], { env: { AIGIS_TOKEN: 'another-token-0123456789' } })
  closed.child.kill('SIGTERM')
  await closed.exited
  t.notOk(closed.records().some((r) => /NO AUTH/.test(r.msg)))
})

t.test('a port already in use is a clear error, exit 1', async (t) => {
  const dir = await project()
  const first = await startCli(t, ['--config', join(dir, 'config.aigis'), '--data-dir', join(dir, 'd1')])
  const second = await spawnCli(['--config', join(dir, 'config.aigis'), '--data-dir', join(dir, 'd2'), '--port', String(first.port)])
  const exit = await second.exited
  t.equal(exit.code, 1)
  t.match(second.stdout(), /cannot listen on 127\.0\.0\.1:\d+: .*EADDRINUSE/)
  first.child.kill('SIGTERM')
  t.equal((await first.exited).code, 0, 'the first server was not disturbed')
})

t.test('the test builds of other versions of the sources are removed once they are a day old', async (t) => {
  const root = tmpdir()
  const build = (hash: string, { age, done = true, lock = false }: { age: number, done?: boolean, lock?: boolean }): string => {
    const dir = join(root, `aigis-build-${hash}`)
    mkdirSync(dir, { recursive: true })
    if (done) {
      writeFileSync(join(dir, 'done'), '')
      const then = new Date(Date.now() - age)
      utimesSync(join(dir, 'done'), then, then)
    }
    if (lock) mkdirSync(`${dir}.lock`, { recursive: true })
    t.teardown(() => {
      rmSync(dir, { recursive: true, force: true })
      rmSync(`${dir}.lock`, { recursive: true, force: true })
    })
    return dir
  }
  const day = 24 * 60 * 60_000
  const current = build('0000000000000000', { age: 2 * day })
  const old = build('0000000000000001', { age: 2 * day })
  const recent = build('0000000000000002', { age: day / 2 })
  const building = build('0000000000000003', { age: 2 * day, done: false })
  const locked = build('0000000000000004', { age: 2 * day, lock: true })
  pruneOldBuilds(current)
  t.notOk(existsSync(old), 'a two-day-old build of other sources is removed')
  t.ok(existsSync(current), 'the build in use stays, however old')
  t.ok(existsSync(recent), 'a build made today stays')
  t.ok(existsSync(building), 'a build not finished stays')
  t.ok(existsSync(locked), 'a build under a lock stays')
})

t.test('a warning of Node (here one a core plugin emits) is a record of the central log, not plain text on stderr', async (t) => {
  const dir = await project(corePlugin('plugins/warns', `
    export const SKILLS = ['ok']
    export const ok = true
    process.emitWarning('this API is going away', { type: 'DeprecationWarning', code: 'WARNS_DEP1' })
  `))
  await writeFiles(dir, { 'config.aigis': '[core]\nhello = "plugins/hello"\nwarns = "plugins/warns"\n' })
  const run = await startCli(t, ['--config', join(dir, 'config.aigis'), '--data-dir', join(dir, 'data')])
  run.child.kill('SIGTERM')
  await run.exited
  const warning = run.records().find((r) => r.msg === 'this API is going away')
  t.match(warning, { level: 'warn', plugin: 'aigis', stream: 'log', warning: 'DeprecationWarning', code: 'WARNS_DEP1' })
  t.notMatch(run.stderr(), /going away/)
})

import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { DEFAULT_PORT, isLoopback, OPTIONS, parseSettings, USAGE, type Settings } from '../src/settings.js'
import { tempDir } from './helper.js'

// Flags and environment variables: defaults, each setting from either, the
// flag winning, and a clear error for every bad value.

const CWD = '/srv/aigis'

function settings (argv: string[], env: NodeJS.ProcessEnv = {}, isTTY = false): Settings {
  const parsed = parseSettings(argv, env, CWD, isTTY)
  if (!('settings' in parsed)) throw new Error('expected settings')
  return parsed.settings
}

function warnings (argv: string[], env: NodeJS.ProcessEnv = {}): string[] {
  const parsed = parseSettings(argv, env, CWD, false)
  return 'warnings' in parsed ? parsed.warnings : []
}

t.test('defaults', async (t) => {
  t.same(settings([]), {
    config: '/srv/aigis/config/config.aigis',
    host: '127.0.0.1',
    port: DEFAULT_PORT,
    dataDir: '/srv/aigis/.aigis',
    secretsDir: '/srv/aigis/.aigis/secrets',
    skillTimeout: 30,
    logLevel: 'info',
    pretty: false,
    bodyLimit: 1024 * 1024,
    shutdownTimeout: 30,
    logFileSize: 10 * 1024 * 1024,
    logFiles: 5,
    requirementTimeout: 600,
    loadShedding: { maxEventLoopDelay: 0, maxRssBytes: 0, maxEventLoopUtilization: 0 }
  })
  t.equal(settings([], { AIGIS_MAX_HEAP_MB: '0' }).loadShedding.maxHeapUsedBytes, 0, 'the heap limit can be turned off')
  t.equal(settings([], {}, true).pretty, true, 'pretty in a terminal')
  t.same(warnings([]), [])
})

t.test('every setting from its flag, and from its variable', async (t) => {
  const flags = ['--config', 'c.aigis', '--host', '0.0.0.0', '--port', '0', '--data-dir', '/data', '--secrets-dir', 'sec',
    '--skill-timeout', '2.5', '--log-level', 'debug', '--body-limit', '2048', '--shutdown-timeout', '5', '--log-file-size', '0.5', '--log-files', '3', '--requirement-timeout', '90',
    '--max-event-loop-delay', '200', '--max-heap', '512', '--max-rss', '1024', '--max-elu', '0.95', '--pretty']
  const env = {
    AIGIS_CONFIG: 'c.aigis', AIGIS_HOST: '0.0.0.0', AIGIS_PORT: '0', AIGIS_DATA_DIR: '/data', AIGIS_SECRETS_DIR: 'sec',
    AIGIS_SKILL_TIMEOUT: '2.5', LOG_LEVEL: 'DEBUG', AIGIS_BODY_LIMIT: '2048', AIGIS_SHUTDOWN_TIMEOUT: '5', AIGIS_LOG_FILE_SIZE_MB: '0.5', AIGIS_LOG_FILES: '3', AIGIS_REQUIREMENT_TIMEOUT: '90',
    AIGIS_MAX_EVENT_LOOP_DELAY: '200', AIGIS_MAX_HEAP_MB: '512', AIGIS_MAX_RSS_MB: '1024', AIGIS_MAX_ELU: '0.95', AIGIS_PRETTY: '1'
  }
  const expected: Settings = {
    config: '/srv/aigis/c.aigis',
    host: '0.0.0.0',
    port: 0,
    dataDir: '/data',
    secretsDir: '/srv/aigis/sec',
    skillTimeout: 2.5,
    logLevel: 'debug',
    pretty: true,
    bodyLimit: 2048,
    shutdownTimeout: 5,
    logFileSize: 512 * 1024,
    logFiles: 3,
    requirementTimeout: 90,
    loadShedding: { maxEventLoopDelay: 200, maxHeapUsedBytes: 512 * 1024 * 1024, maxRssBytes: 1024 * 1024 * 1024, maxEventLoopUtilization: 0.95 }
  }
  t.same(settings(flags), expected, 'flags')
  t.same(settings([], env), expected, 'environment')
  t.same(settings(['-c', 'c.aigis', '-p', '0', '--host', '0.0.0.0', '--data-dir', '/data', '--secrets-dir', 'sec'], env), expected, 'short flags')
  t.equal(settings(['--data-dir', 'd']).secretsDir, '/srv/aigis/d/secrets', 'secrets under the data dir by default')
  t.equal(settings([], { AIGIS_PRETTY: 'false' }, true).pretty, false, 'AIGIS_PRETTY=false wins over a terminal')
})

t.test('the flag wins over the variable; an empty variable counts as unset', async (t) => {
  const s = settings(['--port', '9000', '--host', '::1', '--log-level', 'warn'], { AIGIS_PORT: '7000', AIGIS_HOST: '10.0.0.1', LOG_LEVEL: 'error' })
  t.equal(s.port, 9000)
  t.equal(s.host, '::1')
  t.equal(s.logLevel, 'warn')
  t.equal(settings([], { AIGIS_PORT: '', AIGIS_CONFIG: '' }).port, DEFAULT_PORT)
  t.equal(settings([], { AIGIS_CONFIG: '' }).config, '/srv/aigis/config/config.aigis')
})

t.test('the token comes from AIGIS_TOKEN or AIGIS_TOKEN_FILE, never from a flag', async (t) => {
  t.equal(settings([], { AIGIS_TOKEN: 'a-long-enough-secret-token' }).token, 'a-long-enough-secret-token')
  t.notOk('token' in settings([]), 'no token: auth off')
  const dir = tempDir()
  const file = join(dir, 'token')
  writeFileSync(file, 'from-a-file-0123456789\n')
  t.equal(settings([], { AIGIS_TOKEN_FILE: file }).token, 'from-a-file-0123456789', 'trimmed')
  t.throws(() => settings(['--token', 'x']), /Unknown option '--token'/)
  t.throws(() => settings([], { AIGIS_TOKEN: 'a', AIGIS_TOKEN_FILE: file }), /not both/)
  t.throws(() => settings([], { AIGIS_TOKEN_FILE: join(dir, 'missing') }), /cannot read AIGIS_TOKEN_FILE .*ENOENT/)
  writeFileSync(file, '\n')
  t.throws(() => settings([], { AIGIS_TOKEN_FILE: file }), /is empty/)
  const err = t.throws(() => settings([], { AIGIS_TOKEN: 'has a space in it' })) as Error
  t.match(err.message, /visible ASCII/)
  t.notMatch(err.message, /has a space/, 'the error does not echo the token')
  t.match(warnings([], { AIGIS_TOKEN: 'short' })[0], /only 5 characters/)
  t.notMatch(warnings([], { AIGIS_TOKEN: 'short' })[0], /short"/)
})

t.test('bad values are clear errors naming the flag', async (t) => {
  const bad: Array<[string[], NodeJS.ProcessEnv, RegExp]> = [
    [['--port', 'abc'], {}, /invalid --port "abc": use 0 to 65535/],
    [['--port', '65536'], {}, /invalid --port/],
    [['--port=-1'], {}, /invalid --port "-1"/],
    [['--port', '1.5'], {}, /invalid --port/],
    [[], { AIGIS_PORT: 'http' }, /invalid AIGIS_PORT \(--port\) "http"/],
    [[], { LOG_LEVEL: 'bogus' }, /invalid LOG_LEVEL \(--log-level\) "bogus"/],
    [['--skill-timeout', '0'], {}, /invalid --skill-timeout "0": use a number of seconds above 0/],
    [['--skill-timeout', 'soon'], {}, /invalid --skill-timeout/],
    [['--log-level', 'loud'], {}, /invalid --log-level "loud"/],
    [['--body-limit', '0'], {}, /invalid --body-limit/],
    [['--body-limit', '1k'], {}, /invalid --body-limit/],
    [['--shutdown-timeout=-1'], {}, /invalid --shutdown-timeout/],
    // Past Node's timer limit (~24.8 days) a timer fires at once: every call would be a 504, the shutdown forced.
    [['--skill-timeout', '3000000'], {}, /invalid --skill-timeout "3000000": use a number of seconds above 0, at most 2147483$/],
    [[], { AIGIS_SHUTDOWN_TIMEOUT: '1e9' }, /invalid AIGIS_SHUTDOWN_TIMEOUT \(--shutdown-timeout\) "1e9": use a number of seconds, 0 to 2147483$/],
    [['--requirement-timeout', '2147484'], {}, /invalid --requirement-timeout/],
    [[], { AIGIS_REQUIREMENT_TIMEOUT: '0' }, /invalid AIGIS_REQUIREMENT_TIMEOUT \(--requirement-timeout\) "0": use a number of seconds above 0/],
    [['--port', '-1'], {}, /--port.*ambiguous/],
    [['--max-elu', '2'], {}, /invalid --max-elu "2"/],
    [['--log-file-size', '0'], {}, /invalid --log-file-size "0": use MiB above 0/],
    [[], { AIGIS_LOG_FILES: '0' }, /invalid AIGIS_LOG_FILES \(--log-files\) "0"/],
    [['--log-files', '2.5'], {}, /invalid --log-files/],
    [['--max-heap', 'lots'], {}, /invalid --max-heap/],
    [['--max-event-loop-delay', ' '], {}, /invalid --max-event-loop-delay/],
    [['--host', 'bad host!'], {}, /invalid --host/],
    [['--nope'], {}, /Unknown option '--nope'/],
    [['positional'], {}, /Unexpected argument 'positional'/],
    [['--port'], {}, /--port/]
  ]
  for (const [argv, env, message] of bad) t.throws(() => parseSettings(argv, env, CWD, false), message, argv.join(' ') || JSON.stringify(env))
})

t.test('--help and --version', async (t) => {
  t.same(parseSettings(['--help'], {}, CWD, false), { help: true })
  t.same(parseSettings(['-h', '--port', 'abc'], {}, CWD, false), { help: true }, 'help wins over bad values')
  t.same(parseSettings(['--version'], {}, CWD, false), { version: true })
  t.same(parseSettings(['-v'], {}, CWD, false), { version: true })
  for (const option of OPTIONS) {
    t.match(USAGE, `--${option.flag}`, `--help lists --${option.flag}`)
    if (option.env !== undefined) t.match(USAGE, option.env, `--help lists ${option.env}`)
  }
  t.match(USAGE, 'AIGIS_TOKEN')
  t.match(USAGE, 'AIGIS_PRETTY')
})

t.test('loopback addresses', async (t) => {
  for (const host of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]', '::ffff:127.0.0.1', 'LOCALHOST']) t.ok(isLoopback(host), host)
  for (const host of ['0.0.0.0', '::', '10.0.0.1', '192.168.1.2', 'example.com', '128.0.0.1']) t.notOk(isLoopback(host), host)
})

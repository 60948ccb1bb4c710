import { readFileSync } from 'node:fs'
import { isIP } from 'node:net'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { MAX_TIMEOUT_S } from './config/limits.js'
import { isLevelName, type LevelName } from './log/levels.js'
import type { LoadSheddingOptions } from './load-shedding.js'

// Everything the server is configured with outside the TOML config, from
// flags and environment variables (the flag wins). One table drives the
// parser and the help text, so the two cannot drift apart. The CLI is the
// only caller; `parseSettings` takes argv and env as arguments so tests can
// call it without touching the process.

/** Everything the server is configured with outside the TOML config. */
export interface Settings {
  config: string
  host: string
  port: number
  dataDir: string
  secretsDir: string
  /** Admin token; when set, every route but the public ones needs it. */
  token?: string
  skillTimeout: number
  logLevel: LevelName
  pretty: boolean
  /** Largest accepted request body, in bytes. */
  bodyLimit: number
  /** Seconds in-flight requests get to finish on SIGTERM/SIGINT before the server closes anyway. */
  shutdownTimeout: number
  /** Bytes after which a plugin's log file is rotated. */
  logFileSize: number
  /** Rotated log files kept per plugin. */
  logFiles: number
  /** Seconds a plugin's REQUIREMENT_COMMAND may run before it is ended and the plugin fails. */
  requirementTimeout: number
  loadShedding: LoadSheddingOptions
}

export const DEFAULT_PORT = 8080

interface Option {
  flag: string
  short?: string
  env?: string
  arg?: string
  default: string
  help: string
}

/** Every setting that takes a value, in the order `--help` lists them. */
export const OPTIONS: readonly Option[] = [
  { flag: 'config', short: 'c', env: 'AIGIS_CONFIG', arg: '<file>', default: 'config/config.aigis', help: 'main config file (TOML)' },
  { flag: 'host', env: 'AIGIS_HOST', arg: '<address>', default: '127.0.0.1', help: 'listen address' },
  { flag: 'port', short: 'p', env: 'AIGIS_PORT', arg: '<n>', default: String(DEFAULT_PORT), help: 'listen port, 0 = any free port' },
  { flag: 'data-dir', env: 'AIGIS_DATA_DIR', arg: '<dir>', default: '.aigis', help: 'plugin copies (ext/) and log files (logs/)' },
  { flag: 'secrets-dir', env: 'AIGIS_SECRETS_DIR', arg: '<dir>', default: '<data dir>/secrets', help: 'secret files, one folder per plugin' },
  { flag: 'skill-timeout', env: 'AIGIS_SKILL_TIMEOUT', arg: '<s>', default: '30', help: 'seconds before a skill call is answered 504' },
  { flag: 'log-level', env: 'LOG_LEVEL', arg: '<level>', default: 'info', help: 'trace, debug, info, warn, error or fatal' },
  { flag: 'body-limit', env: 'AIGIS_BODY_LIMIT', arg: '<bytes>', default: '1048576', help: 'largest request body; larger is a 413' },
  { flag: 'shutdown-timeout', env: 'AIGIS_SHUTDOWN_TIMEOUT', arg: '<s>', default: '30', help: 'seconds in-flight calls get to finish on shutdown' },
  { flag: 'requirement-timeout', env: 'AIGIS_REQUIREMENT_TIMEOUT', arg: '<s>', default: '600', help: 'seconds a plugin\'s REQUIREMENT_COMMAND may run before it is ended and the plugin fails' },
  { flag: 'log-file-size', env: 'AIGIS_LOG_FILE_SIZE_MB', arg: '<MiB>', default: '10', help: 'size at which a plugin\'s log file under <data dir>/logs is rotated' },
  { flag: 'log-files', env: 'AIGIS_LOG_FILES', arg: '<n>', default: '5', help: 'rotated log files kept per plugin' },
  { flag: 'max-heap', env: 'AIGIS_MAX_HEAP_MB', arg: '<MiB>', default: 'auto', help: 'shed load (503) above this heap use; auto = 90% of V8\'s limit, 0 = off' },
  { flag: 'max-event-loop-delay', env: 'AIGIS_MAX_EVENT_LOOP_DELAY', arg: '<ms>', default: '0', help: 'shed load above this mean event-loop delay; 0 = off' },
  { flag: 'max-rss', env: 'AIGIS_MAX_RSS_MB', arg: '<MiB>', default: '0', help: 'shed load above this resident memory; 0 = off' },
  { flag: 'max-elu', env: 'AIGIS_MAX_ELU', arg: '<0..1>', default: '0', help: 'shed load above this event-loop utilization; 0 = off' }
]

const PARSE_OPTIONS = {
  ...Object.fromEntries(OPTIONS.map((o) => [o.flag, o.short === undefined ? { type: 'string' } : { type: 'string', short: o.short }])),
  pretty: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'v' }
} as const satisfies NonNullable<Parameters<typeof parseArgs>[0]>['options']

function usageLine (left: string, help: string, env: string, def: string): string {
  return `  ${left.padEnd(34)}${help}\n  ${''.padEnd(34)}${env === '' ? '' : `env ${env}, `}default ${def}`
}

export const USAGE = [
  'Usage: aigis [options]',
  '',
  'Run, call and watch many independent programs from one Fastify server.',
  '',
  'Options (each also from an environment variable; the flag wins):',
  ...OPTIONS.map((o) => usageLine(`${o.short !== undefined ? `-${o.short}, ` : '    '}--${o.flag} ${o.arg ?? ''}`, o.help, o.env ?? '', o.default)),
  usageLine('    --pretty', 'human-readable log lines on stdout', 'AIGIS_PRETTY', 'on in a terminal'),
  '  -h, --help                        show this help',
  '  -v, --version                     show the version',
  '',
  'Environment only (a token on the command line would show in `ps`):',
  '  AIGIS_TOKEN                       when set, every route but /health, /ready, /docs and',
  '                                    /openapi.json needs Authorization: Bearer <token>',
  '  AIGIS_TOKEN_FILE                  read the token from this file instead (container secrets)'
].join('\n')

export type ParsedCommand =
  | { help: true }
  | { version: true }
  | { settings: Settings, warnings: string[] }

/** A token must fit in an HTTP header as one `Bearer` credential. */
const TOKEN_PATTERN = /^[\x21-\x7e]+$/
const MIN_TOKEN_LENGTH = 16
const MIB = 1024 * 1024

/** Reads flags and environment (flag wins). Throws a user-facing Error on a bad value. */
export function parseSettings (argv: string[], env: NodeJS.ProcessEnv, cwd: string, isTTY: boolean): ParsedCommand {
  let values: Record<string, string | boolean | undefined>
  try {
    values = parseArgs({ args: argv, options: PARSE_OPTIONS, strict: true, allowPositionals: false }).values
  } catch (err) {
    throw new Error((err as Error).message.replace(/\. To specify a positional argument.*$/s, ''))
  }
  if (values.help === true) return { help: true }
  if (values.version === true) return { version: true }

  const warnings: string[] = []
  const envValue = (name: string): string | undefined => env[name] === '' ? undefined : env[name]
  /** The raw text of a setting, flag first, then its variable, then its default. */
  const raw = (flag: string): string => {
    const option = OPTIONS.find((o) => o.flag === flag)!
    return (values[flag] as string | undefined) ?? (option.env !== undefined ? envValue(option.env) : undefined) ?? option.default
  }
  /** Where a setting's value came from, for error messages: the flag, or its variable. */
  const origin = (flag: string): string => {
    const option = OPTIONS.find((o) => o.flag === flag)!
    return values[flag] === undefined && option.env !== undefined && envValue(option.env) !== undefined ? `${option.env} (--${flag})` : `--${flag}`
  }
  const number = (flag: string, valid: (n: number) => boolean, expected: string): number => {
    const text = raw(flag)
    const n = text.trim() === '' ? Number.NaN : Number(text)
    if (!valid(n)) throw new Error(`invalid ${origin(flag)} ${JSON.stringify(text)}: use ${expected}`)
    return n
  }
  const atLeastZero = (n: number): boolean => Number.isFinite(n) && n >= 0
  /** A time limit in seconds: above 0 (or 0 too), and no longer than Node's timers go. */
  const timeLimit = (zeroAllowed: boolean) => (n: number): boolean => Number.isFinite(n) && (zeroAllowed ? n >= 0 : n > 0) && n <= MAX_TIMEOUT_S

  const dataDir = resolve(cwd, raw('data-dir'))
  const secretsDir = (values['secrets-dir'] as string | undefined) ?? envValue('AIGIS_SECRETS_DIR')
  const logLevel = raw('log-level').toLowerCase()
  if (!isLevelName(logLevel)) throw new Error(`invalid ${origin('log-level')} "${logLevel}": use trace, debug, info, warn, error or fatal`)
  const host = raw('host')
  if (isIP(host) === 0 && !/^[A-Za-z0-9.-]+$/.test(host)) throw new Error(`invalid ${origin('host')} ${JSON.stringify(host)}: use an IP address or a host name`)
  const prettyEnv = envValue('AIGIS_PRETTY')

  const token = readToken(env, cwd)
  if (token !== undefined && token.length < MIN_TOKEN_LENGTH) {
    warnings.push(`AIGIS_TOKEN is only ${token.length} characters long; use at least ${MIN_TOKEN_LENGTH} random ones (e.g. \`openssl rand -hex 32\`)`)
  }

  return {
    warnings,
    settings: {
      config: resolve(cwd, raw('config')),
      host,
      port: number('port', (n) => Number.isInteger(n) && n >= 0 && n <= 65535, '0 to 65535'),
      dataDir,
      secretsDir: resolve(cwd, secretsDir ?? join(dataDir, 'secrets')),
      ...(token !== undefined ? { token } : {}),
      skillTimeout: number('skill-timeout', timeLimit(false), `a number of seconds above 0, at most ${MAX_TIMEOUT_S}`),
      logLevel,
      pretty: (values.pretty as boolean | undefined) ?? (prettyEnv !== undefined ? prettyEnv !== '0' && prettyEnv !== 'false' : isTTY),
      bodyLimit: number('body-limit', (n) => Number.isInteger(n) && n > 0, 'a number of bytes above 0'),
      shutdownTimeout: number('shutdown-timeout', timeLimit(true), `a number of seconds, 0 to ${MAX_TIMEOUT_S}`),
      requirementTimeout: number('requirement-timeout', timeLimit(false), `a number of seconds above 0, at most ${MAX_TIMEOUT_S}`),
      logFileSize: Math.round(number('log-file-size', (n) => Number.isFinite(n) && n * MIB >= 1, 'MiB above 0, e.g. 10 or 0.5') * MIB),
      logFiles: number('log-files', (n) => Number.isInteger(n) && n >= 1, 'a whole number, 1 or more'),
      loadShedding: {
        ...(raw('max-heap') === 'auto' ? {} : { maxHeapUsedBytes: Math.round(number('max-heap', atLeastZero, 'MiB, auto or 0 = off') * MIB) }),
        maxEventLoopDelay: number('max-event-loop-delay', atLeastZero, 'milliseconds, 0 = off'),
        maxRssBytes: Math.round(number('max-rss', atLeastZero, 'MiB, 0 = off') * MIB),
        maxEventLoopUtilization: number('max-elu', (n) => n >= 0 && n <= 1, 'a fraction from 0 to 1, 0 = off')
      }
    }
  }
}

/** AIGIS_TOKEN, or the content of the file AIGIS_TOKEN_FILE names (trimmed); undefined when neither is set. */
function readToken (env: NodeJS.ProcessEnv, cwd: string): string | undefined {
  const direct = env.AIGIS_TOKEN === '' ? undefined : env.AIGIS_TOKEN
  const file = env.AIGIS_TOKEN_FILE === '' ? undefined : env.AIGIS_TOKEN_FILE
  if (direct !== undefined && file !== undefined) throw new Error('set AIGIS_TOKEN or AIGIS_TOKEN_FILE, not both')
  let token = direct
  if (file !== undefined) {
    try {
      token = readFileSync(resolve(cwd, file), 'utf8').trim()
    } catch (err) {
      throw new Error(`cannot read AIGIS_TOKEN_FILE ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`)
    }
    if (token === '') throw new Error(`AIGIS_TOKEN_FILE ${file} is empty`)
  }
  // Never echo the token itself in an error: it may be a real secret with a typo.
  if (token !== undefined && !TOKEN_PATTERN.test(token)) throw new Error('AIGIS_TOKEN must be visible ASCII characters without spaces')
  return token
}

/** True for an address only this machine can reach (127.0.0.0/8, ::1, localhost). */
export function isLoopback (host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '')
  return h === 'localhost' || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h) || /^::ffff:127\.\d+\.\d+\.\d+$/.test(h)
}

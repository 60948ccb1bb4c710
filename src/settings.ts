import { parseArgs } from 'node:util'
import { join, resolve } from 'node:path'
import { isLevelName, type LevelName } from './log/levels.js'

/** Everything the server is configured with outside the TOML config. */
export interface Settings {
  config: string
  host: string
  port: number
  dataDir: string
  secretsDir: string
  token?: string
  skillTimeout: number
  logLevel: LevelName
  pretty: boolean
}

export const DEFAULT_PORT = 8080

const OPTIONS = {
  config: { type: 'string', short: 'c' },
  host: { type: 'string' },
  port: { type: 'string', short: 'p' },
  'data-dir': { type: 'string' },
  'secrets-dir': { type: 'string' },
  'skill-timeout': { type: 'string' },
  'log-level': { type: 'string' },
  pretty: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'v' }
} as const

export const USAGE = `Usage: aigis [options]

Options (each also from an environment variable; the flag wins):
  -c, --config <file>        main config file         AIGIS_CONFIG       (config/config.aigis)
      --host <address>       listen address           AIGIS_HOST         (127.0.0.1)
  -p, --port <n>             listen port, 0 = any     AIGIS_PORT         (${DEFAULT_PORT})
      --data-dir <dir>       plugin copies and logs   AIGIS_DATA_DIR     (.aigis)
      --secrets-dir <dir>    secrets, one per plugin  AIGIS_SECRETS_DIR  (<data dir>/secrets)
      --skill-timeout <s>    skill call timeout       AIGIS_SKILL_TIMEOUT (30)
      --log-level <level>    minimum log level        LOG_LEVEL          (info)
      --pretty               human-readable stdout    AIGIS_PRETTY       (on in a terminal)
  -h, --help                 show this help
  -v, --version              show the version
  AIGIS_TOKEN                when set, routes need Authorization: Bearer <token>`

export type ParsedCommand = { help: true } | { version: true } | { settings: Settings }

/** Reads flags and environment (flag wins). Throws a user-facing Error on a bad value. */
export function parseSettings (argv: string[], env: NodeJS.ProcessEnv, cwd: string, isTTY: boolean): ParsedCommand {
  const { values } = parseArgs({ args: argv, options: OPTIONS, strict: true, allowPositionals: false })
  if (values.help === true) return { help: true }
  if (values.version === true) return { version: true }

  const pick = (flag: string | undefined, name: string): string | undefined => flag ?? (env[name] === '' ? undefined : env[name])
  const dataDir = resolve(cwd, pick(values['data-dir'], 'AIGIS_DATA_DIR') ?? '.aigis')
  const port = Number(pick(values.port, 'AIGIS_PORT') ?? DEFAULT_PORT)
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`invalid port ${JSON.stringify(pick(values.port, 'AIGIS_PORT'))}: use 0 to 65535`)
  const skillTimeout = Number(pick(values['skill-timeout'], 'AIGIS_SKILL_TIMEOUT') ?? 30)
  if (!(skillTimeout > 0)) throw new Error('invalid skill timeout: use a number of seconds above 0')
  const logLevel = (pick(values['log-level'], 'LOG_LEVEL') ?? 'info').toLowerCase()
  if (!isLevelName(logLevel)) throw new Error(`invalid log level "${logLevel}": use trace, debug, info, warn, error or fatal`)
  const prettyEnv = pick(undefined, 'AIGIS_PRETTY')

  return {
    settings: {
      config: resolve(cwd, pick(values.config, 'AIGIS_CONFIG') ?? 'config/config.aigis'),
      host: pick(values.host, 'AIGIS_HOST') ?? '127.0.0.1',
      port,
      dataDir,
      secretsDir: resolve(cwd, pick(values['secrets-dir'], 'AIGIS_SECRETS_DIR') ?? join(dataDir, 'secrets')),
      token: pick(undefined, 'AIGIS_TOKEN'),
      skillTimeout,
      logLevel,
      pretty: values.pretty ?? (prettyEnv !== undefined ? prettyEnv !== '0' && prettyEnv !== 'false' : isTTY)
    }
  }
}

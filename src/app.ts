import './tick-shape.js' // first: see the file
import Fastify, { type FastifyInstance } from 'fastify'
import { join, resolve } from 'node:path'
import { loadMainConfig, type MainConfig } from './config/main-config.js'
import { LogHub, type LogHubOptions } from './log/hub.js'
import { LogFiles } from './log/files.js'
import { createLoggers, type AigisLogger } from './log/logger.js'
import type { LevelName } from './log/levels.js'
import { PluginManager } from './plugins/manager.js'
import { createRuntime } from './plugins/runtimes.js'
import { SkillRegistry } from './skills/registry.js'
import { SkillService } from './skills/service.js'
import type { BackoffOptions } from './supervisor/backoff.js'
import { ErrorSchema } from './schemas/common.js'
import { PluginStatusSchema } from './schemas/plugins.js'
import { SkillInfoSchema } from './schemas/skills.js'
import errorHandling, { clientErrorHandler, frameworkErrors, schemaErrorFormatter } from './error-handler.js'
import { InvalidJson } from './errors.js'
import swagger from './swagger.js'
import auth, { PluginTokens } from './auth.js'
import loadShedding, { type LoadSheddingOptions } from './load-shedding.js'
import metrics from './metrics.js'
import healthRoutes from '../routes/health.js'
import pluginRoutes from '../routes/plugins.js'
import skillRoutes from '../routes/skills.js'
import logRoutes from '../routes/logs.js'
import metricsRoutes from '../routes/metrics.js'

export interface AppOptions {
  /** The main config file (TOML). */
  config: string
  /** Runtime copies of plugins (`ext/`), log files (`logs/`). */
  dataDir: string
  /** Secret dump, one folder per plugin; default `<dataDir>/secrets`. */
  secretsDir?: string
  /** Seconds before a skill call is answered 504. */
  skillTimeout?: number
  logLevel?: LevelName
  /** Largest accepted request body, in bytes. */
  bodyLimit?: number
  /** The log hub to use; made here when not given (the CLI gives one with its stdout attached). */
  hub?: LogHub
  /** Records retained for replay and SSE pacing, for the hub made here (see src/log/hub.ts). */
  logHub?: Omit<LogHubOptions, 'level'>
  /** Bytes after which a log file under `<dataDir>/logs` is rotated (default 10 MiB). */
  logFileSize?: number
  /** Rotated log files kept per plugin (default 5). */
  logFiles?: number
  /** Admin bearer token; when set, every route but /health, /ready, /docs and /openapi.json needs a token. */
  token?: string
  /** When to answer 503 instead of taking more work (event-loop delay, memory). */
  loadShedding?: LoadSheddingOptions
  /** Delays between automatic restarts of subprocess plugins (the bench sets the first to 0). */
  restartBackoff?: BackoffOptions
  /** Seconds a plugin's REQUIREMENT_COMMAND may run before it is ended and the plugin fails (default 600). */
  requirementTimeout?: number
  /** Seconds a plugin's start (a core import, a spawn) may take before the plugin fails (default 60). */
  startTimeout?: number
  /** Seconds a core module's `cleanup` may take on stop before the plugin is stopped without it (default 10). */
  cleanupTimeout?: number
}

/** The engine, as routes and Fastify plugins reach it. */
export interface Aigis {
  config: MainConfig
  hub: LogHub
  logger: AigisLogger
  skills: SkillRegistry
  service: SkillService
  plugins: PluginManager
  /** Resolves once every configured plugin has been tried (after listen). */
  loaded: Promise<void>
}

declare module 'fastify' {
  interface FastifyInstance {
    aigis: Aigis
  }
}

/** Milliseconds a request (headers and body) may take to arrive. */
export const REQUEST_TIMEOUT_MS = 120_000

/**
 * Builds the aigis server: the engine (log hub, skills, plugins) and the HTTP
 * surface on top. Plugins load once the server listens, since internal
 * plugins need its address; `app.aigis.loaded` tells when they are done.
 */
export async function buildApp (options: AppOptions): Promise<FastifyInstance> {
  const config = await loadMainConfig(options.config)
  const hub = options.hub ?? new LogHub({ ...options.logHub, level: options.logLevel })
  const { server: logger, forPlugin: pluginLogger } = createLoggers(hub, options.logLevel)
  const dataDir = resolve(options.dataDir)
  const logFiles = new LogFiles(hub, { dir: join(dataDir, 'logs'), maxSize: options.logFileSize, maxFiles: options.logFiles })

  // Fastify gets no logger: aigis logs through its own (`app.aigis.logger`),
  // and the root error handler logs what fails. A Fastify logger, even with
  // request logging off, makes Fastify time and watch every response
  // ('finish' and 'error' listeners, a child logger a request): about 6% of
  // a skill call's instructions, counted with valgrind (see the README).
  const app: FastifyInstance = Fastify({
    bodyLimit: options.bodyLimit ?? 1024 * 1024,
    // A whole request (headers and body) must arrive within this, or it is a 408: Fastify's default is no
    // limit, and a client that sends less body than its Content-Length would hold its connection for good.
    // The responses are not limited (GET /logs streams for as long as the client reads).
    requestTimeout: REQUEST_TIMEOUT_MS,
    // Node answers an HTTP/1.1 request without Host itself, an empty 400; the error handler's hook does, in the aigis shape.
    http: { requireHostHeader: false },
    ajv: { customOptions: { removeAdditional: false } },
    // What Fastify's router and Node answer outside the root error handler
    // gets the aigis shape too; enum errors list the allowed values (see src/error-handler.ts).
    frameworkErrors,
    clientErrorHandler,
    schemaErrorFormatter
  })
  // A JSON content type with zero bytes (a client that sets the header on
  // every request) is no body: a skill's input is then undefined (SPEC §5)
  // instead of a 400. Any other body goes to Fastify's own parser, with its
  // __proto__/constructor poisoning checks; the body limit applies as before.
  const parseJson = app.getDefaultJsonParser('error', 'error')
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    if (body.length === 0) return done(null, undefined)
    // Fastify's error says no more than "not valid JSON": said here is where it broke, or that it was refused for its keys.
    parseJson(request, body as string, (err, value) => done(err === null ? null : new InvalidJson(whyNotJson(body as string)), value))
  })
  // All JSON: a text/plain body, which Fastify would hand a skill as a string, is a 415 that says what to send.
  app.removeContentTypeParser('text/plain')

  const skills = new SkillRegistry()
  // With auth on, each plugin's runtime gets a token of its own (see src/auth.ts).
  const tokens = options.token !== undefined ? new PluginTokens() : undefined
  const plugins: PluginManager = new PluginManager({
    baseDir: config.baseDir,
    dataDir,
    secretsDir: resolve(options.secretsDir ?? join(dataDir, 'secrets')),
    hub,
    logger,
    pluginLogger,
    skills,
    createRuntime,
    serverUrl: () => serverUrl(app),
    pluginToken: tokens !== undefined ? (name) => tokens.issue(name) : undefined,
    backoff: options.restartBackoff,
    loadTimeouts: {
      requirementCommandMs: options.requirementTimeout !== undefined ? options.requirementTimeout * 1000 : undefined,
      startMs: options.startTimeout !== undefined ? options.startTimeout * 1000 : undefined
    },
    cleanupTimeoutMs: options.cleanupTimeout !== undefined ? options.cleanupTimeout * 1000 : undefined
  })
  const service = new SkillService({
    registry: skills,
    pluginLogger,
    timeoutMs: (options.skillTimeout ?? 30) * 1000,
    pluginState: (name) => plugins.stateOf(name)
  })

  let markLoaded!: () => void
  const loaded = new Promise<void>((resolve) => { markLoaded = resolve })
  app.decorate('aigis', { config, hub, logger, skills, service, plugins, loaded })

  app.addSchema(ErrorSchema)
  app.addSchema(PluginStatusSchema)
  app.addSchema(SkillInfoSchema)
  await app.register(errorHandling)
  // auth before load shedding: each adds its hook in front on every route, so shedding runs first
  await app.register(auth, { token: options.token, tokens, hasPlugin: (name) => plugins.has(name) })
  await app.register(loadShedding, options.loadShedding ?? {})
  await app.register(metrics)
  await app.register(swagger)
  await app.register(healthRoutes)
  await app.register(skillRoutes)
  await app.register(pluginRoutes)
  await app.register(logRoutes)
  await app.register(metricsRoutes)

  app.addHook('onListen', async () => {
    // Said at any LOG_LEVEL: as a lifecycle line when `info` is filtered out.
    const listening = `Server listening at ${app.listeningOrigin}`
    if (logger.isLevelEnabled('info')) logger.info(listening)
    else logger.boot(listening)
    // Not awaited: the server answers (and /ready says 503) while plugins load.
    plugins.loadAll(config.plugins).then(markLoaded, (err) => {
      logger.error({ err }, 'loading plugins failed')
      markLoaded()
    })
  })
  // A deleted plugin's log file is closed (its last records written first): an open file each stayed for the server's life.
  plugins.on('removed', (name) => { void logFiles.closePlugin(name) })
  app.addHook('onClose', async () => {
    await plugins.stopAll()
    // The last record of a shutdown, said before the files close so that it is in them too.
    logger.info('stopped')
    await logFiles.close() // after the plugins, so their last lines are in the files
  })
  return app
}

/** The address subprocesses use to call back into this server. */
function serverUrl (app: FastifyInstance): string {
  const address = app.server.address()
  if (address === null || typeof address === 'string') return ''
  const host = address.address === '0.0.0.0' || address.address === '::' ? '127.0.0.1' : address.address
  return `http://${address.family === 'IPv6' && host !== '127.0.0.1' ? `[${host}]` : host}:${address.port}`
}

/** Why a body Fastify's parser refused is not JSON it takes: JSON.parse's own words, or the keys that poison prototypes. */
function whyNotJson (body: string): string {
  try {
    JSON.parse(body)
  } catch (err) {
    return (err as Error).message
  }
  return 'it sets "__proto__" or "constructor.prototype", which are refused (prototype poisoning)'
}

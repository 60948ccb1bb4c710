#!/usr/bin/env node
import closeWithGrace from 'close-with-grace'
import type { FastifyInstance } from 'fastify'
import { buildApp } from './app.js'
import { MAX_TIMEOUT_MS } from './config/limits.js'
import { errorMessage } from './errors.js'
import { maxConnections } from './fd-limit.js'
import { LogHub } from './log/hub.js'
import { SERVER_PLUGIN } from './log/record.js'
import { logToStdout } from './log/stdout.js'
import { isLoopback, parseSettings, USAGE, type Settings } from './settings.js'
import { packageVersion } from './version.js'

// The one place that reads the process environment, owns stdout and signals,
// and calls listen.

/** Seconds the shutdown may take after draining, besides the plugins' largest STOP_TIMEOUT (cleanups, flush), before exit is forced. */
const CLOSE_GRACE_S = 30
/** Seconds connections still open after draining (SSE streams) get before they are cut. */
const CONNECTIONS_GRACE_S = 2

/** Detaches stdout from the log hub once everything is written (a promise, or at once). */
type Detach = () => void | Promise<void>

/**
 * SIGTERM/SIGINT: drain (/ready 503, new requests 503, in-flight calls finish
 * within the shutdown timeout), then close the app (stops every plugin and its
 * process group, runs core cleanups), flush the logs and exit 0. A second
 * signal, or a shutdown that hangs, exits 1 at once. Returns the shutdown
 * for a fatal error: the same, then exit 1.
 */
function handleShutdown (app: FastifyInstance, settings: Settings, detachStdout: Detach): (err: unknown) => void {
  const log = app.aigis.logger
  let failure: { err: unknown } | undefined
  let shuttingDown = false
  // close-with-grace exits right after these return: whatever stdout has not written by then is lost.
  const forced = (why: string): void => {
    log.fatal(`${why}: killing every plugin process group and exiting now`)
    app.aigis.plugins.killAll()
    void detachStdout()
  }
  // The watchdog is set when the shutdown begins rather than given to
  // close-with-grace: a plugin's STOP_TIMEOUT (up to any number of seconds)
  // is part of a clean shutdown, and the plugins are known only by then.
  // Uncaught errors are not its: see handleFaults.
  const shutdown = closeWithGrace({
    delay: false,
    skip: ['uncaughtException', 'unhandledRejection'],
    logger: { error: (message: unknown) => log.error(String(message)) },
    onSecondSignal: (signal) => forced(`second ${signal}`)
  }, async ({ signal }) => {
    shuttingDown = true
    const limit = settings.shutdownTimeout + app.aigis.plugins.maxStopTimeoutMs() / 1000 + CLOSE_GRACE_S
    const watchdog = setTimeout(() => {
      forced(`shutdown took longer than ${limit} s`)
      process.exit(1)
    }, Math.min(limit * 1000, MAX_TIMEOUT_MS))
    if (failure === undefined) log.info(`${signal ?? 'shutdown'} received, shutting down`)
    // Loads under way are aborted now: a plugin must not start only to be stopped, nor a lifecycle request wait for one.
    app.aigis.plugins.beginShutdown()
    const drained = await app.drain(settings.shutdownTimeout * 1000)
    if (!drained) log.warn(`requests still in flight after ${settings.shutdownTimeout} s (AIGIS_SHUTDOWN_TIMEOUT); closing anyway`)
    // Whatever is still connected (SSE streams) gets a moment to end on its own, then is cut, so close can finish.
    const cut = setTimeout(() => app.server.closeAllConnections(), CONNECTIONS_GRACE_S * 1000).unref()
    await app.close() // its last record is `stopped`, in the log files too
    clearTimeout(cut)
    clearTimeout(watchdog)
    await detachStdout()
    if (failure !== undefined) process.exit(1)
  })
  return (err) => {
    if (shuttingDown) {
      log.fatal({ err }, `${errorMessage(err)}, while shutting down`)
      forced('an error while shutting down')
      process.exit(1)
    }
    failure = { err }
    log.fatal({ err }, `an exception escaped the server's own code: ${errorMessage(err)}; shutting down (exit 1), as its state may be half-changed`)
    void shutdown.close()
  }
}

/**
 * Errors that reach the event loop uncaught. A promise rejection nobody
 * handled is logged, as the plugin's when its code made it, and the server
 * goes on: the code that made it has moved on, nothing was left half-done.
 * An exception thrown out of a plugin's own code (in a timer, an event
 * listener) is logged as the plugin's, and the server goes on too: one
 * plugin's bug does not take down every other. Running out of file
 * descriptors is logged too. Any other exception is the server's own, and
 * `fail` shuts it down.
 */
function handleFaults (app: FastifyInstance, fail: (err: unknown) => void): void {
  const { plugins, logger } = app.aigis
  const fields = (reason: unknown): Record<string, unknown> => reason instanceof Error ? { err: reason } : { reason }
  process.on('unhandledRejection', (reason) => {
    const owner = plugins.faultOwner(reason)
    const what = `a promise was rejected and nothing handled it: ${errorMessage(reason)}`
    if (owner === undefined) logger.error(fields(reason), `${what}; the server goes on`)
    else owner.log.error(fields(reason), `${what}; the server goes on. Await or catch that promise in plugin ${owner.name}'s code`)
  })
  process.on('uncaughtException', (err) => {
    const owner = plugins.faultOwner(err)
    // Out of file descriptors (too many connections, plugins, files) is the machine's limit, not broken state: said, and the server goes on.
    const code = (err as NodeJS.ErrnoException).code
    if (owner === undefined && (code === 'EMFILE' || code === 'ENFILE')) {
      return logger.error(fields(err), `out of file descriptors (${code}): ${errorMessage(err)}; the server goes on, refusing what needs one. Raise the limit (ulimit -n, systemd LimitNOFILE, docker --ulimit nofile) or lower the load`)
    }
    if (owner === undefined) return fail(err)
    owner.log.error(fields(err), `an exception escaped plugin ${owner.name}'s code (a timer or an event listener): ${errorMessage(err)}; the server goes on. Catch it in the plugin; reload it (POST /plugins/${owner.name}/reload) if it no longer works`)
  })
}

async function main (): Promise<void> {
  let parsed
  try {
    parsed = parseSettings(process.argv.slice(2), process.env, process.cwd(), process.stdout.isTTY === true)
  } catch (err) {
    process.stderr.write(`aigis: ${(err as Error).message}\nRun \`aigis --help\` for the options.\n`)
    process.exit(2)
  }
  if ('help' in parsed) return void process.stdout.write(USAGE + '\n')
  if ('version' in parsed) return void process.stdout.write(packageVersion + '\n')
  const { settings, warnings } = parsed
  // Subprocesses inherit the environment: the admin token must not go with it.
  delete process.env.AIGIS_TOKEN
  delete process.env.AIGIS_TOKEN_FILE

  const hub = new LogHub({ level: settings.logLevel })
  const detachStdout: Detach = logToStdout(hub, settings.pretty)
  // Node's own warnings (deprecations, listener leaks) as records of the central log, not plain text on stderr beside it.
  process.removeAllListeners('warning')
  process.on('warning', (warning: Error & { code?: string }) => {
    hub.publish({ time: Date.now(), level: 'warn', plugin: SERVER_PLUGIN, stream: 'log', msg: warning.message, warning: warning.name, code: warning.code })
  })
  let app: FastifyInstance
  try {
    app = await buildApp({ ...settings, hub })
  } catch (err) {
    process.stderr.write(`aigis: cannot start: ${(err as Error).message}\n`)
    await detachStdout()
    process.exit(1)
  }
  for (const warning of warnings) app.aigis.logger.warn(warning)
  handleFaults(app, handleShutdown(app, settings, detachStdout))

  const cap = maxConnections()
  if (cap !== undefined) app.server.maxConnections = Math.max(1, cap)
  try {
    await app.listen({ host: settings.host, port: settings.port })
  } catch (err) {
    app.aigis.logger.fatal({ err }, `cannot listen on ${settings.host}:${settings.port}: ${(err as Error).message}`)
    await app.close()
    await detachStdout()
    process.exit(1)
  }
  if (settings.token === undefined && !isLoopback(settings.host)) {
    app.aigis.logger.warn(`!!! NO AUTH: listening on ${settings.host} without AIGIS_TOKEN: anyone who can reach this address can call every skill and start, stop and add plugins. Set AIGIS_TOKEN (or AIGIS_TOKEN_FILE), or listen on 127.0.0.1. !!!`)
  }
}

await main()

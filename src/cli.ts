#!/usr/bin/env node
import closeWithGrace from 'close-with-grace'
import type { FastifyInstance } from 'fastify'
import { buildApp } from './app.js'
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

/**
 * SIGTERM/SIGINT: drain (/ready 503, new requests 503, in-flight calls finish
 * within the shutdown timeout), then close the app (stops every plugin and its
 * process group, runs core cleanups), flush the logs and exit 0. A second
 * signal, or a shutdown that hangs, exits 1 at once.
 */
/** Detaches stdout from the log hub once everything is written (a promise, or at once). */
type Detach = () => void | Promise<void>

function handleShutdown (app: FastifyInstance, settings: Settings, detachStdout: Detach): void {
  const log = app.aigis.logger
  // close-with-grace exits right after these return: whatever stdout has not written by then is lost.
  const forced = (why: string): void => {
    log.fatal(`${why}: killing every plugin process group and exiting now`)
    app.aigis.plugins.killAll()
    void detachStdout()
  }
  // The watchdog is set when the shutdown begins rather than given to
  // close-with-grace: a plugin's STOP_TIMEOUT (up to any number of seconds)
  // is part of a clean shutdown, and the plugins are known only by then.
  closeWithGrace({
    delay: false,
    logger: { error: (message: unknown) => log.error(String(message)) },
    onSecondSignal: (signal) => forced(`second ${signal}`),
    onSecondError: () => forced('second error while shutting down')
  }, async ({ signal, err }) => {
    const limit = settings.shutdownTimeout + app.aigis.plugins.maxStopTimeoutMs() / 1000 + CLOSE_GRACE_S
    const watchdog = setTimeout(() => {
      forced(`shutdown took longer than ${limit} s`)
      process.exit(1)
    }, limit * 1000)
    if (err !== undefined) log.error({ err }, 'shutting down after an error')
    else log.info(`${signal ?? 'shutdown'} received, shutting down`)
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
  handleShutdown(app, settings, detachStdout)

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

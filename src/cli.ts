#!/usr/bin/env node
import { readFileSync } from 'node:fs'
import closeWithGrace from 'close-with-grace'
import { buildApp } from './app.js'
import { LogHub } from './log/hub.js'
import { logToStdout } from './log/stdout.js'
import { parseSettings, USAGE } from './settings.js'

// The one place that reads the process environment, owns stdout and signals,
// and calls listen.

function packageVersion (): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
  return pkg.version
}

async function main (): Promise<void> {
  let parsed
  try {
    parsed = parseSettings(process.argv.slice(2), process.env, process.cwd(), process.stdout.isTTY === true)
  } catch (err) {
    process.stderr.write(`aigis: ${(err as Error).message}\n\n${USAGE}\n`)
    process.exit(2)
  }
  if ('help' in parsed) return void process.stdout.write(USAGE + '\n')
  if ('version' in parsed) return void process.stdout.write(packageVersion() + '\n')
  const { settings } = parsed

  const hub = new LogHub({ level: settings.logLevel })
  const detachStdout = logToStdout(hub, settings.pretty)
  let app
  try {
    app = await buildApp({ ...settings, hub })
  } catch (err) {
    process.stderr.write(`aigis: cannot start: ${(err as Error).message}\n`)
    detachStdout()
    process.exit(1)
  }

  closeWithGrace({ delay: 30_000 }, async ({ signal, err }) => {
    if (err !== undefined) app.log.error({ err }, 'shutting down after an error')
    else app.log.info(`${signal ?? 'shutdown'} received, shutting down`)
    await app.close()
    app.log.info('stopped')
    detachStdout()
  })

  await app.listen({ host: settings.host, port: settings.port })
}

await main()

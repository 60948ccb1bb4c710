// An example internal plugin: every WATCH_SECONDS it calls the example
// plugin's greet skill through the aigis client, logs the answer, and keeps
// the last one in last-check.json for its own skill (AIGIS/AIGIS.core.ts).
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { AigisClient, AigisError } from 'aigis/client'

/** One pino-style JSON line on stdout: aigis keeps its level and fields. */
function log (level: 'info' | 'warn', msg: string, fields: Record<string, unknown> = {}): void {
  console.log(JSON.stringify({ level, msg, ...fields }))
}

export async function launch (aigis: AigisClient): Promise<() => void> {
  const every = Number(process.env.WATCH_SECONDS ?? 10) * 1000
  const name = process.env.WATCH_NAME ?? 'watcher'
  let checks = 0

  const check = async (): Promise<void> => {
    checks++
    try {
      const answer: string = await aigis.example.greet({ name })
      log('info', 'example.greet answered', { answer, checks })
      await writeFile(join(process.cwd(), 'last-check.json'), JSON.stringify({ checks, answer, at: new Date().toISOString() }))
    } catch (err) {
      const { statusCode, code, message } = err as AigisError
      log('warn', `example.greet failed: ${message}`, { statusCode, code, checks })
    }
  }

  await check()
  const timer = setInterval(() => { void check() }, every)
  // Called on SIGTERM (stop, restart, server shutdown) before the process exits.
  return () => clearInterval(timer)
}

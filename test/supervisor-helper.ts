// Helpers for tests that run real subprocess plugins: plugin folders from
// fixture programs, waiting on conditions and states, and process liveness.
import { readFileSync } from 'node:fs'
import { chmod } from 'node:fs/promises'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import type { FastifyInstance } from 'fastify'
import type { LogRecord } from '../src/log/record.js'
import type { PluginStatus } from '../src/plugins/status.js'
import { procStat, STAT } from '../src/supervisor/proc-stat.js'

export const FIXTURES = join(import.meta.dirname, 'fixtures')

export function fixture (name: string): string {
  return readFileSync(join(FIXTURES, name), 'utf8')
}

/** An external plugin's folder: AIGIS.config (PLUGIN_TYPE added) and its files, keyed for `files`. */
export function externalPlugin (folder: string, config: string, files: Record<string, string> = {}): Record<string, string> {
  return pluginFiles('external', folder, config, files)
}

export function internalPlugin (folder: string, config: string, files: Record<string, string> = {}): Record<string, string> {
  return pluginFiles('internal', folder, config, files)
}

function pluginFiles (type: string, folder: string, config: string, files: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = { [`${folder}/AIGIS/AIGIS.config`]: `PLUGIN_TYPE = "${type}"\n${config}\n` }
  for (const [path, content] of Object.entries(files)) out[`${folder}/${path}`] = content
  return out
}

export async function makeExecutable (...paths: string[]): Promise<void> {
  for (const path of paths) await chmod(path, 0o755)
}

/** Polls `check` until it returns something other than undefined/false; fails after `timeoutMs`. */
export async function waitFor<T> (what: string, check: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await check()
    if (value !== undefined && value !== false) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(20)
  }
}

/** Resolves with the plugin's status once `predicate` holds for it (now or at a later state event). */
export async function waitForStatus (app: FastifyInstance, name: string, predicate: (status: PluginStatus) => boolean, timeoutMs = 15_000): Promise<PluginStatus> {
  const manager = app.aigis.plugins
  if (manager.has(name) && predicate(manager.status(name))) return manager.status(name)
  return await new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      manager.off('state', onState)
      reject(new Error(`timed out waiting for plugin ${name}; it is ${manager.has(name) ? JSON.stringify(manager.status(name)) : 'gone'}`))
    }, timeoutMs)
    const onState = (status: PluginStatus): void => {
      if (status.name !== name || !predicate(status)) return
      clearTimeout(timer)
      manager.off('state', onState)
      resolve(status)
    }
    manager.on('state', onState)
  })
}

export function waitForState (app: FastifyInstance, name: string, state: PluginStatus['state'], timeoutMs?: number): Promise<PluginStatus> {
  return waitForStatus(app, name, (s) => s.state === state, timeoutMs)
}

/** Every state the plugin passes through from now on. */
export function recordStates (app: FastifyInstance, name: string): PluginStatus[] {
  const seen: PluginStatus[] = []
  app.aigis.plugins.on('state', (status) => { if (status.name === name) seen.push(status) })
  return seen
}

/** The plugin's retained log records. */
export function logsOf (app: FastifyInstance, name: string): LogRecord[] {
  return app.aigis.hub.tail(10_000, { plugins: new Set([name]) })
}

/** Waits for a record of the plugin whose message matches. */
export function waitForLog (app: FastifyInstance, name: string, match: RegExp | string, timeoutMs?: number): Promise<LogRecord> {
  const test = (msg: string): boolean => typeof match === 'string' ? msg.includes(match) : match.test(msg)
  return waitFor(`a log record of ${name} matching ${String(match)}`, () => logsOf(app, name).find((r) => test(r.msg)), timeoutMs)
}

/** True while the process exists and is not a zombie (PID 1 here does not reap orphans). */
export function pidAlive (pid: number): boolean {
  try {
    process.kill(pid, 0)
  } catch {
    return false
  }
  const state = procStat(pid)?.[STAT.state]
  return state !== undefined && state !== 'Z'
}

export function waitGone (pid: number, timeoutMs?: number): Promise<true> {
  return waitFor(`process ${pid} to end`, () => !pidAlive(pid), timeoutMs)
}

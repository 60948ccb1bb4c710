import { mkdir, writeFile } from 'node:fs/promises'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { buildApp, type AppOptions } from '../src/app.js'

/** Anything tap's `t` offers that the helpers use. */
export interface TestContext {
  teardown: (fn: () => unknown) => void
}

export interface TestServer {
  app: FastifyInstance
  /** Base URL, e.g. http://127.0.0.1:41234 */
  url: string
  /** The temp folder holding config.aigis, the plugin files and `data/`. */
  dir: string
  /** fetch() against the server, with a JSON body when `json` is given. */
  call: (path: string, init?: RequestInit & { json?: unknown }) => Promise<{ status: number, body: any, headers: Headers }>
}

export interface ServerOptions extends Partial<Omit<AppOptions, 'config' | 'dataDir'>> {
  /** Relative paths resolve against the temp folder. */
  secretsDir?: string
  /** Text of config.aigis; plugin sources are relative to the temp folder. */
  config?: string
  /** Files to write, path (relative to the temp folder) → content. */
  files?: Record<string, string>
}

/** Folders made by tempDir, removed when the test file's process exits (its servers and children are gone by then). */
const tempDirs: string[] = []
process.once('exit', () => {
  for (const dir of tempDirs) {
    try {
      rmSync(dir, { recursive: true, force: true })
    } catch {} // a folder left behind is no reason to fail a test run
  }
})

/** A fresh folder under the OS temp dir, removed when the test file ends. */
export function tempDir (prefix = 'aigis-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  tempDirs.push(dir)
  return dir
}

export async function writeFiles (dir: string, files: Record<string, string>): Promise<void> {
  for (const [path, content] of Object.entries(files)) {
    await mkdir(dirname(join(dir, path)), { recursive: true })
    await writeFile(join(dir, path), content)
  }
}

/** A core plugin's two files, keyed for `files`. */
export function corePlugin (folder: string, core: string, extraConfig = ''): Record<string, string> {
  return {
    [`${folder}/AIGIS/AIGIS.config`]: `PLUGIN_TYPE = "core"\n${extraConfig}`,
    [`${folder}/AIGIS/AIGIS.core.ts`]: core
  }
}

/**
 * Starts a real aigis server on a free port, waits until its plugins are
 * loaded, and closes it when the test ends.
 */
export async function startServer (t: TestContext, options: ServerOptions = {}): Promise<TestServer> {
  const dir = tempDir()
  const { config = '', files = {}, ...appOptions } = options
  await writeFiles(dir, { 'config.aigis': config, ...files })
  const app = await buildApp({
    config: join(dir, 'config.aigis'),
    dataDir: join(dir, 'data'),
    ...appOptions,
    secretsDir: appOptions.secretsDir !== undefined ? resolve(dir, appOptions.secretsDir) : undefined
  })
  t.teardown(() => app.close())
  await app.listen({ host: '127.0.0.1', port: 0 })
  await app.aigis.loaded
  const address = app.server.address() as { port: number }
  const url = `http://127.0.0.1:${address.port}`
  return { app, url, dir, call: (path, init) => call(url, path, init) }
}

export async function call (base: string, path: string, init: RequestInit & { json?: unknown } = {}): Promise<{ status: number, body: any, headers: Headers }> {
  const { json, ...rest } = init
  const headers = new Headers(rest.headers)
  if (json !== undefined) headers.set('content-type', 'application/json')
  const response = await fetch(base + path, {
    ...rest,
    headers,
    body: json !== undefined ? JSON.stringify(json) : rest.body
  })
  const text = await response.text()
  let body: unknown = text
  try { body = text === '' ? undefined : JSON.parse(text) } catch {}
  return { status: response.status, body, headers: response.headers }
}

// npm run openapi: writes openapi/openapi.json, the OpenAPI document of the
// server running the shipped default config (config/config.aigis), skills
// included. The server really runs (listen on a free port, so internal and
// hybrid plugins start and register their skills) with a throw-away data dir.
// The output is deterministic: keys sorted, no ports, paths or times in it,
// so a stale committed file shows as a diff (test/openapi.test.ts).
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { buildApp } from '../src/app.js'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
export const OPENAPI_FILE = join(ROOT, 'openapi/openapi.json')
export const DEFAULT_CONFIG = join(ROOT, 'config/config.aigis')

// Plugin states in which a plugin's skills no longer change on their own.
const SETTLED = new Set(['running', 'stopped', 'exited', 'fatal', 'failed'])

/** Objects with their keys sorted, recursively; arrays keep their order. */
export function sortKeys (value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys)
  if (typeof value !== 'object' || value === null) return value
  return Object.fromEntries(Object.keys(value).sort().map((key) => [key, sortKeys((value as Record<string, unknown>)[key])]))
}

/** The document as text, exactly as the committed file should read. */
export async function generateOpenapi (config = DEFAULT_CONFIG): Promise<string> {
  const dataDir = await mkdtemp(join(tmpdir(), 'aigis-openapi-'))
  const app = await buildApp({ config, dataDir, logLevel: 'error' })
  try {
    await app.listen({ host: '127.0.0.1', port: 0 })
    await app.aigis.loaded
    const deadline = Date.now() + 30_000
    while (!app.aigis.plugins.list().every((p) => SETTLED.has(p.state))) {
      if (Date.now() > deadline) throw new Error(`plugins did not settle: ${JSON.stringify(app.aigis.plugins.list().map((p) => [p.name, p.state]))}`)
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    return JSON.stringify(sortKeys(app.openapiDocument()), null, 2) + '\n'
  } finally {
    await app.close()
    await rm(dataDir, { recursive: true, force: true })
  }
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const text = await generateOpenapi()
  await mkdir(dirname(OPENAPI_FILE), { recursive: true })
  await writeFile(OPENAPI_FILE, text)
  const doc = JSON.parse(text) as { paths: Record<string, unknown> }
  console.log(`wrote ${OPENAPI_FILE.slice(ROOT.length)}: ${Object.keys(doc.paths).length} paths`)
}

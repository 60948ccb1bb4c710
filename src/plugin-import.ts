import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { createJiti } from 'jiti'
import * as aigis from './index.js'
import * as client from './client.js'
import { transformPluginSource } from './transpile.js'

/**
 * `typebox` and every subpath its package exports (`typebox/value`,
 * `typebox/compile`, ...), read from its package.json so that a new subpath
 * in a new version is there without a change here.
 */
function typeboxIds (): string[] {
  const require = createRequire(import.meta.url)
  // The package.json itself is not exported; it sits where the root resolves, up the tree.
  let dir = dirname(require.resolve('typebox'))
  for (;;) {
    try {
      const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string, exports?: unknown }
      if (manifest.name === 'typebox') {
        const keys = typeof manifest.exports === 'object' && manifest.exports !== null ? Object.keys(manifest.exports) : []
        const subpaths = keys.filter((key) => key.startsWith('./') && !key.includes('*') && !key.endsWith('.json'))
        return ['typebox', ...subpaths.map((key) => `typebox${key.slice(1)}`)]
      }
    } catch {} // no package.json here (or a broken one): keep climbing
    if (dirname(dir) === dir) return ['typebox']
    dir = dirname(dir)
  }
}

/**
 * The server's modules a plugin gets without installing them, by the id it
 * imports. Loaded on the first plugin import, not with the server: the
 * typebox subpaths cost a few hundred ms, which a server without core
 * plugins need not pay. Once loaded they are the same for every app in the
 * process, as Node's own module cache is.
 */
let serverModules: Promise<Record<string, unknown>> | undefined
async function loadServerModules (): Promise<Record<string, unknown>> {
  const typebox = await Promise.all(typeboxIds().map(async (id) => [id, await import(id)] as const))
  return { aigis, 'aigis/client': client, ...Object.fromEntries(typebox) }
}

/**
 * Imports a plugin's module from source (TypeScript included), with `aigis`,
 * `aigis/client` and `typebox` (and its subpaths) resolving to the server's
 * own copies, and a fresh module graph each time (a reload runs edited code).
 *
 * It loads synchronously on purpose: jiti's async import hands `.mjs` files
 * (and `.js` in "type": "module" packages) to Node's native loader, which
 * neither sees the server's modules nor forgets a module once loaded. Only a
 * module with top-level await, which cannot load synchronously, takes the
 * async path.
 */
export async function importPluginModule (file: string, base: string, cacheDir?: string): Promise<Record<string, unknown>> {
  const virtualModules = await (serverModules ??= loadServerModules())
  const jiti = createJiti(join(base, 'index.js'), {
    moduleCache: false,
    fsCache: cacheDir === undefined ? false : join(cacheDir, 'jiti'),
    interopDefault: false,
    transform: transformPluginSource,
    virtualModules
  })
  try {
    return jiti(file) as Record<string, unknown>
  } catch (err) {
    if (err instanceof SyntaxError && /await is only valid/.test(err.message)) return await jiti.import(file)
    throw err
  }
}

import { join } from 'node:path'
import { createJiti } from 'jiti'
import * as typebox from 'typebox'
import * as aigis from './index.js'
import * as client from './client.js'
import { transformPluginSource } from './transpile.js'

/**
 * Imports a plugin's module from source (TypeScript included), with `aigis`,
 * `aigis/client` and `typebox` resolving to the server's own copies, and a
 * fresh module graph each time (a reload runs edited code).
 *
 * It loads synchronously on purpose: jiti's async import hands `.mjs` files
 * (and `.js` in "type": "module" packages) to Node's native loader, which
 * neither sees the server's modules nor forgets a module once loaded. Only a
 * module with top-level await, which cannot load synchronously, takes the
 * async path.
 */
export async function importPluginModule (file: string, base: string, cacheDir?: string): Promise<Record<string, unknown>> {
  const jiti = createJiti(join(base, 'index.js'), {
    moduleCache: false,
    fsCache: cacheDir === undefined ? false : join(cacheDir, 'jiti'),
    interopDefault: false,
    transform: transformPluginSource,
    virtualModules: { aigis, 'aigis/client': client, typebox }
  })
  try {
    return jiti(file) as Record<string, unknown>
  } catch (err) {
    if (err instanceof SyntaxError && /await is only valid/.test(err.message)) return await jiti.import(file)
    throw err
  }
}

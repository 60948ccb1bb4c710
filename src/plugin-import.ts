import { readdirSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, isAbsolute, join, relative } from 'node:path'
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
 * ENTRYPOINT is the module resolution root for core code (SPEC §4): a
 * package installed in `<entrypoint>/node_modules` must resolve from the
 * plugin's files, which Node finds only when that folder is above them. When
 * it is not (`ENTRYPOINT = "{root}/lib"`, the module in `{root}/AIGIS`), each
 * package there becomes a jiti alias: its name for its entry (as `require`
 * resolves it from there), `name/` for its folder (subpaths). The server's
 * own modules (`served`: aigis, typebox) stay the server's.
 */
function entrypointAliases (base: string, file: string, served: Record<string, unknown>): Record<string, string> {
  const up = relative(base, dirname(file))
  if (!up.startsWith('..') && !isAbsolute(up)) return {}
  const modules = join(base, 'node_modules')
  const names: string[] = []
  let entries: string[]
  try {
    entries = readdirSync(modules)
  } catch {
    return {} // none installed there
  }
  for (const entry of entries) {
    if (entry.startsWith('.')) continue
    if (!entry.startsWith('@')) names.push(entry)
    else {
      try {
        for (const scoped of readdirSync(join(modules, entry))) names.push(`${entry}/${scoped}`)
      } catch {}
    }
  }
  const require = createRequire(join(base, 'index.js'))
  const aliases: Record<string, string> = {}
  for (const name of names) {
    if (name in served) continue
    let entry = join(modules, name)
    try {
      entry = require.resolve(name)
    } catch {} // no entry `require` can find (an import-only package): its folder, which jiti resolves
    aliases[name] = entry
    aliases[`${name}/`] = `${join(modules, name)}/`
  }
  return aliases
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
    virtualModules,
    alias: entrypointAliases(base, file, virtualModules)
  })
  try {
    return jiti(file) as Record<string, unknown>
  } catch (err) {
    if (err instanceof SyntaxError && /await is only valid/.test(err.message)) return await jiti.import(file)
    throw err
  }
}

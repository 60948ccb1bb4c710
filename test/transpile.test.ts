import t from 'tap'
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { importPluginModule } from '../src/plugin-import.js'
import { transformPluginSource } from '../src/transpile.js'
import { tempDir, writeFiles } from './helper.js'

// Plugin sources run through sucrase, or through jiti's babel for what sucrase
// leaves alone. Either way the module must behave as TypeScript says.

async function load (files: Record<string, string>): Promise<Record<string, any>> {
  const dir = tempDir()
  await writeFiles(dir, files)
  return await importPluginModule(join(dir, 'AIGIS.core.ts'), dir)
}

t.test('everyday TypeScript: types, enums, imports of sibling files, class fields, default export', async (t) => {
  const mod = await load({
    'AIGIS.core.ts': `import type { Shape } from './shapes.js'
import { area, type Unit } from './shapes.js'
import path = require('node:path')
import * as typebox from 'typebox'
export enum Color { Red, Green = 'green' }
class Counter { count = 0; step = 2; bump (): number { this.count += this.step; return this.count } }
const unit: Unit = 'cm'
export const SKILLS = ['measure']
export function measure (shape: Shape): string { return area(shape) + unit }
export const facts = { red: Color.Red, green: Color.Green, base: path.basename('/a/b.ts'), bumped: new Counter().bump(), typebox: typeof typebox.Type.Object, optional: ({} as any)?.x?.y ?? 'none' }
export default 'the default'
`,
    'shapes.ts': `export interface Shape { w: number, h: number }
export type Unit = 'cm' | 'in'
export const area = (s: Shape): number => s.w * s.h
`
  })
  t.equal(mod.measure({ w: 2, h: 3 }), '6cm')
  t.same(mod.facts, { red: 0, green: 'green', base: 'b.ts', bumped: 2, typebox: 'function', optional: 'none' })
  t.equal(mod.default, 'the default')
})

t.test('what sucrase leaves alone still works: namespaces, import.meta, dynamic import, top-level await', async (t) => {
  const dir = tempDir()
  await writeFiles(dir, {
    'AIGIS.core.ts': `export namespace Geometry { export const sides = (name: string): number => name === 'triangle' ? 3 : 4 }
export const here = import.meta.url
export const folder = import.meta.dirname
export async function later (): Promise<string> { return (await import('./later.js')).word }
export const SKILLS = ['later']
`,
    'later.ts': 'export const word: string = \'loaded later\'\n'
  })
  const mod: Record<string, any> = await importPluginModule(join(dir, 'AIGIS.core.ts'), dir)
  t.equal(mod.Geometry.sides('triangle'), 3, 'a value namespace is kept')
  t.equal(mod.here, pathToFileURL(join(dir, 'AIGIS.core.ts')).href)
  t.equal(mod.folder, dir)
  t.equal(await mod.later(), 'loaded later')

  const tla = await load({ 'AIGIS.core.ts': 'const value: number = await Promise.resolve(42)\nexport const answer = value\n' })
  t.equal(tla.answer, 42, 'top-level await')
})

t.test('a syntax error names the file, line and column', async (t) => {
  await t.rejects(load({ 'AIGIS.core.ts': 'export const ok = 1\nexport const = 2\n' }), /AIGIS\.core\.ts:2:\d+/)
})

t.test('the transpile cache gives the same module on the next load', async (t) => {
  const dir = tempDir()
  await writeFiles(dir, { 'AIGIS.core.ts': 'export enum E { A = 1 }\nexport const SKILLS = [] as string[]\nexport const a: number = E.A\n' })
  const first = await importPluginModule(join(dir, 'AIGIS.core.ts'), dir, join(dir, 'cache'))
  const second = await importPluginModule(join(dir, 'AIGIS.core.ts'), dir, join(dir, 'cache'))
  t.equal(first.a, 1)
  t.equal(second.a, 1)
  t.not(first, second, 'a fresh module each time')
  t.ok(readdirSync(join(dir, 'cache', 'jiti')).length > 0, 'the transpiled code is cached')
})

t.test('the output keeps every line in place and rewrites import.meta', async (t) => {
  // Kept lines: stack traces point at the plugin's own source lines.
  const source = 'export const a: number = 1\n\nexport const b = 2\n'
  const plain = transformPluginSource({ source, filename: '/x/a.ts', ts: true })
  t.match(plain.code, /exports\.b = b/)
  t.equal(plain.code.split('\n').length, source.split('\n').length, 'lines kept')
  const meta = transformPluginSource({ source: 'export const u = import.meta.url\n', filename: '/x/b.ts', ts: true })
  t.notMatch(meta.code, /import\.meta/, 'import.meta rewritten (by babel)')
})

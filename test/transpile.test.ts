import t from 'tap'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { importPluginModule } from '../src/plugin-import.js'
import { exportsSucraseGetsWrong, transformPluginSource } from '../src/transpile.js'
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

t.test('typebox and every subpath it exports resolve to the server\'s own copies', async (t) => {
  // The plugin folder has no node_modules: each import must come from the server's own modules.
  const { exports } = JSON.parse(readFileSync(new URL('../node_modules/typebox/package.json', import.meta.url), 'utf8'))
  const ids = Object.keys(exports).filter((key) => !key.includes('*') && !key.endsWith('.json')).map((key) => `typebox${key.slice(1)}`)
  t.ok(ids.includes('typebox/value') && ids.includes('typebox/compile'), `subpaths found: ${ids.join(', ')}`)
  const mod = await load({
    'AIGIS.core.ts': `${ids.map((id, i) => `import * as m${i} from '${id}'`).join('\n')}
import { Value } from 'typebox/value'
import { Type } from 'typebox'
export const modules = [${ids.map((_, i) => `m${i}`).join(', ')}]
export const checks = [Value.Check(Type.String(), 'a'), Value.Check(Type.String(), 1)]
`
  })
  for (const [i, id] of ids.entries()) {
    // `import * as` makes an object of its own; what is in it must be the server's.
    const server: Record<string, unknown> = await import(id)
    const names = Object.keys(server).filter((name) => name !== 'default')
    t.ok(names.length > 0 && names.every((name) => mod.modules[i][name] === server[name]), `${id}: the server's ${names.length} exports`)
  }
  t.same(mod.checks, [true, false], 'typebox/value works')
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

t.test('exports sucrase gets wrong behave as ES modules say: several declarators, destructuring, a list before the declaration', async (t) => {
  // One form a module: each one alone made sucrase's output fail or export the wrong thing.
  const modules: Array<[string, (mod: Record<string, any>) => void]> = [
    ['export const one = 1, two = 2\nexport let three = 3,\n  four = 4\n', (mod) => t.same([mod.one, mod.two, mod.three, mod.four], [1, 2, 3, 4], 'several declarators')],
    ['export { late }\nconst late = 1 + 1\n', (mod) => t.equal(mod.late, 2, 'a list before the declaration')],
    ["const pair = { x: 'x', y: 'y' }\nexport const { x, y: why } = pair\nexport const shout = (): string => (x + why).toUpperCase()\n", (mod) => {
      t.same([mod.x, mod.why, mod.shout()], ['x', 'y', 'XY'], 'destructured: exported, and local bindings too')
    }]
  ]
  for (const [source, check] of modules) {
    for (const file of ['AIGIS.core.ts', 'AIGIS.core.mjs']) {
      const dir = tempDir()
      await writeFiles(dir, { [file]: file.endsWith('.mjs') ? source.replace(': string', '') : source })
      check(await importPluginModule(join(dir, file), dir))
    }
  }
})

t.test('which exports go to babel: only the forms sucrase gets wrong (and type arguments, a false alarm)', async (t) => {
  const wrong = ['export const a = 1, b = 2', 'export const a = 1 /* c */, b = 2', 'export const { a } = o', 'export let [a] = o', 'const a = 1\nexport { a }', 'export const a: Record<string, number> = {}']
  const fine = ['export const a = 1\nconst b = 2, c = 3', 'export const f = (a, b) => a + b', 'export const o = { a: 1, b: [1, 2] }', "export const s = 'a, b'", 'export const t = `${1}, 2`', 'export const a = 1 // b, c', 'export { a } from \'./a.js\'', 'export * from \'./a.js\'', 'export function f (a, b) { return a }']
  for (const source of wrong) t.ok(exportsSucraseGetsWrong(source), source)
  for (const source of fine) t.notOk(exportsSucraseGetsWrong(source), source)
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

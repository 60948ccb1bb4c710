import t from 'tap'
import { execFileSync } from 'node:child_process'
import { closeSync, openSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { heldTickEntry } from '../src/tick-shape.js'
import { tempDir } from './helper.js'

// src/tick-shape.ts holds one process.nextTick queue entry so that V8 keeps
// the hidden classes nextTick builds its entries with (see the file).

t.test('what is held is a nextTick queue entry', async (t) => {
  await new Promise((resolve) => process.nextTick(resolve))
  const entry = heldTickEntry() as Record<string, unknown>
  t.ok(entry, 'an entry is held once the first tick ran')
  t.same(Object.keys(entry), ['callback', 'args'], 'the shape of a queue entry')
  // Its async id and trigger id; newer Node versions add its async context frame.
  t.ok(Object.getOwnPropertySymbols(entry).length >= 2, 'plus its async ids, keyed by symbols')
})

t.test('nextTick stays monomorphic through full garbage collections', async (t) => {
  // Without the held entry, Node 20 shows MEGAMORPHIC here: each collection
  // with no tick queued frees the entries' hidden classes, and the property
  // stores that build an entry see new ones every time.
  const script = `
    await import(${JSON.stringify(fileURLToPath(new URL('../src/tick-shape.ts', import.meta.url)))})
    const tick = () => new Promise((resolve) => process.nextTick(resolve))
    for (let round = 0; round < 8; round++) {
      for (let i = 0; i < 10; i++) await tick()
      await new Promise((resolve) => setImmediate(resolve))
      globalThis.gc()
    }
    eval('%DebugPrint(process.nextTick)')`
  // A fresh node, as a server starts: tap adds its process tracking to every
  // child's NODE_OPTIONS, and that would load (and collect) before the
  // module; \`env -u\` takes it out again. V8 prints with C stdio, which drops
  // what a non-blocking pipe refuses: the output goes to a file instead.
  const file = join(tempDir(), 'debug-print.txt')
  const out = openSync(file, 'w')
  try {
    execFileSync('env', ['-u', 'NODE_OPTIONS', process.execPath, '--import=tsx', '--allow-natives-syntax', '--expose-gc', '--input-type=module', '-e', script], { stdio: ['ignore', out, 'inherit'] })
  } finally {
    closeSync(out)
  }
  const printed = readFileSync(file, 'utf8')
  // The feedback of the stores in nextTick's entry literal, one line each.
  const stores = printed.split('\n').filter((line) => line.includes('DefineKeyedOwnPropertyInLiteral'))
  t.ok(stores.length >= 2, 'V8 printed the feedback of the entry literal\'s stores', { printed: printed.slice(0, 2000) })
  t.same(stores.filter((line) => !line.includes('MONOMORPHIC')), [], 'every store sees one hidden class')
})

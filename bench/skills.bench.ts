// Issue 2's targets, measured in one run against baselines from the same run:
// - POST /skills/<plugin>/echo ≥ 0.9× the req/s of a bare Fastify echo route;
// - boot with 200 core plugins × 10 skills < 3× the boot with an empty config.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { aigisServer, BARE_SERVER, BODY, buildDist, inTurns, median, pairedRatio, report, startChild, stopChild, writeCorePlugin } from './lib.js'

const root = fileURLToPath(new URL('..', import.meta.url))
const work = join(root, '.bench', 'skills')
const ROUNDS = 15

buildDist()
rmSync(work, { recursive: true, force: true })

function writeConfig (name: string, plugins: string[]): string {
  const file = join(work, `${name}.aigis`)
  writeFileSync(file, `[core]\n${plugins.map((p) => `${p} = "plugins/${p}"`).join('\n')}\n`)
  return file
}

// --- skill call vs bare route -------------------------------------------
mkdirSync(work, { recursive: true })
writeCorePlugin(join(work, 'plugins', 'bench'), 1)
const echoConfig = writeConfig('echo', ['bench'])

// Both servers run side by side and take turns under load (see lib.ts inTurns).
const bare = await startChild(BARE_SERVER)
const aigis = await startChild(aigisServer({ config: echoConfig, dataDir: join(work, 'data-echo') }))
const [bareRun, skillRun] = await inTurns([
  { name: 'bare', url: `http://127.0.0.1:${bare.info.port}/echo`, pid: bare.child.pid! },
  { name: 'skill', url: `http://127.0.0.1:${aigis.info.port}/skills/bench/echo`, pid: aigis.child.pid! }
], BODY, ROUNDS, 2)
await stopChild(bare.child)
await stopChild(aigis.child)
const rounds = (values: number[]): string => values.map(Math.round).join(', ')
console.log(`bare Fastify echo:  ${Math.round(median(bareRun.rps))} req/s (rounds: ${rounds(bareRun.rps)}), ${median(bareRun.cpu).toFixed(1)} µs CPU/request`)
console.log(`aigis skill echo:   ${Math.round(median(skillRun.rps))} req/s (rounds: ${rounds(skillRun.rps)}), ${median(skillRun.cpu).toFixed(1)} µs CPU/request`)
console.log(`CPU per request, bare / skill: ${pairedRatio(bareRun.cpu, skillRun.cpu).toFixed(3)} (median of the rounds)`)
const callRatio = pairedRatio(skillRun.rps, bareRun.rps)
const callOk = report('skill call / bare route (req/s, median of the rounds)', callRatio.toFixed(3), callRatio >= 0.9, '≥ 0.9')

// --- boot: 200 plugins × 10 skills vs empty config ------------------------
const names = Array.from({ length: 200 }, (_, i) => `p${i}`)
for (const name of names) writeCorePlugin(join(work, 'plugins', name), 10)
const emptyConfig = writeConfig('empty', [])
const fullConfig = writeConfig('full', names)

async function bootMs (config: string, dataDir: string, expectSkills: number): Promise<number> {
  const started = await startChild(aigisServer({ config, dataDir }))
  await stopChild(started.child)
  if (started.info.skills !== expectSkills) throw new Error(`expected ${expectSkills} skills, got ${started.info.skills}`)
  return started.elapsedMs
}

const emptyBoots: number[] = []
const coldBoots: number[] = []
const warmBoots: number[] = []
for (let round = 0; round < 3; round++) {
  emptyBoots.push(await bootMs(emptyConfig, join(work, `data-empty-${round}`), 0))
  coldBoots.push(await bootMs(fullConfig, join(work, `data-full-${round}`), 2000)) // a new data dir: nothing cached
  warmBoots.push(await bootMs(fullConfig, join(work, `data-full-${round}`), 2000)) // the same data dir again
}
const empty = median(emptyBoots)
const cold = median(coldBoots)
const warm = median(warmBoots)
console.log(`boot, empty config:                 ${empty.toFixed(0)} ms (process start to plugins loaded)`)
console.log(`boot, 200 × 10 skills, first start: ${cold.toFixed(0)} ms (${(cold / empty).toFixed(2)}×; transpiles 200 TypeScript files)`)
console.log(`boot, 200 × 10 skills, restart:     ${warm.toFixed(0)} ms (${(warm / empty).toFixed(2)}×; transpile cache in the data dir)`)
const warmOk = report('boot 200×10 / empty (restart)', (warm / empty).toFixed(2), warm / empty < 3, '< 3')
const coldOk = report('boot 200×10 / empty (first start)', (cold / empty).toFixed(2), cold / empty < 3, '< 3')

rmSync(work, { recursive: true, force: true })
process.exit(callOk && warmOk && coldOk ? 0 : 1)

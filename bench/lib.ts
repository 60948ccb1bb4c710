// Shared by the benches: start a server in its own process (so the load
// generator does not share its core), and drive servers with autocannon in
// turns.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { procStat, STAT } from '../src/supervisor/proc-stat.js'
import { createInterface } from 'node:readline'
import autocannon from 'autocannon'

const root = fileURLToPath(new URL('..', import.meta.url))

/** Compiles the TypeScript to dist/, which the benches' servers run (as `npm start` does). */
export function buildDist (): void {
  execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit' })
}

/**
 * Writes a core plugin in `folder` with `skills` skills: `echo` (returns its
 * input, no schema), then `skill1`, `skill2`, ... with schemas.
 */
export function writeCorePlugin (folder: string, skills: number): void {
  mkdirSync(join(folder, 'AIGIS'), { recursive: true })
  writeFileSync(join(folder, 'AIGIS', 'AIGIS.config'), 'PLUGIN_TYPE = "core"\n')
  const names = Array.from({ length: skills }, (_, i) => i === 0 ? 'echo' : `skill${i}`)
  writeFileSync(join(folder, 'AIGIS', 'AIGIS.core.ts'), `import { Type } from 'typebox'
export const SKILLS = ${JSON.stringify(names)}
${names.map((n, i) => `export const ${n} = (input: unknown) => ${i === 0 ? 'input' : `({ skill: ${i}, input })`}`).join('\n')}
export const SCHEMAS = {
${names.slice(1).map((n) => `  ${n}: { description: 'skill ${n}', body: Type.Object({ value: Type.Number() }), response: Type.Object({ skill: Type.Number() }) },`).join('\n')}
}
`)
}

/** A module of the build, as a string literal for the import of a generated server script. */
export function distModule (path: string): string {
  return JSON.stringify(join(root, 'dist', path))
}

/** The JSON body every skill-call bench posts. */
export const BODY = JSON.stringify({ hello: 'world', n: 42, list: [1, 2, 3], nested: { ok: true } })

/** The baseline: a bare Fastify server whose one route echoes the JSON body. */
export const BARE_SERVER = `
import Fastify from 'fastify'
const app = Fastify()
app.post('/echo', async (request) => request.body)
await app.listen({ port: 0, host: '127.0.0.1' })
console.log(JSON.stringify({ port: app.server.address().port }))`

/** The built aigis app (dist/) on `config`; prints its port and skill count once the plugins are loaded. */
export function aigisServer (options: { config: string, dataDir: string, token?: string }): string {
  return `
import { buildApp } from ${distModule('src/app.js')}
const app = await buildApp(${JSON.stringify(options)})
await app.listen({ port: 0, host: '127.0.0.1' })
await app.aigis.loaded
console.log(JSON.stringify({ port: app.server.address().port, skills: app.aigis.skills.list().length }))`
}

export interface Started {
  child: ChildProcess
  /** What the child printed as its first JSON line (port, timings). */
  info: Record<string, any>
  /** Milliseconds from spawn to that line. */
  elapsedMs: number
}

/** Runs an ES module source in a fresh node process; it must print one JSON line when ready. */
export async function startChild (source: string, env: NodeJS.ProcessEnv = {}): Promise<Started> {
  const started = performance.now()
  const child = spawn(process.execPath, ['--input-type=module', '-e', source], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit']
  })
  const lines = createInterface({ input: child.stdout! })
  for await (const line of lines) {
    if (line.startsWith('{')) {
      const info = JSON.parse(line)
      lines.removeAllListeners()
      child.stdout!.resume()
      return { child, info, elapsedMs: performance.now() - started }
    }
  }
  throw new Error('the child ended before it was ready')
}

export async function stopChild (child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return
  const ended = new Promise((resolve) => child.once('exit', resolve))
  child.kill('SIGTERM')
  await ended
}

export interface Target {
  name: string
  url: string
  /** The server process, whose CPU time is read from /proc. */
  pid: number
  headers?: Record<string, string>
}

export interface Measured {
  /** req/s of each round. */
  rps: number[]
  /** Server CPU µs per request of each round. */
  cpu: number[]
}

/** utime + stime of a process, in seconds. */
export function cpuSeconds (pid: number): number {
  const fields = procStat(pid)
  if (fields === undefined) throw new Error(`process ${pid} is gone`)
  return (Number(fields[STAT.utime]) + Number(fields[STAT.stime])) / 100 // CLK_TCK is 100 on Linux
}

async function load (target: Target, body: string, seconds: number): Promise<{ rps: number, cpu: number }> {
  const before = cpuSeconds(target.pid)
  const result = await autocannon({
    url: target.url,
    method: 'POST',
    body,
    headers: { 'content-type': 'application/json', ...target.headers },
    connections: 50,
    pipelining: 1,
    duration: seconds
  })
  const cpu = cpuSeconds(target.pid) - before
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`${target.url}: ${result.non2xx} non-2xx answers, ${result.errors} errors`)
  return { rps: result.requests.average, cpu: cpu * 1e6 / result.requests.total }
}

/**
 * Drives every target with POST `body` in turns: a warm-up each, then
 * `rounds` rounds of `seconds` each, the targets one after the other within a
 * round, in reverse order every other round (A B, B A, ...). On a shared
 * machine the speed drifts by tens of percent from one second to the next;
 * short rounds taken in turns put every target through the same drift, the
 * alternating order keeps any one target from always going first, and a
 * ratio is then taken round by round (see `pairedRatio`).
 */
export async function inTurns (targets: Target[], body: string, rounds: number, seconds: number): Promise<Measured[]> {
  for (const target of targets) await load(target, body, 1)
  const measured = targets.map(() => ({ rps: [] as number[], cpu: [] as number[] }))
  const order = [...targets.keys()]
  for (let round = 0; round < rounds; round++) {
    for (const i of round % 2 === 0 ? order : [...order].reverse()) {
      const { rps, cpu } = await load(targets[i], body, seconds)
      measured[i].rps.push(rps)
      measured[i].cpu.push(cpu)
    }
  }
  return measured
}

/** The median over rounds of a / b, each round's values taken together. */
export function pairedRatio (a: number[], b: number[]): number {
  return median(a.map((value, i) => value / b[i]))
}

export function median (values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

/** Prints one figure and whether it meets its target; returns whether it does. */
export function report (name: string, value: string, ok: boolean, target: string): boolean {
  console.log(`${ok ? 'PASS' : 'MISS'}  ${name}: ${value}  (target ${target})`)
  return ok
}

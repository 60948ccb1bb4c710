// Issue 3's targets, measured in one run:
// - restart latency: from an unexpected exit (the bench SIGKILLs the process)
//   to its replacement running, first backoff step 0, median of 20 ≤ 100 ms;
// - memory: server RSS with 50 idle external plugins ≤ 1.5× the RSS with none
//   (each server in its own process, after a GC, median of 3).
import { mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { buildDist, distModule, median, report, startChild, stopChild } from './lib.js'

const root = fileURLToPath(new URL('..', import.meta.url))
const work = join(root, '.bench', 'process')
buildDist()
rmSync(work, { recursive: true, force: true })
mkdirSync(join(work, 'plugins', 'idle', 'AIGIS'), { recursive: true })
writeFileSync(join(work, 'plugins', 'idle', 'AIGIS', 'AIGIS.config'), 'PLUGIN_TYPE = "external"\nLAUNCH = ["sleep", "3600"]\nRESTART = -1\n')

function writeConfig (name: string, count: number): string {
  const file = join(work, `${name}.aigis`)
  const lines = Array.from({ length: count }, (_, i) => `idle${i} = "plugins/idle"`)
  writeFileSync(file, `[external]\n${lines.join('\n')}\n`)
  return file
}

// --- restart latency ------------------------------------------------------
const latencyServer = `
import { buildApp } from ${distModule('src/app.js')}
const app = await buildApp({ config: ${JSON.stringify(writeConfig('one', 1))}, dataDir: ${JSON.stringify(join(work, 'data-latency'))}, restartBackoff: { initialMs: 0 } })
await app.listen({ port: 0, host: '127.0.0.1' })
await app.aigis.loaded
const manager = app.aigis.plugins
const replaced = (oldPid) => new Promise((resolve) => {
  const onState = (status) => {
    if (status.name === 'idle0' && status.state === 'running' && status.pid !== oldPid) {
      manager.off('state', onState)
      resolve(status)
    }
  }
  manager.on('state', onState)
})
const samples = []
for (let i = 0; i < 21; i++) {
  const { pid } = manager.status('idle0')
  const next = replaced(pid)
  const started = performance.now()
  process.kill(pid, 'SIGKILL')
  await next
  if (i > 0) samples.push(performance.now() - started) // the first is a warm-up
}
console.log(JSON.stringify({ samples, restarts: manager.status('idle0').restarts }))
await app.close()`

const latency = await startChild(latencyServer)
await new Promise((resolve) => latency.child.once('exit', resolve))
const samples = latency.info.samples as number[]
const latencyMs = median(samples)
console.log(`restart latency: median ${latencyMs.toFixed(1)} ms over ${samples.length} crashes (min ${Math.min(...samples).toFixed(1)}, max ${Math.max(...samples).toFixed(1)}); restarts counted: ${latency.info.restarts}`)
const latencyOk = report('exit → replacement running (median)', `${latencyMs.toFixed(1)} ms`, latencyMs <= 100, '≤ 100 ms')

// --- memory with 50 idle external plugins ---------------------------------
const memoryServer = (config: string, dataDir: string, count: number): string => `
import { setTimeout as sleep } from 'node:timers/promises'
import { buildApp } from ${distModule('src/app.js')}
const app = await buildApp({ config: ${JSON.stringify(config)}, dataDir: ${JSON.stringify(dataDir)} })
await app.listen({ port: 0, host: '127.0.0.1' })
await app.aigis.loaded
const running = app.aigis.plugins.list().filter((p) => p.state === 'running').length
if (running !== ${count}) {
  await app.close()
  throw new Error('only ' + running + ' of ${count} plugins run')
}
// Stopped with SIGTERM: close the app so its plugins' process groups end too.
// Installed before the figures are printed, since the bench stops it right after.
process.once('SIGTERM', () => { app.close().then(() => process.exit(0)) })
await sleep(1000) // let start-up garbage and buffers settle
globalThis.gc()
await sleep(200)
console.log(JSON.stringify({ rss: process.memoryUsage().rss, running }))`

const PLUGINS = 50
const noneConfig = writeConfig('none', 0)
const fiftyConfig = writeConfig('fifty', PLUGINS)
const noneRss: number[] = []
const fiftyRss: number[] = []
for (let round = 0; round < 3; round++) {
  const none = await startChild(memoryServer(noneConfig, join(work, `data-none-${round}`), 0), { NODE_OPTIONS: '--expose-gc' })
  noneRss.push(none.info.rss)
  await stopChild(none.child)
  const fifty = await startChild(memoryServer(fiftyConfig, join(work, `data-fifty-${round}`), PLUGINS), { NODE_OPTIONS: '--expose-gc' })
  fiftyRss.push(fifty.info.rss)
  await stopChild(fifty.child)
}
const mb = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MB`
const none = median(noneRss)
const fifty = median(fiftyRss)
console.log(`server RSS, no plugins:            ${mb(none)} (median of ${noneRss.map(mb).join(', ')})`)
console.log(`server RSS, ${PLUGINS} idle external plugins: ${mb(fifty)} (median of ${fiftyRss.map(mb).join(', ')})`)
const memoryOk = report(`RSS with ${PLUGINS} idle external plugins / with none`, (fifty / none).toFixed(3), fifty / none <= 1.5, '≤ 1.5')

if (!latencyOk || !memoryOk) process.exit(1)

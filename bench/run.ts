// npm run bench: runs every bench/*.bench.ts in turn, each in its own process
// so one bench's memory and timers cannot skew the next. Each prints its own
// figures as ratios against a baseline measured in the same run.
import { readdirSync } from 'node:fs'
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const folder = fileURLToPath(new URL('.', import.meta.url))
const only = process.argv.slice(2)
const benches = readdirSync(folder)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => only.length === 0 || only.some((o) => f.includes(o)))
  .sort()

let failed = 0
for (const file of benches) {
  console.log(`\n=== ${file}`)
  const result = spawnSync(process.execPath, ['--expose-gc', '--import', 'jiti/register', folder + file], { stdio: 'inherit' })
  if (result.status !== 0) failed++
}
if (failed > 0) {
  console.log(`\n${failed} bench(es) missed a target or failed`)
  process.exit(1)
}

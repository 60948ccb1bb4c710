// Shared by the benches: start a server in its own process (so the load
// generator does not share its core), and drive it with autocannon.
import { spawn, type ChildProcess } from 'node:child_process'
import { createInterface } from 'node:readline'
import autocannon from 'autocannon'

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

/** Requests per second of POST `body` to `url`, averaged over `seconds`. */
export async function requestsPerSecond (url: string, body: string, seconds = 5, headers: Record<string, string> = {}): Promise<number> {
  const result = await autocannon({
    url,
    method: 'POST',
    body,
    headers: { 'content-type': 'application/json', ...headers },
    connections: 50,
    pipelining: 1,
    duration: seconds
  })
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`${url}: ${result.non2xx} non-2xx answers, ${result.errors} errors`)
  return result.requests.average
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

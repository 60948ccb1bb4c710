// Helpers for tests of loads that hang: a git host that never answers, and
// finding the processes (git's) a hanging load left behind.
import { readdirSync, readFileSync } from 'node:fs'
import { createServer, type AddressInfo, type Socket } from 'node:net'
import type { TestContext } from './helper.js'
import { pidAlive } from './supervisor-helper.js'

/** A server that takes connections and never answers (a git host that hangs); `connected` resolves on the first. */
export async function silentServer (t: TestContext): Promise<{ url: string, port: number, connected: Promise<void> }> {
  const sockets = new Set<Socket>()
  let connected!: () => void
  const first = new Promise<void>((resolve) => { connected = resolve })
  const server = createServer((socket) => {
    sockets.add(socket)
    socket.on('error', () => {})
    connected()
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => {
    for (const socket of sockets) socket.destroy()
    server.close()
  })
  const port = (server.address() as AddressInfo).port
  return { url: `http://127.0.0.1:${port}/plugin.git`, port, connected: first }
}

/** Pids of the processes whose command line holds `text`. */
export function processesWith (text: string): number[] {
  const pids: number[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(text) && pidAlive(Number(entry))) pids.push(Number(entry))
    } catch {} // ended meanwhile
  }
  return pids
}

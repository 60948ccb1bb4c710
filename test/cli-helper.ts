// Helpers for tests that run the real CLI as a child process: the built
// server (what `npm start` and the container run), with a clean environment,
// on a free port, waiting until it answers.
//
// The build is made once per content of src/ and routes/ into a temp folder
// shared by every test file (a lock folder keeps two files from building at
// once): starting the compiled CLI takes ~1 s, through jiti ~5 s.
import { spawn, type ChildProcess } from 'node:child_process'
import { createHash } from 'node:crypto'
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { setTimeout as sleep } from 'node:timers/promises'
import tap from 'tap'
import type { TestContext } from './helper.js'

export const ROOT = fileURLToPath(new URL('..', import.meta.url))

/** A hash of everything the build reads. */
function sourceHash (): string {
  const hash = createHash('sha256')
  for (const dir of ['src', 'routes']) {
    for (const entry of readdirSync(join(ROOT, dir), { recursive: true, withFileTypes: true })) {
      if (!entry.isFile()) continue
      const file = join(entry.parentPath, entry.name)
      hash.update(file).update(readFileSync(file))
    }
  }
  for (const file of ['package.json', 'tsconfig.json', 'tsconfig.build.json']) hash.update(readFileSync(join(ROOT, file)))
  return hash.digest('hex').slice(0, 16)
}

let built: string | undefined
const STALE_LOCK_MS = 5 * 60_000
/** Builds of other versions of the sources older than this are removed when a new one is made. */
const OLD_BUILD_MS = 24 * 60 * 60_000

/** Removes the builds of other versions of the sources made more than a day ago (each is ~1 MB; nothing else removes them). */
export function pruneOldBuilds (current: string): void {
  for (const name of readdirSync(tmpdir())) {
    if (!/^aigis-build-[0-9a-f]{16}$/.test(name) || join(tmpdir(), name) === current) continue
    const dir = join(tmpdir(), name)
    const made = statSync(join(dir, 'done'), { throwIfNoEntry: false })?.mtimeMs
    // One without `done` may be being built right now (a lock guards it); it is left alone.
    if (made !== undefined && Date.now() - made > OLD_BUILD_MS && !existsSync(`${dir}.lock`)) rmSync(dir, { recursive: true, force: true })
  }
}

/** The test file's own time limit (tap's `timeout`, which the runner passes on), in ms; 0 when there is none. */
const FILE_TIMEOUT_MS = (Number(process.env.TAP_TIMEOUT) || 0) * 1000

/**
 * The compiled CLI (dist/src/cli.js of a build of the current sources).
 *
 * Building it (or waiting for the test file that builds it) is no work of
 * the calling file, and a fresh clone builds on every run: tsc takes 15 s
 * here and several times that on a loaded machine, enough to eat most of
 * the file's time limit. The limit is held while it builds or waits, and
 * given in full once the CLI is there.
 */
export async function builtCli (): Promise<string> {
  if (built !== undefined) return built
  const dir = join(tmpdir(), `aigis-build-${sourceHash()}`)
  const cli = join(dir, 'dist/src/cli.js')
  if (existsSync(join(dir, 'done'))) return (built = cli)
  if (FILE_TIMEOUT_MS > 0) tap.setTimeout(0)
  try {
    return (built = await buildOrWait(dir, cli))
  } finally {
    if (FILE_TIMEOUT_MS > 0) tap.setTimeout(FILE_TIMEOUT_MS)
  }
}

async function buildOrWait (dir: string, cli: string): Promise<string> {
  const done = join(dir, 'done')
  const lock = `${dir}.lock`
  for (;;) {
    if (existsSync(done)) return cli
    try {
      mkdirSync(lock)
    } catch {
      // Another test file is building it; a lock left by a killed run is taken over.
      if (Date.now() - (statSync(lock, { throwIfNoEntry: false })?.mtimeMs ?? Date.now()) > STALE_LOCK_MS) rmSync(lock, { recursive: true, force: true })
      await sleep(200)
      continue
    }
    try {
      rmSync(dir, { recursive: true, force: true })
      mkdirSync(dir, { recursive: true })
      const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc')
      // Type errors are `tsc --noEmit`'s business; what matters here is that it emitted.
      // Not spawnSync: this process goes on answering tap (its time limit, held above) meanwhile.
      const tscRun = await spawnCollect(process.execPath, [tsc, '-p', join(ROOT, 'tsconfig.build.json'), '--outDir', join(dir, 'dist')])
      if (!existsSync(cli)) throw new Error(`building the server failed: ${tscRun}`)
      copyFileSync(join(ROOT, 'package.json'), join(dir, 'package.json'))
      symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'))
      writeFileSync(done, '')
      pruneOldBuilds(dir)
    } finally {
      rmSync(lock, { recursive: true, force: true })
    }
  }
}

/** Runs a program to its end; resolves with what it printed. */
async function spawnCollect (file: string, args: string[]): Promise<string> {
  const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => { output += chunk })
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => { output += chunk })
  await new Promise((resolve) => child.once('close', resolve).once('error', resolve))
  return output
}

export interface Exit { code: number | null, signal: NodeJS.Signals | null }

export interface RunningCli {
  child: ChildProcess
  url: string
  port: number
  stdout: () => string
  stderr: () => string
  exited: Promise<Exit>
  /** Parsed JSON lines of stdout (the central log, once flushed). */
  records: () => Array<Record<string, any>>
}

/** The environment without anything aigis reads, plus `env`. */
function cleanEnv (env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AIGIS_') && k !== 'LOG_LEVEL'))
  return { ...base, ...env }
}

export interface SpawnedCli { child: ChildProcess, stdout: () => string, stderr: () => string, exited: Promise<Exit> }

export async function spawnCli (args: string[], options: { env?: NodeJS.ProcessEnv, cwd?: string } = {}): Promise<SpawnedCli> {
  const child = spawn(process.execPath, [await builtCli(), ...args], {
    cwd: options.cwd ?? ROOT,
    env: cleanEnv(options.env ?? {}),
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let out = ''
  let err = ''
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => { out += chunk })
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => { err += chunk })
  const exited = new Promise<Exit>((resolve) => child.once('close', (code, signal) => resolve({ code, signal })))
  return { child, stdout: () => out, stderr: () => err, exited }
}

/** Runs the CLI to its end (for --help, --version, bad flags). */
export async function runCli (args: string[], options: { env?: NodeJS.ProcessEnv, cwd?: string } = {}): Promise<Exit & { stdout: string, stderr: string }> {
  const run = await spawnCli(args, options)
  const exit = await run.exited
  return { ...exit, stdout: run.stdout(), stderr: run.stderr() }
}

export async function freePort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}

/** The port in the server's own "Server listening at http://host:port" record (JSON or --pretty). */
const LISTENING = /Server listening at https?:\/\/\S*?:(\d+)\b/

/**
 * Starts the CLI on port 0 (any free port: one picked here and closed again
 * could be taken by another test file before the CLI binds it), learns the
 * port from the server's "Server listening at" record, waits until /ready
 * (or `waitFor`) answers 200, and kills it when the test ends if it is still
 * running.
 */
export async function startCli (t: TestContext, args: string[], options: { env?: NodeJS.ProcessEnv, cwd?: string, host?: string, waitFor?: '/ready' | '/health' } = {}): Promise<RunningCli> {
  const run = await spawnCli([...args, '--port', '0'], options)
  let done = false
  void run.exited.then(() => { done = true })
  t.teardown(async () => {
    if (!done) {
      run.child.kill('SIGKILL')
      await run.exited
    }
  })
  let port: number
  for (;;) {
    const listening = LISTENING.exec(run.stdout())
    if (listening !== null) {
      port = Number(listening[1])
      break
    }
    if (done) throw new Error(`the CLI exited early: ${run.stderr()}${run.stdout()}`)
    await sleep(20)
  }
  const url = `http://${options.host ?? '127.0.0.1'}:${port}`
  // /ready: up, and every configured plugin tried.
  for (;;) {
    if (done) throw new Error(`the CLI exited early: ${run.stderr()}${run.stdout()}`)
    try {
      if ((await fetch(url + (options.waitFor ?? '/ready'))).status === 200) break
    } catch {}
    await sleep(50)
  }
  const records = (): Array<Record<string, any>> => run.stdout().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l))
  return { ...run, url, port, records }
}

/** Polls until `check` holds; fails after `timeoutMs`. */
export async function until (what: string, check: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(20)
  }
}

import { spawn } from 'node:child_process'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { validate } from 'dockerfile-utils'
import t from 'tap'
import { OPTIONS } from '../src/settings.js'
import { startServer } from './helper.js'
import { freePort, ROOT } from './cli-helper.js'

// No Docker engine runs here, so the Dockerfile is checked statically: the
// linter from the VS Code Docker tooling, then the essentials of the image
// (multi-stage, LTS slim base, production dependencies only, non-root, tini,
// data volume, health check, 0.0.0.0), the build context, and, for real, the
// health check command against a running server.

const text = readFileSync(join(ROOT, 'Dockerfile'), 'utf8')
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string>, dependencies: Record<string, string> }

interface Instruction { keyword: string, args: string }

/** Instructions in order, continuation lines joined, comments dropped. */
function instructions (source: string): Instruction[] {
  const out: Instruction[] = []
  let pending = ''
  for (const line of source.split('\n')) {
    if (/^\s*#/.test(line) && pending === '') continue
    pending += line.endsWith('\\') ? line.slice(0, -1) + ' ' : line
    if (line.endsWith('\\')) continue
    const m = /^\s*([A-Za-z]+)\s+(.*)$/.exec(pending)
    if (m !== null) out.push({ keyword: m[1].toUpperCase(), args: m[2].trim().replace(/\s+/g, ' ') })
    pending = ''
  }
  return out
}

const all = instructions(text)
const stageStarts = all.flatMap((ins, i) => ins.keyword === 'FROM' ? [i] : [])
const stages = stageStarts.map((start, n) => all.slice(start, stageStarts[n + 1]))
const runtime = stages.at(-1)!
const build = stages[0]
const find = (stage: Instruction[], keyword: string): Instruction[] => stage.filter((i) => i.keyword === keyword)
const env: Record<string, string> = Object.fromEntries(find(runtime, 'ENV').flatMap((i) => [...i.args.matchAll(/([A-Z_]+)=(\S+)/g)].map((m) => [m[1], m[2]])))

t.test('the linter finds nothing', async (t) => {
  t.same(validate(text).map((d) => `${d.range.start.line + 1}: ${d.message}`), [])
})

t.test('two stages on the Node LTS slim image', async (t) => {
  t.equal(stages.length, 2)
  const nodeVersion = /^NODE_VERSION=(\d+)$/.exec(all.find((i) => i.keyword === 'ARG')?.args ?? '')
  t.ok(nodeVersion, 'ARG NODE_VERSION')
  const major = Number(nodeVersion![1])
  t.ok(major >= 24 && major % 2 === 0, `Node ${major} is an LTS line`)
  t.match(build[0].args, /^node:\$\{NODE_VERSION\}-slim AS build$/)
  t.match(runtime[0].args, /^node:\$\{NODE_VERSION\}-slim AS runtime$/)
})

t.test('the build stage compiles; the runtime stage has production dependencies and dist only', async (t) => {
  t.ok(find(build, 'RUN').some((i) => /npm ci\b/.test(i.args)))
  t.ok(find(build, 'RUN').some((i) => /npm run build\b/.test(i.args)))
  const installs = find(runtime, 'RUN').filter((i) => /npm (ci|install)\b/.test(i.args))
  t.equal(installs.length, 1)
  t.match(installs[0].args, /npm ci --omit=dev/)
  t.match(installs[0].args, /--ignore-scripts/, 'the prepare script (a build) must not run without dev dependencies')
  t.ok(find(runtime, 'COPY').some((i) => i.args === '--from=build /app/dist ./dist'))
  t.notOk(find(runtime, 'COPY').some((i) => /\b(src|routes|test)\b/.test(i.args) && !i.args.startsWith('--from')), 'no sources in the runtime stage')
})

t.test('runs as a non-root user under tini, the compiled CLI as entry point', async (t) => {
  const user = find(runtime, 'USER').at(-1)?.args
  t.ok(user !== undefined && !/^(root|0)(:|$)/.test(user), `USER ${user}`)
  t.ok(find(runtime, 'RUN').some((i) => /apt-get install\b.*\btini\b/.test(i.args)), 'tini is installed')
  const entry = JSON.parse(find(runtime, 'ENTRYPOINT').at(-1)!.args) as string[]
  t.same(entry, ['/usr/bin/tini', '--', 'node', 'dist/src/cli.js'], 'exec form: tini is PID 1 and signals reach aigis')
  t.equal(`dist/src/cli.js`, pkg.bin.aigis.replace(/^\.\//, ''), 'the same file as the package\'s bin')
  t.equal(find(runtime, 'STOPSIGNAL').at(-1)?.args ?? 'SIGTERM', 'SIGTERM')
})

t.test('listens on 0.0.0.0, keeps its data in a volume owned by the user, checks /health', async (t) => {
  t.equal(env.AIGIS_HOST, '0.0.0.0')
  t.equal(find(runtime, 'EXPOSE').at(-1)?.args, env.AIGIS_PORT)
  t.same(JSON.parse(find(runtime, 'VOLUME').at(-1)!.args), [env.AIGIS_DATA_DIR])
  const user = find(runtime, 'USER').at(-1)!.args
  t.ok(find(runtime, 'RUN').some((i) => i.args.includes(`chown ${user}:${user} ${env.AIGIS_DATA_DIR}`)), 'the user can write the data dir')
  const known = new Set(['NODE_ENV', 'AIGIS_TOKEN', 'AIGIS_TOKEN_FILE', 'AIGIS_PRETTY', ...OPTIONS.flatMap((o) => o.env ?? [])])
  for (const name of Object.keys(env)) t.ok(known.has(name), `${name} is a setting`)
  t.ok(existsSync(join(ROOT, relative('/app', env.AIGIS_CONFIG))), 'the default config is in the image')
  t.match(find(runtime, 'HEALTHCHECK').at(-1)?.args, /CMD \[.*\/health/)
})

t.test('the health check command works against a real server', async (t) => {
  const server = await startServer(t)
  const health = JSON.parse(find(runtime, 'HEALTHCHECK').at(-1)!.args.replace(/^.*?CMD /, '')) as string[]
  t.equal(health[0], 'node')
  // Async: the server runs in this process and must keep answering.
  const run = async (port: number): Promise<number | null> => await new Promise((resolve) => {
    spawn(process.execPath, health.slice(1), { env: { ...process.env, AIGIS_PORT: String(port) }, stdio: 'ignore' }).once('close', resolve)
  })
  t.equal(await run(Number(new URL(server.url).port)), 0, 'healthy')
  t.equal(await run(await freePort()), 1, 'nothing listening: unhealthy')
})

t.test('the build context: everything copied exists and is not ignored; local state is ignored', async (t) => {
  const ignored = readFileSync(join(ROOT, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'))
  for (const must of ['.git', 'node_modules', 'dist', '.aigis', 'test-artifacts', '.env']) t.ok(ignored.includes(must), `.dockerignore has ${must}`)
  for (const ins of all.filter((i) => i.keyword === 'COPY' && !i.args.startsWith('--from'))) {
    const sources = ins.args.split(' ').slice(0, -1)
    for (const source of sources) {
      t.ok(existsSync(join(ROOT, source)), `${source} exists`)
      t.notOk(ignored.includes(source), `${source} is not ignored`)
    }
  }
})

t.test('the server imports at run time only production dependencies', async (t) => {
  const files: string[] = []
  for (const dir of ['src', 'routes']) {
    for (const e of readdirSync(join(ROOT, dir), { recursive: true, withFileTypes: true })) {
      if (e.isFile() && e.name.endsWith('.ts')) files.push(join(e.parentPath, e.name))
    }
  }
  const builtins = new Set(['aigis', 'aigis/client'])
  for (const file of files) {
    const source = readFileSync(file, 'utf8')
    const specifiers = [
      ...[...source.matchAll(/^import (?!type )[^'"]*?from '([^']+)'/gm)].map((m) => m[1]),
      ...[...source.matchAll(/^import '([^']+)'/gm)].map((m) => m[1]),
      ...[...source.matchAll(/import(?:\.meta\.resolve)?\('([^']+)'\)/g)].map((m) => m[1])
    ]
    for (const spec of specifiers) {
      if (spec.startsWith('.') || spec.startsWith('node:') || builtins.has(spec)) continue
      const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]
      t.ok(name in pkg.dependencies, `${relative(ROOT, file)} imports ${name}: a production dependency`)
    }
  }
})

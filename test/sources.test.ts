import t from 'tap'
import { chmodSync, existsSync, readFileSync, rmSync, symlinkSync } from 'node:fs'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { buildApp } from '../src/app.js'
import { commitAll, git, makeRepo } from './git-helper.js'
import { call, corePlugin, startServer, tempDir, writeFiles, type TestContext } from './helper.js'

// Plugin sources: git repositories made here and cloned for real, and the
// steps of the loading pipeline every plugin type shares.

const fortune = (answer: string) => corePlugin('.', `export const SKILLS = ['fortune']\nexport const fortune = () => ${JSON.stringify(answer)}`)

t.test('a git source is cloned, pulled on reload, and a failed pull is only a warning', async (t) => {
  const repo = await makeRepo(fortune('you will write tests'))
  const server = await startServer(t, { config: `[core]\nfortune = "file://${repo}"\n` })
  const ask = () => server.call('/skills/fortune/fortune', { method: 'POST' })

  t.equal((await ask()).body, 'you will write tests')
  t.ok(existsSync(join(server.dir, 'data', 'ext', 'fortune', '.git')), 'cloned into <data dir>/ext/<name>')

  await writeFiles(repo, fortune('you will ship'))
  git(repo, 'commit', '--quiet', '-am', 'second')
  t.match((await server.call('/plugins/fortune/reload', { method: 'POST' })).body, { state: 'running' })
  t.equal((await ask()).body, 'you will ship', 'reload pulled the new commit')

  rmSync(repo, { recursive: true, force: true })
  const reloaded = await server.call('/plugins/fortune/reload', { method: 'POST' })
  t.match(reloaded.body, { state: 'running' }, 'the existing clone is kept')
  t.equal((await ask()).body, 'you will ship')
  const warning = server.app.aigis.hub.tail(100, { plugins: new Set(['fortune']) }).find((r) => r.level === 'warn')
  t.match(warning?.msg, /git pull of .* failed, keeping the existing clone/)
})

t.test('a git source that cannot be cloned fails the plugin with git\'s reason', async (t) => {
  const server = await startServer(t, { config: `[core]\nmissing = "file://${join(tempDir(), 'nope.git')}"\n` })
  const status = (await server.call('/plugins/missing')).body
  t.equal(status.state, 'failed')
  t.match(status.error, /git clone .*nope\.git failed: .*(does not exist|not appear to be a git repository|repository exists)/)
  const added = await server.call('/plugins', { method: 'POST', json: { name: 'other', source: `file://${join(tempDir(), 'x.git')}` } })
  t.match(added, { status: 400, body: { code: 'AIGIS_INVALID_SOURCE' } })
})

t.test('the pipeline: {root}, REQUIREMENT_COMMAND, SECRETS, SYSTEM_REQUIREMENTS', async (t) => {
  const core = `export const SKILLS = ['read']
export const read = (input: { file: string }) => require('node:fs').readFileSync(new URL('../' + input.file, import.meta.url), 'utf8')`
  const server = await startServer(t, {
    config: `[core]
full = "p/full"
nosecret = "p/nosecret"
noexe = "p/noexe"
escape = "p/escape"
escape2 = "p/escape2"
failing = "p/failing"
`,
    files: {
      ...corePlugin('p/full', core, `SYSTEM_REQUIREMENTS = ["node", "git"]
REQUIREMENT_COMMAND = "node -e \\"require('fs').writeFileSync('installed.txt', process.argv.at(-1))\\""
REQUIREMENT_FILE = "{root}/requirements.txt"
SECRETS = { "api.key" = "{root}/conf", "db.pass" = "conf/db" }
`),
      'p/full/requirements.txt': 'left-pad\n',
      'secrets/full/api.key': 'k-123',
      'secrets/full/db.pass': 'p-456',
      ...corePlugin('p/nosecret', core, 'SECRETS = { "a.key" = "{root}", "b.key" = "{root}", "c.key" = "{root}" }\n'),
      'secrets/nosecret/b.key': 'here',
      ...corePlugin('p/noexe', core, 'SYSTEM_REQUIREMENTS = ["node", "definitely-not-installed-xyz"]\n'),
      ...corePlugin('p/escape', core, 'SECRETS = { "a.key" = "{root}/../../etc" }\n'),
      ...corePlugin('p/escape2', core, 'ENTRYPOINT = "/tmp"\n'),
      ...corePlugin('p/failing', core, 'REQUIREMENT_COMMAND = ["node", "-e", "console.error(\'no network\'); process.exit(3)"]\n')
    },
    secretsDir: 'secrets'
  })
  const plugins = new Map<string, any>((await server.call('/plugins')).body.map((p: any) => [p.name, p]))
  const ext = join(server.dir, 'data', 'ext', 'full')

  t.equal(plugins.get('full').state, 'running', plugins.get('full').error)
  t.equal(readFileSync(join(ext, 'installed.txt'), 'utf8'), join(ext, 'requirements.txt'),
    'REQUIREMENT_COMMAND ran in the plugin folder with REQUIREMENT_FILE ({root} expanded) as last argument')
  t.equal(readFileSync(join(ext, 'conf', 'api.key'), 'utf8'), 'k-123', 'secret copied to {root}/conf')
  t.equal((await server.call('/skills/full/read', { method: 'POST', json: { file: 'conf/db/db.pass' } })).body, 'p-456',
    'a relative destination resolves in the plugin folder')

  t.match(plugins.get('nosecret'), { state: 'failed', error: /missing secret file\(s\) "a\.key", "c\.key"; put them in .*secrets\/nosecret/ })
  t.match(plugins.get('noexe'), { state: 'failed', error: /needs "definitely-not-installed-xyz" on PATH/ })
  t.match(plugins.get('escape'), { state: 'failed', error: /SECRETS destination of "a\.key" resolves to \/.*etc, outside the plugin folder/ })
  t.match(plugins.get('escape2'), { state: 'failed', error: /ENTRYPOINT resolves to \/tmp, outside the plugin folder/ })
  t.match(plugins.get('failing'), { state: 'failed', error: /REQUIREMENT_COMMAND `node -e .*` failed: exit code 3/ })
  const output = server.app.aigis.hub.tail(50, { plugins: new Set(['failing']) })
  t.ok(output.some((r) => r.msg === 'no network' && r.stream === 'stderr' && r.level === 'error' && typeof r.pid === 'number'),
    'the command\'s output is in the plugin\'s log, as the subprocess lines it is')
})

/** A real server on the config already written in `dir` (`dir/config.aigis`), data in `dir/data`. */
async function serveFolder (t: TestContext, dir: string): Promise<{ app: FastifyInstance, call: (path: string, init?: RequestInit & { json?: unknown }) => ReturnType<typeof call> }> {
  const app = await buildApp({ config: join(dir, 'config.aigis'), dataDir: join(dir, 'data') })
  t.teardown(() => app.close())
  await app.listen({ host: '127.0.0.1', port: 0 })
  await app.aigis.loaded
  const base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`
  return { app, call: async (path, init) => await call(base, path, init) }
}

t.test('a relative git source resolves against the config file\'s folder, whatever the working directory', async (t) => {
  const dir = tempDir()
  const work = await makeRepo(fortune('relative to the config'))
  git(dir, 'clone', '--quiet', '--bare', work, 'gitsrc/gp.git')
  await writeFiles(dir, { 'config.aigis': '[core]\ngrel = "gitsrc/gp.git"\n' })
  t.not(process.cwd(), dir)
  const server = await serveFolder(t, dir)
  const status = (await server.call('/plugins/grel')).body
  t.equal(status.state, 'running', status.error)
  t.equal((await server.call('/skills/grel/fortune', { method: 'POST' })).body, 'relative to the config')
})

t.test('a git source whose URL changed is cloned anew on restart; files the plugin made are kept', async (t) => {
  const first = await makeRepo({ ...fortune('from the first repo'), 'old.txt': 'only in the first repo' })
  const second = await makeRepo(fortune('from the second repo'))
  const dir = tempDir()
  await writeFiles(dir, { 'config.aigis': `[core]\nfortune = "file://${first}"\n` })
  const before = await serveFolder(t, dir)
  t.equal((await before.call('/skills/fortune/fortune', { method: 'POST' })).body, 'from the first repo')
  const ext = join(dir, 'data', 'ext', 'fortune')
  await writeFiles(ext, { 'made-by-plugin.txt': 'state' })
  await before.app.close()

  await writeFiles(dir, { 'config.aigis': `[core]\nfortune = "file://${second}"\n` })
  const after = await serveFolder(t, dir)
  t.equal((await after.call('/skills/fortune/fortune', { method: 'POST' })).body, 'from the second repo', 'the new URL is what runs')
  t.notOk(existsSync(join(ext, 'old.txt')), 'a file only the old repository had is gone')
  t.equal(readFileSync(join(ext, 'made-by-plugin.txt'), 'utf8'), 'state', 'a file the plugin made is kept, as with a local copy')
  t.equal(git(ext, 'remote', 'get-url', 'origin').trim(), `file://${second}`)
  const records = after.app.aigis.hub.tail(100, { plugins: new Set(['fortune']) })
  t.ok(records.some((r) => r.level === 'warn' && /git source changed from file:\/\/.* to file:\/\/.*: cloned anew/.test(String(r.msg))), 'said so in the log')

  await writeFiles(second, fortune('second, next commit'))
  commitAll(second)
  t.match((await after.call('/plugins/fortune/reload', { method: 'POST' })).body, { state: 'running' })
  t.equal((await after.call('/skills/fortune/fortune', { method: 'POST' })).body, 'second, next commit', 'and is pulled from then on')
  const changes = after.app.aigis.hub.tail(100, { plugins: new Set(['fortune']) }).filter((r) => /git source changed/.test(String(r.msg)))
  t.equal(changes.length, 1, 'cloned anew once, not at every load')
})

t.test('a password in a source URL is never shown in errors, logs or the plugin\'s status', async (t) => {
  const server = await startServer(t, { config: '[core]\ncred = "https://user:s3cr3t@127.0.0.1:9/y.git"\n' })
  const added = await server.call('/plugins', { method: 'POST', json: { name: 'secret', source: 'https://user:s3cr3t@127.0.0.1:9/x.git' } })
  t.equal(added.status, 400)
  t.match(added.body.message, /git clone https:\/\/user:\*\*\*@127\.0\.0\.1:9\/x\.git failed/)
  t.notMatch(added.body.message, /s3cr3t/)
  t.match((await server.call('/plugins/cred')).body, { state: 'failed', error: /https:\/\/user:\*\*\*@127\.0\.0\.1:9\/y\.git/ })
  t.notMatch((await server.call('/plugins/cred')).body.error, /s3cr3t/)
  t.equal((await server.call('/plugins/cred')).body.source, 'https://user:***@127.0.0.1:9/y.git', 'nor in its status')
  t.notMatch(JSON.stringify((await server.call('/plugins')).body), /s3cr3t/)
  t.notMatch(JSON.stringify(server.app.aigis.hub.tail(1000)), /s3cr3t/, 'nor in any log record')
})

t.test('SECRETS destinations are checked with symlinks followed; a destination that is a file is a clear error; SYSTEM_REQUIREMENTS looks on the plugin\'s own PATH', async (t) => {
  const dir = tempDir()
  const outside = tempDir()
  const core = 'export const SKILLS = ["ok"]\nexport const ok = 1\n'
  await writeFiles(dir, {
    'config.aigis': '[core]\nlinked = "p/linked"\nlinkedfile = "p/linkedfile"\nfiledest = "p/filedest"\nownpath = "p/ownpath"\n',
    ...corePlugin('p/linked', core, 'SECRETS = { "a.txt" = "{root}/link/deeper" }\n'),
    ...corePlugin('p/linkedfile', core, 'SECRETS = { "a.txt" = "{root}/conf" }\n'),
    'p/linkedfile/conf/keep.txt': 'a folder of the plugin',
    ...corePlugin('p/filedest', core, 'SECRETS = { "a.txt" = "{root}/afile" }\n'),
    'p/filedest/afile': 'a file, not a folder',
    ...corePlugin('p/ownpath', core, `SYSTEM_REQUIREMENTS = ["aigis-own-tool"]\nENV = { PATH = "${join(dir, 'tools')}:/usr/bin:/bin" }\n`),
    'tools/aigis-own-tool': '#!/bin/sh\necho hi\n',
    'data/secrets/linked/a.txt': 'secret',
    'data/secrets/linkedfile/a.txt': 'secret',
    'data/secrets/filedest/a.txt': 'secret'
  })
  chmodSync(join(dir, 'tools', 'aigis-own-tool'), 0o755)
  symlinkSync(outside, join(dir, 'p/linked/link'))
  // A link where the secret goes, pointing out of the plugin: replaced, never written through.
  symlinkSync(join(outside, 'victim.txt'), join(dir, 'p/linkedfile/conf/a.txt'))
  const server = await serveFolder(t, dir)
  const plugins = new Map<string, any>((await server.call('/plugins')).body.map((p: any) => [p.name, p]))
  t.match(plugins.get('linked'), { state: 'failed', error: /SECRETS destination of "a\.txt" resolves to .*, outside the plugin folder/ })
  t.notOk(existsSync(join(outside, 'deeper')), 'nothing was made outside')
  t.equal(plugins.get('linkedfile').state, 'running', plugins.get('linkedfile').error)
  t.notOk(existsSync(join(outside, 'victim.txt')), 'the secret was not written through the link')
  t.equal(readFileSync(join(dir, 'data/ext/linkedfile/conf/a.txt'), 'utf8'), 'secret')
  t.match(plugins.get('filedest'), { state: 'failed', error: /^Plugin "filedest": copying secret "a\.txt" to .*afile\/a\.txt failed: .*Check the SECRETS destination/ })
  t.equal(plugins.get('ownpath').state, 'running', plugins.get('ownpath').error)
})

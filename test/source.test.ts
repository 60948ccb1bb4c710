import t from 'tap'
import { createServer as createHttpServer } from 'node:http'
import { createServer, type Socket } from 'node:net'
import { existsSync, lstatSync, readdirSync, readFileSync, readlinkSync, symlinkSync, unlinkSync } from 'node:fs'
import { join } from 'node:path'
import { fromGit, GIT_IDLE_TIMEOUT_MS, materializeSource, redactSource } from '../src/plugins/source.js'
import { git, makeRepo } from './git-helper.js'
import { corePlugin, tempDir, writeFiles, type TestContext } from './helper.js'

// src/plugins/source.ts on its own: git run the way a server needs it
// (abortable, bounded, never prompting), against real repositories and a
// real server that never answers.

/** A TCP server that accepts connections and never says a word; its URL for git. */
async function silentServer (t: TestContext): Promise<string> {
  const sockets = new Set<Socket>()
  const server = createServer((socket) => { sockets.add(socket) })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => {
    for (const socket of sockets) socket.destroy()
    server.close()
  })
  return `http://127.0.0.1:${(server.address() as { port: number }).port}/never.git`
}

/** Processes whose command line mentions `text` (on Linux; none elsewhere). */
function processesMentioning (text: string): string[] {
  if (!existsSync('/proc')) return []
  return readdirSync('/proc').filter((pid) => /^\d+$/.test(pid)).flatMap((pid) => {
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ')
      return cmdline.includes(text) ? [`${pid}: ${cmdline}`] : []
    } catch { return [] }
  })
}

/** Polls `check` until it holds; rejects after `ms`. */
async function waitUntil (what: string, check: () => boolean, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

const within = <T>(ms: number, promise: Promise<T>): Promise<T> => Promise.race([
  promise,
  new Promise<never>((_resolve, reject) => setTimeout(() => reject(new Error(`still running after ${ms} ms`)), ms))
])

t.test('an AbortSignal stops a clone in progress: git\'s whole process group ends and nothing is left', async (t) => {
  const url = await silentServer(t)
  const dataDir = tempDir()
  const controller = new AbortController()
  const fetching = materializeSource('hang', url, tempDir(), dataDir, controller.signal)
  // Waited for, not given a fixed time: git and its helper start slowly on a loaded machine.
  await waitUntil('git to be at work', () => processesMentioning(new URL(url).host).length > 0).catch(() => {})
  t.not(processesMentioning(new URL(url).host).length, 0, 'git is at work')
  controller.abort()
  await t.rejects(within(10_000, fetching), { name: 'AbortError', message: /Plugin "hang": git clone of http:\/\/127\.0\.0\.1:\d+\/never\.git was aborted/ })
  await waitUntil('git to end', () => processesMentioning(new URL(url).host).length === 0).catch(() => {})
  t.same(processesMentioning(new URL(url).host), [], 'git and its helpers (git-remote-http) are gone')
  t.notOk(existsSync(join(dataDir, 'ext', 'hang')), 'the half-made clone is removed')

  const before = new AbortController()
  before.abort()
  await t.rejects(materializeSource('early', url, tempDir(), tempDir(), before.signal), { name: 'AbortError' }, 'an aborted signal starts nothing')
})

t.test('an AbortSignal stops a local copy too', async (t) => {
  const controller = new AbortController()
  controller.abort()
  const source = tempDir()
  await t.rejects(materializeSource('copy', source, tempDir(), tempDir(), controller.signal), { name: 'AbortError', message: /Plugin "copy": copying .* was aborted/ })
})

t.test('git that makes no progress is stopped, with the plugin and the URL in the error', async (t) => {
  t.ok(GIT_IDLE_TIMEOUT_MS >= 60_000 && GIT_IDLE_TIMEOUT_MS <= 5 * 60_000, 'the default is minutes')
  const url = await silentServer(t)
  const root = join(tempDir(), 'ext', 'stuck')
  const started = Date.now()
  await t.rejects(within(5000, fromGit('stuck', url, root, { idleTimeoutMs: 600 })), {
    code: 'AIGIS_SOURCE_FAILED',
    message: /^Plugin "stuck": git clone of http:\/\/127\.0\.0\.1:\d+\/never\.git made no progress for 0\.6 s and was stopped; check the URL and that its server answers$/
  })
  t.ok(Date.now() - started < 3000)
  await waitUntil('git to end', () => processesMentioning(new URL(url).host).length === 0).catch(() => {})
  t.same(processesMentioning(new URL(url).host), [])
})

t.test('git pull never prompts for a password, like git clone', async (t) => {
  const repo = await makeRepo(corePlugin('.', 'export const SKILLS = []'))
  const dataDir = tempDir()
  const { root } = await materializeSource('pulled', `file://${repo}`, tempDir(), dataDir)
  // The clone's origin now asks for a password (the source in the config is unchanged).
  const server = createHttpServer((_request, response) => response.writeHead(401, { 'WWW-Authenticate': 'Basic realm="x"' }).end())
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => server.close())
  git(root, 'remote', 'set-url', 'origin', `http://127.0.0.1:${(server.address() as { port: number }).port}/x.git`)
  const { warnings } = await within(10_000, materializeSource('pulled', `file://${repo}`, tempDir(), dataDir))
  t.match(warnings, [/git pull of .* failed, keeping the existing clone: .*terminal prompts disabled/])
})

t.test('symlinks in a local source are copied as they are, and refreshed like files', async (t) => {
  const source = tempDir()
  await writeFiles(source, { 'AIGIS/AIGIS.config': 'PLUGIN_TYPE = "core"\n', 'go.sh': 'echo go', 'lib/real.js': '' })
  symlinkSync('go.sh', join(source, 'golink'))
  symlinkSync('lib', join(source, 'liblink'))
  symlinkSync('/etc/hostname', join(source, 'absolute'))
  const dataDir = tempDir()
  const { root } = await materializeSource('links', source, tempDir(), dataDir)
  t.equal(readlinkSync(join(root, 'golink')), 'go.sh', 'a relative link stays relative')
  t.equal(readlinkSync(join(root, 'liblink')), 'lib')
  t.equal(readlinkSync(join(root, 'absolute')), '/etc/hostname')
  t.equal(readFileSync(join(root, 'golink'), 'utf8'), 'echo go', 'and points into the copy')

  // The source changes: a link retargeted, a file that becomes a link, a link removed.
  unlinkSync(join(source, 'golink'))
  symlinkSync('lib/real.js', join(source, 'golink'))
  unlinkSync(join(source, 'go.sh'))
  symlinkSync('lib/real.js', join(source, 'go.sh'))
  unlinkSync(join(source, 'liblink'))
  await materializeSource('links', source, tempDir(), dataDir)
  t.equal(readlinkSync(join(root, 'golink')), 'lib/real.js')
  t.equal(readlinkSync(join(root, 'go.sh')), 'lib/real.js')
  t.notOk(existsSync(join(root, 'liblink')), 'a link gone from the source is gone from the copy')

  // A file where the copy has a link is written in place of the link, never through it.
  unlinkSync(join(source, 'go.sh'))
  await writeFiles(source, { 'go.sh': 'echo again' })
  await materializeSource('links', source, tempDir(), dataDir)
  t.notOk(lstatSync(join(root, 'go.sh')).isSymbolicLink())
  t.equal(readFileSync(join(root, 'go.sh'), 'utf8'), 'echo again')
  t.equal(readFileSync(join(root, 'lib/real.js'), 'utf8'), '', 'the link\'s old target is untouched')
})

t.test('a source that is a file, not a folder, says so', async (t) => {
  const dir = tempDir()
  await writeFiles(dir, { 'plugin.zip': 'PK' })
  await t.rejects(materializeSource('zipped', 'plugin.zip', dir, tempDir()), {
    code: 'AIGIS_SOURCE_FAILED',
    message: /^Plugin "zipped": source .*plugin\.zip is a file, not a folder; a local source is the plugin's folder \(the one holding AIGIS\/AIGIS\.config\)/
  })
})

t.test('redactSource masks passwords (and http tokens given as the user), nothing else', async (t) => {
  t.equal(redactSource('https://user:s3cr3t@host/x.git'), 'https://user:***@host/x.git')
  t.equal(redactSource("fatal: unable to access 'https://u:p@ss@host/x.git/': 403"), "fatal: unable to access 'https://u:***@host/x.git/': 403")
  t.equal(redactSource('https://ghp_token@github.com/o/r.git'), 'https://***@github.com/o/r.git')
  t.equal(redactSource('ssh://git@host/x.git and git@github.com:o/r.git'), 'ssh://git@host/x.git and git@github.com:o/r.git')
  t.equal(redactSource('file:///srv/a@b/x.git'), 'file:///srv/a@b/x.git')
})

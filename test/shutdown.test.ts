import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { call, corePlugin, tempDir, writeFiles } from './helper.js'
import { externalPlugin } from './supervisor-helper.js'
import { startCli, until } from './cli-helper.js'
import { groupAlive } from '../src/supervisor/kill-group.js'

// Graceful shutdown of the real CLI: SIGTERM/SIGINT drain (/ready 503, new
// calls 503, in-flight calls finish), stop every plugin and its process
// group, run core cleanups, flush the log and exit 0. A second signal forces
// exit; a call that never ends cannot hold the shutdown past its timeout.

/** A core plugin whose `gate` skill waits for a file; its cleanup leaves a mark. */
function gatePlugin (dir: string, cleanup = `writeFileSync(${JSON.stringify(join(dir, 'cleaned'))}, 'yes')`): Record<string, string> {
  return corePlugin('plugins/gate', `
    import { existsSync, writeFileSync } from 'node:fs'
    import type { SkillContext } from 'aigis'
    export const SKILLS = ['gate', 'hello']
    export async function gate (_input: unknown, ctx: SkillContext) {
      ctx.log.info('gate entered')
      while (!existsSync(${JSON.stringify(join(dir, 'open'))})) {
        if (ctx.signal.aborted) return 'aborted'
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
      return 'passed'
    }
    export function hello () { return 'hi' }
    export async function cleanup () { ${cleanup} }
  `)
}

// A process group of three: sh and two sleeping children.
const sleeper = externalPlugin('plugins/sleeper', 'LAUNCH = ["sh", "-c", "sleep 300 & sleep 300 & wait"]')

async function project (files: (dir: string) => Record<string, string>, config: string): Promise<string> {
  const dir = tempDir('aigis-shutdown-')
  await writeFiles(dir, { 'config.aigis': config, ...files(dir) })
  return dir
}

t.test('SIGTERM: drain, finish the in-flight call, stop plugins and their groups, clean up, flush, exit 0', async (t) => {
  const dir = await project((d) => ({ ...gatePlugin(d), ...sleeper }), '[core]\ngate = "plugins/gate"\n[external]\nsleeper = "plugins/sleeper"\n')
  const cli = await startCli(t, ['--config', join(dir, 'config.aigis'), '--data-dir', join(dir, 'data')])
  const sleeperPid = (await call(cli.url, '/plugins/sleeper')).body.pid as number
  t.ok(groupAlive(sleeperPid), 'the external plugin\'s group runs')

  // An SSE client stays connected through the shutdown.
  const sse = await fetch(`${cli.url}/logs`)
  t.equal(sse.status, 200)
  const sseDone = sse.text().then(() => 'ended', () => 'ended')

  const inFlight = call(cli.url, '/skills/gate/gate', { method: 'POST' })
  await until('the call to be in flight', async () => (await call(cli.url, '/plugins/gate/logs')).body.some((r: { msg: string }) => r.msg === 'gate entered'))

  cli.child.kill('SIGTERM')
  await until('/ready to say draining', async () => (await call(cli.url, '/ready')).status === 503)
  t.same((await call(cli.url, '/ready')).body, { status: 'draining' })
  const refused = await call(cli.url, '/skills/gate/hello', { method: 'POST' })
  t.equal(refused.status, 503, 'a new call is refused')
  t.equal(refused.body.code, 'AIGIS_SHUTTING_DOWN')
  t.equal(refused.headers.get('connection'), 'close')
  t.equal((await call(cli.url, '/health')).status, 200, 'still alive while draining')
  t.equal(cli.child.exitCode, null, 'waiting for the call')

  writeFileSync(join(dir, 'open'), '')
  const answer = await inFlight
  t.equal(answer.status, 200, 'the in-flight call finished')
  t.equal(answer.body, 'passed')

  t.same(await cli.exited, { code: 0, signal: null })
  t.equal(await sseDone, 'ended', 'the SSE stream was ended')
  t.equal(readFileSync(join(dir, 'cleaned'), 'utf8'), 'yes', 'the core cleanup ran')
  t.notOk(groupAlive(sleeperPid), 'no process of the plugin\'s group is left')
  const msgs = cli.records().map((r) => r.msg)
  t.ok(msgs.includes('SIGTERM received, shutting down'))
  t.equal(msgs.at(-1), 'stopped', 'the last record made it to stdout')
  t.ok(msgs.indexOf('SIGTERM received, shutting down') < msgs.indexOf('stopped'))
})

t.test('a second signal forces exit while the shutdown hangs, killing every plugin group', async (t) => {
  // A group that ignores SIGTERM and would get 60 s before SIGKILL.
  const stubborn = externalPlugin('plugins/stubborn', 'LAUNCH = ["sh", "-c", "trap \'\' TERM; sleep 300 & sleep 300 & wait"]\nSTOP_TIMEOUT = 60')
  const dir = await project((d) => ({ ...gatePlugin(d, `writeFileSync(${JSON.stringify(join(d, 'cleanup-started'))}, ''); await new Promise(() => {})`), ...stubborn }), '[core]\ngate = "plugins/gate"\n[external]\nstubborn = "plugins/stubborn"\n')
  const cli = await startCli(t, ['--config', join(dir, 'config.aigis'), '--data-dir', join(dir, 'data')])
  const stubbornPid = (await call(cli.url, '/plugins/stubborn')).body.pid as number
  cli.child.kill('SIGTERM')
  await until('the cleanup to hang', () => existsSync(join(dir, 'cleanup-started')))
  t.equal(cli.child.exitCode, null, 'still shutting down')
  cli.child.kill('SIGINT')
  t.same(await cli.exited, { code: 1, signal: null }, 'forced: exit 1')
  t.ok(cli.records().some((r) => r.level === 'fatal' && r.msg === 'second SIGINT: killing every plugin process group and exiting now'))
  await until('the plugin group to be gone', () => !groupAlive(stubbornPid))
  t.notOk(groupAlive(stubbornPid), 'no plugin process outlives the forced exit')
})

t.test('plugin groups a SIGKILLed server left running are ended by the next server on its data dir', async (t) => {
  const dir = await project(() => sleeper, '[external]\nsleeper = "plugins/sleeper"\n')
  const args = ['--config', join(dir, 'config.aigis'), '--data-dir', join(dir, 'data')]
  const first = await startCli(t, args)
  const orphan = (await call(first.url, '/plugins/sleeper')).body.pid as number
  t.ok(existsSync(join(dir, 'data', 'run', 'sleeper.json')), 'the running group is written down')
  first.child.kill('SIGKILL')
  await first.exited
  t.ok(groupAlive(orphan), 'the group outlived its server (nothing could stop it)')

  const second = await startCli(t, args)
  await until('the warning on stdout', () => second.records().some((r) => r.level === 'warn' && r.plugin === 'aigis' && r.msg.startsWith(`ended process group ${orphan} of plugin "sleeper"`)))
  // The server waited for the group (2 s after SIGTERM, 2 s after SIGKILL); one SIGKILLed in a disk wait may still be listed for a moment.
  await until('the group to be gone', () => !groupAlive(orphan)).catch(() => {})
  t.notOk(groupAlive(orphan), 'the next server ended it')
  const fresh = (await call(second.url, '/plugins/sleeper')).body
  t.equal(fresh.state, 'running')
  t.not(fresh.pid, orphan)
  second.child.kill('SIGTERM')
  t.same(await second.exited, { code: 0, signal: null })
  t.notOk(groupAlive(fresh.pid as number))
  t.notOk(existsSync(join(dir, 'data', 'run', 'sleeper.json')), 'a group stopped on shutdown is crossed out')
})

t.test('a REQUIREMENT_COMMAND a SIGKILLed server left running is ended by the next server on its data dir', async (t) => {
  const installer = externalPlugin('plugins/installer', 'LAUNCH = ["sleep", "300"]\nREQUIREMENT_COMMAND = "sh -c \'echo installing; exec sleep 300\'"')
  const dir = await project(() => installer, '[external]\ninstaller = "plugins/installer"\n')
  const args = ['--config', join(dir, 'config.aigis'), '--data-dir', join(dir, 'data')]
  const first = await startCli(t, args, { waitFor: '/health' })
  await until('the install to be under way', () => first.records().some((r) => r.plugin === 'installer' && r.msg === 'installing'))
  const orphan = first.records().find((r) => r.msg === 'installing')!.pid as number
  t.ok(existsSync(join(dir, 'data', 'run', 'installer.json')), 'its group is written down')
  first.child.kill('SIGKILL')
  await first.exited
  t.ok(groupAlive(orphan), 'the install outlived its server')

  const second = await startCli(t, args, { waitFor: '/health' })
  await until('the warning on stdout', () => second.records().some((r) => r.level === 'warn' && r.plugin === 'aigis' && r.msg.startsWith(`ended process group ${orphan} of plugin "installer"`)))
  await until('the group to be gone', () => !groupAlive(orphan)).catch(() => {})
  t.notOk(groupAlive(orphan), 'the next server ended it')
  second.child.kill('SIGTERM')
  t.same(await second.exited, { code: 0, signal: null })
  t.notOk(existsSync(join(dir, 'data', 'run', 'installer.json')), 'an install ended on shutdown is crossed out')
})

t.test('a call that never ends holds the shutdown only for --shutdown-timeout', async (t) => {
  const dir = await project((d) => gatePlugin(d), '[core]\ngate = "plugins/gate"\n')
  const cli = await startCli(t, ['--config', join(dir, 'config.aigis'), '--data-dir', join(dir, 'data'), '--shutdown-timeout', '1'])
  const stuck = call(cli.url, '/skills/gate/gate', { method: 'POST' }).then((r) => r.status, () => 'connection cut')
  await until('the call to be in flight', async () => (await call(cli.url, '/plugins/gate/logs')).body.some((r: { msg: string }) => r.msg === 'gate entered'))
  cli.child.kill('SIGINT')
  t.same(await cli.exited, { code: 0, signal: null })
  t.equal(await stuck, 'connection cut', 'the stuck call was cut, not answered')
  t.ok(cli.records().some((r) => r.level === 'warn' && /still in flight after 1 s/.test(r.msg)))
  t.equal(readFileSync(join(dir, 'cleaned'), 'utf8'), 'yes', 'and the cleanup still ran')
})

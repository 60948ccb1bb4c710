import { mkdirSync, symlinkSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { maxConnectionsFor } from '../src/fd-limit.js'
import { ownerOfStack } from '../src/plugins/stack-owner.js'
import { call, corePlugin, tempDir, writeFiles } from './helper.js'
import { startCli, until } from './cli-helper.js'

// Errors that escape to the event loop: a core plugin's stray rejection or
// throw is logged as the plugin's and the server goes on; an exception of
// the server's own code shuts it down, exit 1. Through the real command: the
// process-wide handlers are the command's.

const ROOTS = new Map([['/srv/data/ext/sloppy', 'sloppy'], ['/srv/data/ext/other', 'other']])

t.test('whose code threw: the first frame with a file decides', async (t) => {
  const stack = (...frames: string[]): string => ['Error: boom', ...frames.map((f) => `    at ${f}`)].join('\n')
  t.equal(ownerOfStack(stack('Object.reject (/srv/data/ext/sloppy/AIGIS/AIGIS.core.ts:2:49)', 'SkillService.invoke (file:///app/dist/src/skills/service.js:89:28)'), ROOTS), 'sloppy')
  t.equal(ownerOfStack(stack('JSON.parse (<anonymous>)', 'Timeout._onTimeout (/srv/data/ext/other/lib/x.js:4:57)', 'listOnTimeout (node:internal/timers:581:17)'), ROOTS), 'other', 'native frames are skipped')
  t.equal(ownerOfStack(stack('new URL (node:internal/url:816:29)', 'file:///srv/data/ext/sloppy/AIGIS/AIGIS.core.ts:1:1'), ROOTS), 'sloppy', 'node: frames and file URLs')
  t.equal(ownerOfStack(stack('SkillService.invoke (file:///app/dist/src/skills/service.js:89:28)', 'Object.reject (/srv/data/ext/sloppy/AIGIS/AIGIS.core.ts:2:49)'), ROOTS), undefined, 'the server\'s code on top: the server\'s')
  t.equal(ownerOfStack(stack('Timeout.alloc [as _onTimeout] (node:buffer:392:3)', 'listOnTimeout (node:internal/timers:581:17)'), ROOTS), undefined, 'no frame with a file')
  t.equal(ownerOfStack(stack('f (/srv/data/ext/sloppy-two/x.js:1:1)'), ROOTS), undefined, 'a folder that only starts with the name')
  t.equal(ownerOfStack('Error: ENOENT: no such file or directory, open \'x\'', ROOTS), undefined, 'no frames at all')
})

t.test('connections are capped below the file descriptor limit, with room kept for plugins and files', async (t) => {
  const limits = (soft: string): string => `Limit                     Soft Limit           Hard Limit           Units     \nMax open files            ${soft}                 ${soft}                 files     \n`
  t.equal(maxConnectionsFor(limits('1024')), 768)
  t.equal(maxConnectionsFor(limits('256')), 128)
  t.equal(maxConnectionsFor(limits('100')), 50)
  t.equal(maxConnectionsFor(limits('1048576')), 786432)
  t.equal(maxConnectionsFor(limits('unlimited')), undefined)
  t.equal(maxConnectionsFor(''), undefined)
})

t.test('a core plugin\'s stray rejection or throw is logged as the plugin\'s and the server goes on; the server\'s own exception ends it, exit 1', async (t) => {
  const dir = tempDir('aigis-faults-')
  await writeFiles(dir, {
    'config.aigis': '[core]\nsloppy = "plugins/sloppy"\n',
    ...corePlugin('plugins/sloppy', `
      export const SKILLS = ['reject', 'rejectText', 'throwInTimer', 'throwInListener', 'throwLater', 'outOfDescriptors', 'serverFault', 'ok']
      // As Node's own code throws it when the process is out of descriptors: no frame of the plugin.
      export async function outOfDescriptors () {
        const err = Object.assign(new Error('EMFILE: too many open files, uv_resident_set_memory'), { code: 'EMFILE' })
        err.stack = 'Error: EMFILE: too many open files, uv_resident_set_memory\\n    at process.memoryUsage (node:internal/process/per_thread:168:5)'
        setTimeout(() => { throw err }, 1)
        return 'done'
      }
      export async function reject () { void Promise.reject(new Error('nobody awaited me')); return 'done' }
      export async function rejectText () { void Promise.reject('a bare string'); return 'done' }
      export async function throwInTimer () { setTimeout(() => { JSON.parse('{') }, 1); return 'done' }
      export async function throwInListener () {
        const controller = new AbortController()
        controller.signal.addEventListener('abort', () => { throw new Error('thrown by an abort listener') })
        controller.abort()
        return 'done'
      }
      export async function throwLater () { setTimeout(() => { throw new Error('thrown after the plugin was deleted') }, 1000); return 'done' }
      // A throw out of Node's own code, with no frame of the plugin: nothing tells it from the server's own.
      export async function serverFault () { setTimeout(Buffer.alloc, 1, -1); return 'done' }
      export async function ok () { return 'fine' }
    `)
  })
  // The data dir through a symlink: modules load from their real path, the plugin's folder is known by both.
  mkdirSync(join(dir, 'real-data'))
  symlinkSync(join(dir, 'real-data'), join(dir, 'data'))
  const cli = await startCli(t, ['--config', join(dir, 'config.aigis'), '--data-dir', join(dir, 'data')])
  const skill = async (name: string): Promise<unknown> => (await call(cli.url, `/skills/sloppy/${name}`, { method: 'POST', json: {} })).body
  const record = (msg: RegExp): Record<string, any> | undefined => cli.records().find((r) => msg.test(r.msg))
  const logged = async (msg: RegExp): Promise<Record<string, any>> => {
    await until(`a record ${String(msg)}`, () => record(msg) !== undefined)
    return record(msg)!
  }

  t.equal(await skill('reject'), 'done')
  t.match(await logged(/nobody awaited me/), {
    level: 'error',
    plugin: 'sloppy',
    msg: /^a promise was rejected and nothing handled it: nobody awaited me; the server goes on\. Await or catch that promise in plugin sloppy's code$/,
    err: { message: 'nobody awaited me', stack: /AIGIS\.core\.ts/ }
  })
  t.equal(await skill('rejectText'), 'done')
  t.match(await logged(/a bare string/), { level: 'error', plugin: 'aigis', reason: 'a bare string', msg: /the server goes on$/ }, 'no stack: put down to no plugin')
  t.equal(await skill('throwInTimer'), 'done')
  t.match(await logged(/JSON/), { level: 'error', plugin: 'sloppy', msg: /^an exception escaped plugin sloppy's code .*the server goes on.*POST \/plugins\/sloppy\/reload/, err: { type: 'SyntaxError' } })
  t.equal(await skill('throwInListener'), 'done')
  t.match(await logged(/thrown by an abort listener/), { level: 'error', plugin: 'sloppy' })
  t.equal(await skill('outOfDescriptors'), 'done')
  t.match(await logged(/^out of file descriptors/), { level: 'error', plugin: 'aigis', msg: /\(EMFILE\).*the server goes on.*Raise the limit/ })

  // A deleted plugin's timer still runs its code: still the plugin's.
  t.equal(await skill('throwLater'), 'done')
  t.equal((await call(cli.url, '/plugins/sloppy', { method: 'DELETE' })).status, 204)
  t.match(await logged(/thrown after the plugin was deleted/), { level: 'error', plugin: 'sloppy' })
  t.equal((await call(cli.url, '/health')).status, 200, 'the server is alive')
  t.notOk(cli.records().some((r) => r.level === 'fatal'))

  // The server's own (as far as anything can tell): shut down as on SIGTERM, exit 1.
  const again = await call(cli.url, '/plugins', { method: 'POST', json: { name: 'sloppy', source: join(dir, 'plugins/sloppy') } })
  t.equal(again.status, 201)
  t.equal(await skill('serverFault'), 'done')
  t.same(await cli.exited, { code: 1, signal: null })
  const fatal = record(/escaped the server's own code/)
  t.match(fatal, { level: 'fatal', plugin: 'aigis', msg: /The value of "size" is out of range.*shutting down \(exit 1\)/ })
  t.ok(cli.records().some((r) => r.seq > fatal!.seq && r.plugin === 'sloppy' && r.msg === 'core plugin stopped'), 'the plugins were stopped')
  t.equal(cli.records().at(-1)?.msg, 'stopped', 'a clean shutdown to the end')
})

import t from 'tap'
import { corePlugin, startServer } from './helper.js'
import { internalPlugin, logsOf, pidAlive, waitForLog, waitForState } from './supervisor-helper.js'

// Internal plugins: `launch(aigis)` in a supervised Node process, calling
// skills through the client; hybrids that also serve AIGIS.core skills.

const greeter = corePlugin('plugins/greeter', `
  import { SkillError } from 'aigis'
  export const SKILLS = ['greet', 'math.add', 'teapot']
  export function greet (input: { name: string }) { return 'Hello, ' + input.name + '!' }
  export const math = { add: ({ a, b }: { a: number, b: number }) => a + b }
  export function teapot () { throw new SkillError(418, 'short and stout') }
`)

const caller = `
import type { AigisClient } from 'aigis/client'

export async function launch (aigis: AigisClient) {
  console.log('env ' + process.env.AIGIS_URL + ' ' + process.env.AIGIS_PLUGIN)
  const answer = await aigis.greeter.greet({ name: 'internal' })
  console.log(JSON.stringify({ level: 30, msg: 'greeter answered', answer }))
  const sum = await aigis.call('greeter.math.add', { a: 2, b: 3 })
  console.log(JSON.stringify({ level: 30, msg: 'sum', sum }))
  try {
    await aigis.greeter.teapot()
  } catch (err: any) {
    console.log(JSON.stringify({ level: 30, msg: 'teapot failed', name: err.name, statusCode: err.statusCode, code: err.code, message: err.message }))
  }
  setInterval(() => {}, 1000)
}
`

t.test('an internal plugin calls core skills through the client it is launched with', async (t) => {
  const server = await startServer(t, {
    config: '[core]\ngreeter = "plugins/greeter"\n[internal]\ncaller = "plugins/caller"\n',
    files: { ...greeter, ...internalPlugin('plugins/caller', 'LAUNCH = "main.ts"', { 'main.ts': caller }) }
  })
  const { app } = server
  const running = await waitForState(app, 'caller', 'running')
  t.equal(running.type, 'internal')
  t.equal((await waitForLog(app, 'caller', 'env ')).msg, `env ${server.url} caller`, 'AIGIS_URL and AIGIS_PLUGIN')
  t.match(await waitForLog(app, 'caller', 'greeter answered'), { level: 'info', stream: 'stdout', answer: 'Hello, internal!', pid: running.pid })
  t.match(await waitForLog(app, 'caller', 'sum'), { sum: 5 })
  t.match(await waitForLog(app, 'caller', 'teapot failed'), { name: 'AigisError', statusCode: 418, message: 'short and stout' })

  const logs = await server.call('/plugins/caller/logs')
  t.ok(logs.body.some((r: { msg: string, answer?: string }) => r.answer === 'Hello, internal!'), 'the answer is in GET /plugins/{name}/logs')

  const stopped = await server.call('/plugins/caller/stop', { method: 'POST' })
  t.equal(stopped.body.state, 'stopped')
  t.notOk(pidAlive(running.pid!))
})

t.test('a hybrid internal plugin serves its AIGIS.core skills while it runs', async (t) => {
  const server = await startServer(t, {
    config: '[internal]\nhybrid = "plugins/hybrid"\n',
    files: internalPlugin('plugins/hybrid', 'LAUNCH = "main.mjs"', {
      'main.mjs': 'export function launch () { console.log("launched"); setInterval(() => {}, 1000) }\n',
      'AIGIS/AIGIS.core.ts': `
        import { connect } from 'aigis/client'
        export const SKILLS = ['ping', 'hasClient']
        export const ping = () => 'pong'
        export const hasClient = () => typeof connect === 'function'
      `
    })
  })
  const running = await waitForState(server.app, 'hybrid', 'running')
  t.same(running.skills.sort(), ['hybrid.hasClient', 'hybrid.ping'])
  await waitForLog(server.app, 'hybrid', 'launched')
  t.equal((await server.call('/skills/hybrid/ping', { method: 'POST' })).body, 'pong')
  t.equal((await server.call('/skills/hybrid/hasClient', { method: 'POST' })).body, true, 'aigis/client resolves in AIGIS.core too')

  const stopped = await server.call('/plugins/hybrid/stop', { method: 'POST' })
  t.same(stopped.body.skills, [])
  t.equal((await server.call('/skills/hybrid/ping', { method: 'POST' })).status, 409)

  const started = await server.call('/plugins/hybrid/start', { method: 'POST' })
  t.same(started.body.skills.sort(), ['hybrid.hasClient', 'hybrid.ping'])
  t.equal((await server.call('/skills/hybrid/ping', { method: 'POST' })).body, 'pong')
})

t.test('a hybrid whose cleanup throws still stops, and says so', async (t) => {
  const server = await startServer(t, {
    config: '[internal]\nmessy = "plugins/messy"\n',
    files: internalPlugin('plugins/messy', 'LAUNCH = "main.mjs"', {
      'main.mjs': 'export function launch () { setInterval(() => {}, 1000) }\n',
      'AIGIS/AIGIS.core.ts': "export const SKILLS = ['ping']\nexport const ping = () => 'pong'\nexport function cleanup () { throw new Error('cleanup broke') }\n"
    })
  })
  await waitForState(server.app, 'messy', 'running')
  const stopped = await server.call('/plugins/messy/stop', { method: 'POST' })
  t.match(stopped.body, { state: 'stopped', skills: [] })
  t.ok(logsOf(server.app, 'messy').some((r) => r.level === 'error' && r.msg === 'cleanup failed: cleanup broke'))
})

t.test('launch may return a function, called on SIGTERM before the process exits', async (t) => {
  const server = await startServer(t, {
    config: '[internal]\ntidy = "plugins/tidy"\n',
    files: internalPlugin('plugins/tidy', 'LAUNCH = "main.ts"', {
      'main.ts': `
        export async function launch () {
          const timer = setInterval(() => {}, 1000)
          // Said once the runner has its SIGTERM handler (it installs it when launch has returned):
          // a stop that comes right after "ready" must find it there.
          setImmediate(() => console.log('ready'))
          return async () => { clearInterval(timer); console.log('tidied up') }
        }
      `
    })
  })
  await waitForLog(server.app, 'tidy', 'ready')
  const stopped = await server.call('/plugins/tidy/stop', { method: 'POST' })
  t.match(stopped.body, { state: 'stopped', exitCode: 0, lastExit: { code: 0, signal: null } })
  t.ok(logsOf(server.app, 'tidy').some((r) => r.msg === 'tidied up'))
})

t.test('an internal plugin whose launch finishes its work exits; one that throws is reported', async (t) => {
  const server = await startServer(t, {
    config: '[internal]\nonce = "plugins/once"\nbroken = "plugins/broken"\nnolaunch = "plugins/nolaunch"\nmissing = "plugins/missing"\n',
    files: {
      ...internalPlugin('plugins/once', 'LAUNCH = "main.ts"', { 'main.ts': 'export function launch () { console.log("done") }\n' }),
      ...internalPlugin('plugins/broken', 'LAUNCH = "main.ts"', { 'main.ts': 'export async function launch () { throw new Error("cannot launch") }\n' }),
      ...internalPlugin('plugins/nolaunch', 'LAUNCH = "main.ts"', { 'main.ts': 'export const x = 1\n' }),
      ...internalPlugin('plugins/missing', 'LAUNCH = "nope.ts"')
    }
  })
  t.match(await waitForState(server.app, 'once', 'exited'), { exitCode: 0, error: null })
  const broken = await waitForState(server.app, 'broken', 'exited')
  t.equal(broken.exitCode, 1)
  t.ok(broken.lastExit!.lastLines.some((l) => l.includes('Error: cannot launch')), 'the error is what it printed last')
  t.match(broken.error, /; last output: "internal plugin failed: cannot launch"$/)
  const nolaunch = await waitForState(server.app, 'nolaunch', 'exited')
  t.match(nolaunch.error, /has no launch export/)
  const missing = await waitForState(server.app, 'missing', 'failed')
  t.match(missing.error, /the LAUNCH module .*nope\.ts does not exist/)
})

t.test('with auth on, an internal plugin calls with a token of its own, never the admin one', async (t) => {
  const server = await startServer(t, {
    token: 'admin-secret',
    config: '[core]\ngreeter = "plugins/greeter"\n[internal]\nagent = "plugins/agent"\n',
    files: {
      ...greeter,
      ...internalPlugin('plugins/agent', 'LAUNCH = "main.ts"', {
        'main.ts': `
          export async function launch (aigis) {
            const token = process.env.AIGIS_TOKEN ?? ''
            console.log(JSON.stringify({ level: 30, msg: 'token', isAdmin: token === 'admin-secret', length: token.length }))
            console.log(JSON.stringify({ level: 30, msg: 'answer', answer: await aigis.greeter.greet({ name: 'agent' }) }))
            const stop = await fetch(process.env.AIGIS_URL + '/plugins/greeter/stop', { method: 'POST', headers: { authorization: 'Bearer ' + token } })
            console.log(JSON.stringify({ level: 30, msg: 'manage', status: stop.status }))
            setInterval(() => {}, 1000)
          }
        `
      })
    }
  })
  const token = await waitForLog(server.app, 'agent', 'token')
  t.equal(token.isAdmin, false)
  t.ok((token.length as number) > 20, 'it has a token')
  t.match(await waitForLog(server.app, 'agent', 'answer'), { answer: 'Hello, agent!' })
  t.match(await waitForLog(server.app, 'agent', 'manage'), { status: 403 }, 'its token cannot manage plugins')
})

import t from 'tap'
import { createServer } from 'node:http'
import { once } from 'node:events'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { execa } from 'execa'
import { AigisError, connect } from '../src/client.js'
import { corePlugin, startServer, tempDir, writeFiles } from './helper.js'
import { FIXTURES } from './supervisor-helper.js'

// The aigis/client export against a real server over HTTP.

const greeter = corePlugin('plugins/greeter', `
  import { SkillError } from 'aigis'
  import { Type } from 'typebox'
  export const SKILLS = ['greet', 'math.add', 'VERSION', 'nothing', 'teapot', 'crash']
  export function greet (input: { name: string }) { return 'Hello, ' + input.name + '!' }
  export const math = { add: ({ a, b }: { a: number, b: number }) => a + b }
  export const VERSION = '1.2.3'
  export function nothing () {}
  export function teapot () { throw new SkillError(418, 'short and stout') }
  export function crash () { throw new Error('it broke') }
  export const SCHEMAS = { greet: { body: Type.Object({ name: Type.String() }) } }
`)

t.test('calls skills by id and by property path; errors carry status, code and message', async (t) => {
  const server = await startServer(t, { config: '[core]\ngreeter = "plugins/greeter"\n', files: greeter })
  const aigis = connect({ url: server.url + '/' })

  t.equal(await aigis.call('greeter.greet', { name: 'Ada' }), 'Hello, Ada!')
  t.equal(await aigis.greeter.greet({ name: 'Bob' }), 'Hello, Bob!')
  t.equal(await aigis.greeter.math.add({ a: 1, b: 2 }), 3)
  t.equal(await aigis.call('greeter.VERSION'), '1.2.3')
  t.equal(await aigis.greeter.nothing(), undefined, '204 is undefined')

  const failure = async (promise: Promise<unknown>): Promise<AigisError> => {
    try {
      await promise
    } catch (err) {
      return err as AigisError
    }
    throw new Error('expected the call to fail')
  }
  const invalid = await failure(aigis.greeter.greet({ name: 5 }))
  t.type(invalid, AigisError)
  t.match(invalid, { statusCode: 400, code: 'AIGIS_INVALID_SKILL_INPUT', skill: 'greeter.greet' })
  t.match(await failure(aigis.greeter.nope()), { statusCode: 404, code: 'AIGIS_SKILL_NOT_FOUND' })
  t.match(await failure(aigis.call('nobody.greet')), { statusCode: 404, code: 'AIGIS_PLUGIN_NOT_FOUND' })
  t.match(await failure(aigis.greeter.teapot()), { statusCode: 418, message: 'short and stout' })
  t.match(await failure(aigis.greeter.crash()), { statusCode: 500, message: 'it broke' })
  t.match(await failure(aigis.call('greeter')), { statusCode: undefined, code: 'AIGIS_INVALID_INPUT', message: /is not a skill id/ })

  await server.call('/plugins/greeter/stop', { method: 'POST' })
  t.match(await failure(aigis.greeter.greet({ name: 'x' })), { statusCode: 409, code: 'AIGIS_PLUGIN_NOT_RUNNING' })
})

t.test('connect() reads AIGIS_URL and AIGIS_TOKEN, and says when there is no URL', async (t) => {
  const seen: Array<{ authorization?: string, agent?: string, type?: string, body: string, url?: string }> = []
  const fake = createServer((req, res) => {
    let body = ''
    req.on('data', (chunk) => { body += chunk })
    req.on('end', () => {
      seen.push({ authorization: req.headers.authorization, agent: req.headers['user-agent'], type: req.headers['content-type'], body, url: req.url })
      res.setHeader('content-type', 'application/json')
      res.end(JSON.stringify({ ok: true }))
    })
  })
  fake.listen(0, '127.0.0.1')
  await once(fake, 'listening')
  t.teardown(() => fake.close())
  const url = `http://127.0.0.1:${(fake.address() as { port: number }).port}`

  const aigis = connect({ env: { AIGIS_URL: url, AIGIS_TOKEN: 'plugin-token', AIGIS_PLUGIN: 'watcher' } })
  t.same(await aigis.some.deep.skill({ x: 1 }), { ok: true })
  await aigis.call('some.other')
  t.same(seen[0], { authorization: 'Bearer plugin-token', agent: 'aigis-client (watcher)', type: 'application/json', body: '{"x":1}', url: '/skills/some/deep.skill' })
  t.same(seen[1], { authorization: 'Bearer plugin-token', agent: 'aigis-client (watcher)', type: undefined, body: '', url: '/skills/some/other' }, 'no input, no body')
  seen.length = 0
  await connect({ url, token: 'explicit', env: {} }).call('a.b')
  t.equal(seen[0].authorization, 'Bearer explicit')

  t.throws(() => connect({ env: {} }), /set AIGIS_URL or pass connect\(\{ url \}\)/)
})

t.test('an unreachable server is an AigisError without a status', async (t) => {
  const closed = createServer()
  closed.listen(0, '127.0.0.1')
  await once(closed, 'listening')
  const port = (closed.address() as { port: number }).port
  await new Promise((resolve) => closed.close(resolve))
  const err = await connect({ url: `http://127.0.0.1:${port}` }).call('a.b').catch((e: unknown) => e)
  t.type(err, AigisError)
  t.match(err, { code: 'AIGIS_UNREACHABLE', statusCode: undefined, message: /^cannot reach aigis at http:\/\/127\.0\.0\.1:\d+: / })
})

t.test('answers that are not aigis\'s, and the client\'s own failures, are AigisErrors with codes of their own', async (t) => {
  const hung: Array<() => void> = []
  const fake = createServer((req, res) => {
    if (req.url === '/skills/slow/x') return void hung.push(() => res.end())
    if (req.url === '/skills/portal/x') return void res.writeHead(200, { 'content-type': 'text/html' }).end('<html>Captive portal</html>')
    if (req.url === '/skills/broken/x') return void res.writeHead(200, { 'content-type': 'application/json' }).end('{"broken": ')
    if (req.url === '/skills/moved/x') return void res.writeHead(302, { location: '/elsewhere' }).end()
    res.writeHead(409, { 'content-type': 'application/json' }).end(JSON.stringify({ statusCode: 409, code: 'AIGIS_PLUGIN_NOT_RUNNING', message: 'stopped', plugin: 'p' }))
  })
  fake.listen(0, '127.0.0.1')
  await once(fake, 'listening')
  t.teardown(() => { for (const end of hung) end(); fake.close() })
  const url = `http://127.0.0.1:${(fake.address() as { port: number }).port}`
  const aigis = connect({ url, timeout: 500 })
  const failure = async (promise: Promise<unknown>): Promise<unknown> => await promise.then(() => { throw new Error('expected the call to fail') }, (err: unknown) => err)

  t.match(await failure(aigis.call('portal.x')), { statusCode: 200, code: 'AIGIS_BAD_RESPONSE', message: /answered portal\.x with 200 and a body that is not JSON \(text\/html\).*is AIGIS_URL the aigis server\?/ })
  t.match(await failure(aigis.call('broken.x')), { statusCode: 200, code: 'AIGIS_BAD_RESPONSE' })
  t.match(await failure(aigis.call('moved.x')), { statusCode: 302, code: 'AIGIS_BAD_RESPONSE', message: /a redirect \(302 to \/elsewhere\)/ }, 'a redirect is not followed')
  t.match(await failure(aigis.call('slow.x')), { statusCode: undefined, code: 'AIGIS_CLIENT_TIMEOUT', message: /did not answer slow\.x within 500 ms/ })
  t.match(await failure(aigis.call('p.x')), { statusCode: 409, code: 'AIGIS_PLUGIN_NOT_RUNNING', plugin: 'p', skill: 'p.x' }, 'the plugin the server names')
  const cyclic: Record<string, unknown> = {}
  cyclic.self = cyclic
  t.match(await failure(aigis.call('p.x', cyclic)), { statusCode: undefined, code: 'AIGIS_INVALID_INPUT', message: /the input of p\.x cannot be sent as JSON/ }, 'nothing was sent')
  t.match(await failure(aigis.call('p.x', { n: 1n })), { code: 'AIGIS_INVALID_INPUT' })
  t.match(await failure(aigis.call('nodot')), { code: 'AIGIS_INVALID_INPUT', message: /is not a skill id/ })
  t.throws(() => connect({ url: 'not a url' }), /"not a url" is not an http\(s\) URL/)
  t.throws(() => connect({ url: 'ftp://host' }), /is not an http\(s\) URL/)
})

t.test('any Node program can use the compiled client, with no loader', async (t) => {
  const server = await startServer(t, { config: '[core]\ngreeter = "plugins/greeter"\n', files: greeter })
  // Compile the client as the package ships it (dist/src/client.js) into a temp folder.
  const root = join(import.meta.dirname, '..')
  const out = tempDir('aigis-client-')
  await execa(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), join(root, 'src/client.ts'),
    '--outDir', out, '--rootDir', join(root, 'src'), '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', '--types', 'node', '--skipLibCheck'])
  await writeFiles(out, { 'package.json': '{ "type": "module" }' })

  const result = await execa(process.execPath, [join(FIXTURES, 'proc-client.mjs'), pathToFileURL(join(out, 'client.js')).href], {
    env: { AIGIS_URL: server.url, NODE_OPTIONS: '' }
  })
  t.same(result.stdout.split('\n').map((line) => JSON.parse(line)), [
    'Hello, program!',
    42,
    { statusCode: 400, code: 'AIGIS_INVALID_SKILL_INPUT' }
  ])
})

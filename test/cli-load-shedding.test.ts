import { join } from 'node:path'
import t, { type Test } from 'tap'
import { call, corePlugin, startServer, tempDir, writeFiles, type TestServer } from './helper.js'
import { startCli, until } from './cli-helper.js'

// Under pressure the server answers 503 (with Retry-After) instead of taking
// more work; /health and /metrics still answer. Pressure is made real by a
// heap limit far below what any Node process uses.

const hello = corePlugin('plugins/hello', `
  export const SKILLS = ['greet']
  export function greet () { return 'hi' }
`)

async function expectShedding (t: Test, url: string, headers: Record<string, string> = {}): Promise<void> {
  await until('requests to be shed', async () => (await call(url, '/skills/hello/greet', { method: 'POST', headers })).status === 503)
  const shed = await call(url, '/skills/hello/greet', { method: 'POST', headers })
  t.equal(shed.status, 503)
  t.equal(shed.body.code, 'AIGIS_OVERLOADED')
  t.match(shed.body.message, /under pressure \(heapUsedBytes\)/)
  t.equal(shed.headers.get('retry-after'), '10')
  const ready = await call(url, '/ready')
  t.equal(ready.status, 503, '/ready tells load balancers to go elsewhere')
  t.same(ready.body, { status: 'overloaded' })
  t.same((await call(url, '/health')).body, { status: 'ok' }, '/health is never shed')
  t.equal((await call(url, '/metrics', { headers })).status, 200, '/metrics is never shed')
  t.equal((await call(url, '/plugins', { headers })).status, 503)
}

t.test('AppOptions.loadShedding: a heap limit sheds everything but /health and /metrics', async (t) => {
  const server: TestServer = await startServer(t, {
    config: '[core]\nhello = "plugins/hello"\n',
    files: hello,
    loadShedding: { maxHeapUsedBytes: 1, sampleInterval: 10, maxEventLoopDelay: 0 }
  })
  await expectShedding(t, server.url)
})

t.test('no limit set: nothing is shed', async (t) => {
  const server = await startServer(t, { config: '[core]\nhello = "plugins/hello"\n', files: hello, loadShedding: { maxHeapUsedBytes: 0, sampleInterval: 10 } })
  for (let i = 0; i < 20; i++) t.equal((await server.call('/skills/hello/greet', { method: 'POST' })).status, 200)
})

t.test('the CLI takes the limits from the environment (AIGIS_MAX_HEAP_MB)', async (t) => {
  const dir = tempDir('aigis-shed-')
  await writeFiles(dir, { 'config.aigis': '[core]\nhello = "plugins/hello"\n', ...hello })
  const token = 'shed-token-0123456789abcdef'
  const cli = await startCli(t, ['--config', join(dir, 'config.aigis'), '--data-dir', join(dir, 'data')], {
    env: { AIGIS_MAX_HEAP_MB: '1', AIGIS_TOKEN: token },
    waitFor: '/health'
  })
  await expectShedding(t, cli.url, { authorization: `Bearer ${token}` })
  cli.child.kill('SIGTERM')
  t.equal((await cli.exited).code, 0)
  t.ok(cli.records().some((r) => r.level === 'warn' && /under pressure \(heapUsedBytes\)/.test(r.msg)), 'the pressure is logged')
})

import t from 'tap'
import { join } from 'node:path'
import { buildApp } from '../src/app.js'
import { call, tempDir } from './helper.js'
import { pidAlive, waitFor, waitForLog, waitForState } from './supervisor-helper.js'

// The example plugins of the shipped default config (config/config.aigis).

t.test('the default config runs the example internal and external plugins', async (t) => {
  const app = await buildApp({ config: join(import.meta.dirname, '../config/config.aigis'), dataDir: join(tempDir(), 'data') })
  t.teardown(() => app.close())
  await app.listen({ host: '127.0.0.1', port: 0 })
  await app.aigis.loaded
  const url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`

  const ticker = await waitForState(app, 'ticker', 'running')
  t.match(await waitForLog(app, 'ticker', 'ticker started'), { stream: 'stdout', level: 'info' })
  t.match(await waitForLog(app, 'ticker', /^tick$/), { level: 'info', n: 1 })

  const watcher = await waitForState(app, 'watcher', 'running')
  t.same(watcher.skills, ['watcher.lastCheck'])
  t.match(await waitForLog(app, 'watcher', 'example.greet answered'), { answer: 'Hello, watcher!', checks: 1 })
  const last = await waitFor('watcher.lastCheck to answer', async () => {
    const res = await call(url, '/skills/watcher/lastCheck', { method: 'POST' })
    return res.status === 200 && res.body
  })
  t.match(last, { checks: 1, answer: 'Hello, watcher!' })

  await app.close()
  t.notOk(pidAlive(ticker.pid!), 'the ticker is stopped on close')
  t.notOk(pidAlive(watcher.pid!), 'the watcher is stopped on close')
  t.ok(app.aigis.hub.tail(1000, { plugins: new Set(['ticker']) }).some((r) => /^ticker stopping after \d+ ticks$/.test(r.msg)), 'the ticker got SIGTERM')
})

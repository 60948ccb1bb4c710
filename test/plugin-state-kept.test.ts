import t from 'tap'
import { corePlugin, startServer } from './helper.js'
import { externalPlugin, waitForState } from './supervisor-helper.js'

// What a plugin's status and metrics keep, and what they drop: a reload
// keeps the last exit (it is still the last one), and a plugin that was not
// added (or was deleted) leaves no series in /metrics.

const GOOD = 'export const SKILLS = ["hi"]\nexport const hi = () => "hi"'

t.test('POST /plugins with a source that cannot be fetched leaves nothing in /metrics; nor does a deleted plugin', async (t) => {
  const server = await startServer(t, { files: corePlugin('p/good', GOOD) })
  const added = await server.call('/plugins', { method: 'POST', json: { name: 'okname', source: 'p/missing' } })
  t.match(added, { status: 400, body: { code: 'AIGIS_INVALID_SOURCE' } })
  t.notMatch((await server.call('/metrics')).body, /plugin="okname"/)

  t.equal((await server.call('/plugins', { method: 'POST', json: { name: 'good', source: 'p/good' } })).status, 201)
  t.match((await server.call('/metrics')).body, /aigis_plugin_state\{plugin="good",state="running"\} 1/)
  t.equal((await server.call('/plugins/good', { method: 'DELETE' })).status, 204)
  t.notMatch((await server.call('/metrics')).body, /plugin="good"/)
})

t.test('reload keeps the last exit, as restart does', async (t) => {
  // Exits with code 3 the first time, then runs.
  const script = 'if [ -e ran ]; then exec sleep 300; fi; touch ran; echo bye; exit 3'
  const server = await startServer(t, {
    config: '[external]\nonce = "p/once"\n',
    files: externalPlugin('p/once', `LAUNCH = ["sh", "-c", ${JSON.stringify(script)}]`)
  })
  const exited = await waitForState(server.app, 'once', 'exited')
  t.match(exited.lastExit, { code: 3, lastLines: ['bye'] })
  const reloaded = await server.call('/plugins/once/reload', { method: 'POST' })
  t.match(reloaded.body, { state: 'running', lastExit: { code: 3, lastLines: ['bye'] } }, 'still the last exit after a reload')
  const restarted = await server.call('/plugins/once/restart', { method: 'POST' })
  t.match(restarted.body, { state: 'running', lastExit: { code: null, signal: 'SIGTERM' } }, 'until the plugin has a new one')
})

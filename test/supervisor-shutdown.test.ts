import t from 'tap'
import { join } from 'node:path'
import { tempDir, writeFiles } from './helper.js'
import { startCli, until } from './cli-helper.js'
import { externalPlugin, fixture, internalPlugin, pidAlive } from './supervisor-helper.js'

// The real CLI on SIGTERM and SIGINT: exit 0 with no child or grandchild of
// any plugin left behind.

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  t.test(`${signal}: every plugin's process group is gone when the server exits`, async (t) => {
    const dir = tempDir()
    await writeFiles(dir, {
      'config.aigis': '[internal]\nspawner = "plugins/spawner"\n[external]\ntree = "plugins/tree"\n',
      ...externalPlugin('plugins/tree', 'LAUNCH = ["sh", "tree.sh"]', { 'tree.sh': fixture('proc-tree.sh') }),
      ...internalPlugin('plugins/spawner', 'LAUNCH = "main.ts"', {
        'main.ts': `
          import { spawn } from 'node:child_process'
          export function launch () {
            const child = spawn('sleep', ['1000'], { stdio: 'ignore' })
            console.log('grandchild ' + child.pid)
          }
        `
      })
    })
    const cli = await startCli(t, ['--config', join(dir, 'config.aigis'), '--data-dir', join(dir, 'data')])
    const pids: Record<string, number> = {}
    await until('both plugins to report their grandchild', () => {
      for (const record of cli.records()) {
        if (typeof record.msg === 'string' && record.msg.startsWith('grandchild ')) {
          pids[`${record.plugin} child`] = record.pid
          pids[`${record.plugin} grandchild`] = Number(record.msg.split(' ')[1])
        }
      }
      return Object.keys(pids).length === 4
    })
    for (const [what, pid] of Object.entries(pids)) t.ok(pidAlive(pid), `${what} runs`)

    cli.child.kill(signal)
    const exit = await cli.exited
    t.same(exit, { code: 0, signal: null }, cli.stderr())
    for (const [what, pid] of Object.entries(pids)) t.notOk(pidAlive(pid), `${what} is gone`)
  })
}

import t from 'tap'
import { join } from 'node:path'
import { readFileSync } from 'node:fs'
import { buildApp } from '../src/app.js'
import { loadPluginConfig, resolvePluginConfig } from '../src/config/plugin-config.js'
import { call, corePlugin, tempDir, writeFiles } from './helper.js'

// AIGIS.config: what a user gets told when it is wrong (every problem at
// once, in words that say what to do), and {root} in commands.

async function configError (text: string, expected?: 'core' | 'internal' | 'external'): Promise<string> {
  const root = tempDir()
  await writeFiles(root, { 'AIGIS/AIGIS.config': text })
  try {
    await loadPluginConfig('demo', root, expected)
  } catch (err) {
    return (err as Error).message
  }
  throw new Error('the config was accepted')
}

t.test('every unknown key is named, each with its closest known key when there is one', async (t) => {
  const message = await configError('PLUGIN_TYPE = "external"\nLAUNCH = ["x"]\nRESTARTS = 1\nTIMEOUT = 3\nLAUNCH_CMD = "x"\nFOO = 1\nenv = {}\n')
  t.match(message, /^Plugin "demo": .*AIGIS\.config: /)
  t.match(message, /unknown key "RESTARTS" \(did you mean "RESTART"\?\)/)
  t.match(message, /unknown key "TIMEOUT" \(did you mean "STOP_TIMEOUT"\?\)/)
  t.match(message, /unknown key "LAUNCH_CMD" \(did you mean "LAUNCH"\?\)/)
  t.match(message, /unknown key "FOO"[;,]/, 'no hint when nothing is close')
  t.match(message, /unknown key "env" \(did you mean "ENV"\?\)/)
  t.match(message, /known keys: PLUGIN_TYPE, ENTRYPOINT, LAUNCH/)
})

t.test('a value of the wrong type says what the key takes, with an example', async (t) => {
  t.match(await configError('PLUGIN_TYPE = "external"\nLAUNCH = []\n'),
    /LAUNCH must be a non-empty list of strings or a non-empty string \(got \[\]\), e.g\. LAUNCH = \["python3", "main\.py"\]/)
  t.match(await configError('PLUGIN_TYPE = "core"\nREQUIREMENT_COMMAND = ""\n'),
    /REQUIREMENT_COMMAND must be a non-empty string or a non-empty list of strings \(got ""\), e\.g\. REQUIREMENT_COMMAND = "npm install --prefix \{root\}"/)
  t.notMatch(await configError('PLUGIN_TYPE = "core"\nREQUIREMENT_COMMAND = ""\n'), /fewer than/)
  t.match(await configError('PLUGIN_TYPE = "external"\nLAUNCH = ["x"]\nENV = ["A=1"]\n'),
    /ENV must be a table of strings, numbers or booleans \(got \["A=1"\]\), e\.g\. ENV = \{ LOG_LEVEL = "debug" \}/)
  t.match(await configError('PLUGIN_TYPE = "external"\nLAUNCH = ["x"]\nENV = { A = [1], B = "ok" }\n'), /ENV\.A must be a string, a number or a boolean \(got \[1\]\)/)
  t.match(await configError('PLUGIN_TYPE = "external"\nLAUNCH = ["x"]\nSTOP_TIMEOUT = 1e9\n'), /STOP_TIMEOUT must be a number, 0 to 2147483 \(got 1000000000\)/, 'past Node\'s timer limit, refused (it SIGKILLed at once)')
  t.match(await configError('PLUGIN_TYPE = "external"\nLAUNCH = ["x"]\nENV = { "BAD=NAME" = "x" }\n'), /ENV key "BAD=NAME" is not an environment variable name: it must be non-empty, without "=" or NUL/)
  t.match(await configError('PLUGIN_TYPE = "external"\nLAUNCH = ["x"]\nENV = { "" = "x" }\n'), /ENV key "" is not an environment variable name/)
  t.match(await configError('PLUGIN_TYPE = "external"\nLAUNCH = ["x"]\nENV = { A = "x\\u0000y" }\n'), /ENV\.A holds a NUL character/)
  t.match(await configError('PLUGIN_TYPE = "plugin"\n'), /PLUGIN_TYPE must be "core", "internal" or "external" \(got "plugin"\)/)
  t.match(await configError('LAUNCH = 5\nRESTART = 1.5\n'), /PLUGIN_TYPE is required.*LAUNCH must be .*got 5.*RESTART must be a whole number, -1 or more \(got 1\.5\)/, 'every problem at once')
})

t.test('an unclosed string in AIGIS.config names its line', async (t) => {
  t.match(await configError('PLUGIN_TYPE = "core\nENTRYPOINT = "x"\n'), /AIGIS\.config:1:\d+: invalid TOML: the string on line 1 is not closed/)
})

t.test('a type mismatch is reported before what the other type would need', async (t) => {
  const message = await configError('PLUGIN_TYPE = "external"\nFOO = 1\n', 'core')
  t.match(message, /^Plugin "demo" is listed under \[core\] but its AIGIS\.config says PLUGIN_TYPE = "external"/)
  t.notMatch(message, /LAUNCH/)
  t.match(await configError('PLUGIN_TYPE = "external"\n', 'external'), /LAUNCH is required for external plugins/, 'without a mismatch the rest is checked')
})

t.test('{root} in a command string stays one argument, spaces and quotes in it or not', async (t) => {
  const root = '/tmp/d 15/it\'s "here"/ext/p'
  const config = resolvePluginConfig('p', root, { PLUGIN_TYPE: 'external', LAUNCH: 'node {root}/main.js --flag', REQUIREMENT_COMMAND: 'npm install --prefix {root}' }, 'AIGIS.config')
  t.same(config.requirementCommand, ['npm', 'install', '--prefix', root])
  t.same(config.launch, ['node', `${root}/main.js`, '--flag'])
  const quoted = resolvePluginConfig('p', root, { PLUGIN_TYPE: 'core', REQUIREMENT_COMMAND: 'sh -c "ls {root}"' }, 'AIGIS.config')
  t.same(quoted.requirementCommand, ['sh', '-c', `ls ${root}`], 'inside quotes it is left as the words say')
})

t.test('REQUIREMENT_COMMAND with {root} runs in a data dir whose path has a space', async (t) => {
  const dir = tempDir('aigis d 15 ')
  await writeFiles(dir, {
    'config.aigis': '[core]\nspaced = "p"\n',
    ...corePlugin('p', 'export const SKILLS = []', 'REQUIREMENT_COMMAND = "node -e \\"require(\'fs\').writeFileSync(\'root.txt\', process.argv[1])\\" {root}"\n')
  })
  const app = await buildApp({ config: join(dir, 'config.aigis'), dataDir: join(dir, 'd 15') })
  t.teardown(() => app.close())
  await app.listen({ host: '127.0.0.1', port: 0 })
  await app.aigis.loaded
  const status = (await call(`http://127.0.0.1:${(app.server.address() as { port: number }).port}`, '/plugins/spaced')).body
  t.equal(status.state, 'running', status.error)
  const root = join(dir, 'd 15', 'ext', 'spaced')
  t.equal(readFileSync(join(root, 'root.txt'), 'utf8'), root)
})

t.test('keys that do nothing for the plugin are warnings, not errors: process keys on a core plugin, REQUIREMENT_FILE alone', async (t) => {
  const core = resolvePluginConfig('p', '/r', { PLUGIN_TYPE: 'core', LAUNCH: 'x', RESTART: 2, REQUIREMENT_FILE: 'req.txt' }, 'AIGIS.config')
  t.same(core.warnings, [
    'LAUNCH has no effect on a core plugin (it runs inside the server, not as a process); it is ignored',
    'RESTART has no effect on a core plugin (it runs inside the server, not as a process); it is ignored',
    'REQUIREMENT_FILE has no effect without REQUIREMENT_COMMAND (it is that command\'s last argument); it is ignored'
  ])
  t.same(resolvePluginConfig('p', '/r', { PLUGIN_TYPE: 'external', LAUNCH: 'x', RESTART: 2, REQUIREMENT_COMMAND: 'make', REQUIREMENT_FILE: 'req.txt' }, 'AIGIS.config').warnings, [])

  // Through a server: in the plugin's log, and the plugin runs.
  const dir = tempDir()
  await writeFiles(dir, { 'config.aigis': '[core]\nc = "p/c"\n', ...corePlugin('p/c', 'export const SKILLS = ["a"]\nexport const a = 1', 'RESTART = 3\n') })
  const app = await buildApp({ config: join(dir, 'config.aigis'), dataDir: join(dir, 'data') })
  t.teardown(() => app.close())
  await app.listen({ host: '127.0.0.1', port: 0 })
  await app.aigis.loaded
  t.equal(app.aigis.plugins.status('c').state, 'running')
  t.ok(app.aigis.hub.tail(50, { plugins: new Set(['c']) }).some((r) => r.level === 'warn' && /^RESTART has no effect on a core plugin/.test(r.msg)))
})

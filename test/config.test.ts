import t from 'tap'
import { join } from 'node:path'
import { buildApp } from '../src/app.js'
import { loadMainConfig } from '../src/config/main-config.js'
import { tempDir, writeFiles } from './helper.js'

// The main config: what stops the server (it cannot be read at all) and what
// only marks one plugin (a bad entry).

async function configFile (text: string): Promise<string> {
  const dir = tempDir()
  await writeFiles(dir, { 'config.aigis': text })
  return join(dir, 'config.aigis')
}

t.test('invalid TOML stops the server with file, line and column', async (t) => {
  const file = await configFile('[core]\nexample = "plugins/example"\nbroken = \n')
  await t.rejects(buildApp({ config: file, dataDir: tempDir() }), {
    code: 'AIGIS_CONFIG_INVALID',
    message: new RegExp(`${file.replace(/[.]/g, '\\.')}:3:\\d+: invalid TOML`)
  })
})

t.test('a missing config file says how to point at one', async (t) => {
  await t.rejects(loadMainConfig(join(tempDir(), 'nope.aigis')), { code: 'AIGIS_CONFIG_INVALID', message: /does not exist; pass --config or set AIGIS_CONFIG/ })
})

t.test('an unknown section is named, with the closest known one', async (t) => {
  await t.rejects(loadMainConfig(await configFile('[externals]\nx = "y"\n')), { message: /unknown section "externals" \(did you mean \[external\]\?\)/ })
  await t.rejects(loadMainConfig(await configFile('core = "x"\n')), { message: /"core" must be a table/ })
})

t.test('entries keep their order; bad ones are marked, not fatal', async (t) => {
  const config = await loadMainConfig(await configFile(`
[external]
ticker = "plugins/ticker"
[core]
b = "plugins/b"
a = "https://example.invalid/a.git"
"bad name" = "plugins/x"
empty = ""
number = 5
[internal]
b = "plugins/b2"
`))
  t.same(config.plugins.map((p) => [p.type, p.name]), [
    ['core', 'b'], ['core', 'a'], ['core', 'bad name'], ['core', 'empty'], ['core', 'number'],
    ['internal', 'b'], ['external', 'ticker']
  ], 'core, internal, external; in listed order')
  const errors = Object.fromEntries(config.plugins.map((p) => [`${p.type}.${p.name}`, p.error]))
  t.equal(errors['core.b'], undefined)
  t.match(errors['core.bad name'], /invalid plugin name "bad name"/)
  t.match(errors['core.empty'], /source must be a non-empty string/)
  t.match(errors['core.number'], /source must be a non-empty string/)
  t.match(errors['internal.b'], /listed twice/)
  t.equal(config.baseDir, config.file.slice(0, config.file.lastIndexOf('/')), 'relative sources resolve against the config folder')
})

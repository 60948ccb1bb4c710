import t from 'tap'
import { join } from 'node:path'
import { buildApp } from '../src/app.js'
import { loadMainConfig } from '../src/config/main-config.js'
import { corePlugin, startServer, tempDir, writeFiles } from './helper.js'

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
  t.match(errors['core.bad name'], /invalid plugin name "bad name"/)
  t.match(errors['core.empty'], /source must be a non-empty string/)
  t.match(errors['core.number'], /source must be a non-empty string/)
  t.match(errors['core.b'], /^plugin "b" is listed in \[core\] and \[internal\]; plugin names must be unique across sections: rename or remove one$/, 'both entries are marked')
  t.match(errors['internal.b'], /listed in \[core\] and \[internal\]/)
  t.equal(config.baseDir, config.file.slice(0, config.file.lastIndexOf('/')), 'relative sources resolve against the config folder')
})

t.test('a name listed in two sections is one failed plugin, whose error names both sections', async (t) => {
  const server = await startServer(t, {
    config: '[core]\nx = "p/x"\n[external]\nx = "p/x"\n',
    files: corePlugin('p/x', 'export const SKILLS = []')
  })
  const plugins = (await server.call('/plugins')).body
  t.equal(plugins.filter((p: any) => p.name === 'x').length, 1)
  t.match(plugins.find((p: any) => p.name === 'x'), { state: 'failed', error: /plugin "x" is listed in \[core\] and \[external\]/ })
})

t.test('plugin names: at most 64 characters, and not "aigis", in the config and in POST /plugins', async (t) => {
  const long = 'n'.repeat(300)
  const config = await loadMainConfig(await configFile(`[core]\n${long} = "p"\naigis = "p"\n${'m'.repeat(64)} = "p"\n`))
  t.match(config.plugins[0].error, /^invalid plugin name "n{40}…" in \[core\]: a name has at most 64 characters \(this one has 300\)$/)
  t.match(config.plugins[1].error, /^invalid plugin name "aigis" in \[core\]: "aigis" is reserved: it is the server's own name in the logs$/)
  t.equal(config.plugins[2].error, undefined, '64 characters are fine')

  const server = await startServer(t, { files: corePlugin('p', 'export const SKILLS = []') })
  for (const name of [long, 'aigis']) {
    const added = await server.call('/plugins', { method: 'POST', json: { name, source: 'p' } })
    t.match(added, { status: 400, body: { code: 'AIGIS_INVALID_PLUGIN_NAME', message: /at most 64 characters.*"aigis" is reserved/ } })
  }
  t.same((await server.call('/plugins')).body, [], 'nothing was added')
})

t.test('what stops the server says what to do', async (t) => {
  const dir = tempDir()
  await t.rejects(loadMainConfig(dir), { code: 'AIGIS_CONFIG_INVALID', message: new RegExp(`^${dir} is a folder, not a file; pass the config file itself \\(--config or AIGIS_CONFIG\\)`) })
  await t.rejects(loadMainConfig(await configFile('[core]\nok = "a"\nx = "p\ny = "q"\n')), {
    message: /:3:\d+: invalid TOML: the string on line 3 is not closed; end it with " on the same line/
  })
  await t.rejects(loadMainConfig(await configFile('x = "p"\n[core]\ny = "q"\n')), {
    message: /: x = "p" is not in a section; plugins go under \[core\], \[internal\] or \[external\]: put one of those lines above it/
  })
  await t.rejects(loadMainConfig(await configFile('x = "p"\nz = "q"\n[cor]\n')), { message: /x = "p" is not in a section.*z = "q" is not in a section.*unknown section "cor" \(did you mean \[core\]\?\)/ }, 'every problem')
})

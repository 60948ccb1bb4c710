import t from 'tap'
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { buildApp } from '../src/app.js'
import { readSkills } from '../src/core/loader.js'
import { call, corePlugin, startServer, tempDir, writeFiles } from './helper.js'

// One server with one good plugin and one of every kind of broken one: each
// broken plugin is `failed` with an error that says what to fix, and neither
// the server nor the good plugin notice.

const GOOD = `export const SKILLS = ['ping']
export const ping = () => 'pong'`

const broken: Record<string, { files: Record<string, string>, error: RegExp, section?: string }> = {
  badtoml: {
    files: { 'p/badtoml/AIGIS/AIGIS.config': 'PLUGIN_TYPE = "core"\nRESTART = = 3\n' },
    error: /AIGIS\.config:2:\d+: invalid TOML/
  },
  unknownkey: {
    files: corePlugin('p/unknownkey', GOOD, 'RESTARTS = 2\n'),
    error: /unknown key "RESTARTS" \(did you mean "RESTART"\?\)/
  },
  mismatch: {
    files: corePlugin('p/mismatch', GOOD),
    section: 'external',
    error: /listed under \[external\] but its AIGIS\.config says PLUGIN_TYPE = "core"/
  },
  nocore: {
    files: { 'p/nocore/AIGIS/AIGIS.config': 'PLUGIN_TYPE = "core"\n' },
    error: /has no AIGIS\/AIGIS\.core\.ts/
  },
  noskills: {
    files: corePlugin('p/noskills', 'export const ping = () => 1'),
    error: /exports no SKILLS/
  },
  skillsnotstrings: {
    files: corePlugin('p/skillsnotstrings', 'export const SKILLS = ["ping", 3]\nexport const ping = () => 1'),
    error: /SKILLS must be an array of non-empty strings/
  },
  badpath: {
    files: corePlugin('p/badpath', 'export const SKILLS = ["math.sub"]\nexport const math = { add: () => 1 }'),
    error: /SKILLS entry "math\.sub" cannot be followed: "sub" is not found in "math"/
  },
  throws: {
    files: corePlugin('p/throws', 'throw new Error("database unreachable")\nexport const SKILLS = []'),
    error: /importing .*AIGIS\.core\.ts failed: database unreachable/
  },
  syntax: {
    files: corePlugin('p/syntax', 'export const SKILLS = [\n'),
    error: /importing .*AIGIS\.core\.ts failed/
  },
  oddname: {
    files: corePlugin('p/oddname', 'export const SKILLS = ["ping", "ns.{id}"]\nexport const ping = () => 1\nexport const ns = { "{id}": () => 1 }'),
    error: /SKILLS entry "ns\.\{id\}": "\{" cannot be in a skill name/
  },
  emptysegment: {
    files: corePlugin('p/emptysegment', 'export const SKILLS = ["a..b"]\nexport const a = { "": { b: 1 } }'),
    error: /SKILLS entry "a\.\.b" has an empty segment/
  },
  badschema: {
    files: corePlugin('p/badschema', `${GOOD}\nexport const SCHEMAS = { ping: { body: { type: 'strin' } } }`),
    error: /SCHEMAS "ping"\.body is not a valid JSON Schema: body\/type must be .*"strin"/
  },
  noconfig: {
    files: { 'p/noconfig/README': 'nothing here\n' },
    error: /AIGIS\.config does not exist/
  },
  nosource: {
    files: {},
    error: /source folder .*p\/nosource does not exist/
  },
  badtype: {
    files: { 'p/badtype/AIGIS/AIGIS.config': 'PLUGIN_TYPE = "daemon"\n' },
    error: /PLUGIN_TYPE must be "core", "internal" or "external" \(got "daemon"\)/
  }
}

t.test('broken plugins fail one by one, the rest keeps working', async (t) => {
  const sections: Record<string, string[]> = { core: ['good = "p/good"'], internal: [], external: [] }
  let files: Record<string, string> = corePlugin('p/good', GOOD)
  for (const [name, spec] of Object.entries(broken)) {
    sections[spec.section ?? 'core'].push(`${name} = "p/${name}"`)
    files = { ...files, ...spec.files }
  }
  sections.core.push('"../evil" = "p/good"')
  const config = Object.entries(sections).map(([s, lines]) => `[${s}]\n${lines.join('\n')}`).join('\n\n')
  const server = await startServer(t, { config, files })

  const ready = await server.call('/ready')
  t.equal(ready.status, 200, 'ready once every plugin was tried')

  const list = await server.call('/plugins')
  const byName = new Map<string, any>(list.body.map((p: any) => [p.name, p]))
  t.equal(byName.get('good').state, 'running')
  for (const [name, spec] of Object.entries(broken)) {
    const plugin = byName.get(name)
    t.equal(plugin?.state, 'failed', `${name} is failed`)
    t.match(plugin?.error, spec.error, `${name} says why`)
    t.notMatch(plugin?.error, /data\/ext\//, `${name}: a file to fix is named in the source folder, not the runtime copy`)
    t.same(plugin?.skills, [], `${name} serves no skill`)
  }
  t.match(byName.get('../evil'), { state: 'failed', error: /invalid plugin name "\.\.\/evil"/ })
  // Whatever is asked, a name the config refuses is never loaded: nothing is copied out of <data dir>/ext, and DELETE removes no file.
  await writeFiles(server.dir, { 'data/evil/keep.txt': 'mine' })
  for (const action of ['start', 'restart', 'reload']) {
    const res = await server.call(`/plugins/..%2Fevil/${action}`, { method: 'POST' })
    t.match(res, { status: 200, body: { name: '../evil', state: 'failed', error: /invalid plugin name/ } }, `${action} fails as the boot did`)
  }
  t.equal((await server.call('/skills/..%2Fevil/ping', { method: 'POST' })).status, 409, 'it serves nothing')
  t.equal((await server.call('/plugins/..%2Fevil', { method: 'DELETE' })).status, 204)
  t.equal(readFileSync(join(server.dir, 'data/evil/keep.txt'), 'utf8'), 'mine', 'the folder its name points at is untouched')
  t.same(readdirSync(join(server.dir, 'data/evil')), ['keep.txt'], 'and nothing was copied there')
  t.ok(byName.get('badtoml').error.includes(`${join(server.dir, 'p', 'badtoml', 'AIGIS', 'AIGIS.config')}:2:`), 'the source\'s AIGIS.config, with line and column')
  t.ok(byName.get('throws').error.includes(join(server.dir, 'p', 'throws', 'AIGIS', 'AIGIS.core.ts')), 'the source\'s module')

  const pong = await server.call('/skills/good/ping', { method: 'POST' })
  t.equal(pong.status, 200)
  t.equal(pong.body, 'pong')

  const failedCall = await server.call('/skills/throws/anything', { method: 'POST' })
  t.equal(failedCall.status, 409, 'a failed plugin\'s skills answer 409')
  t.match(failedCall.body, { code: 'AIGIS_PLUGIN_NOT_RUNNING', plugin: 'throws' })

  const logged = server.app.aigis.hub.tail(1000, { plugins: new Set(['unknownkey']) })
  t.ok(logged.some((r) => r.level === 'error' && /RESTARTS/.test(r.msg)), 'the failure is in the central log')
  t.equal((await server.call('/health')).status, 200)
})

t.test('while plugins load, /ready is 503 and every configured plugin is listed', async (t) => {
  const dir = tempDir()
  const gate = join(dir, 'gate')
  // The first plugin's REQUIREMENT_COMMAND waits until the test opens the gate.
  const waitForGate = `node -e "const fs=require('fs');const t=setInterval(()=>{if(fs.existsSync(process.argv[1])){clearInterval(t)}},20)" ${JSON.stringify(gate)}`
  // `late` comes after more plugins than boot fetches ahead, `gone` within them.
  const fillers = Array.from({ length: 9 }, (_, i) => `f${i}`)
  const order = ['slow', 'next', 'gone', ...fillers, 'late']
  await writeFiles(dir, {
    'config.aigis': `[core]\n${order.map((name) => `${name} = "p/${name}"`).join('\n')}\n`,
    ...corePlugin('p/slow', GOOD, `REQUIREMENT_COMMAND = ${JSON.stringify(waitForGate)}\n`),
    ...Object.assign({}, ...order.slice(1).map((name) => corePlugin(`p/${name}`, GOOD)))
  })
  const app = await buildApp({ config: join(dir, 'config.aigis'), dataDir: join(dir, 'data') })
  t.teardown(() => app.close())
  await app.listen({ port: 0, host: '127.0.0.1' })
  const url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`

  t.equal((await call(url, '/ready')).status, 503)
  t.same((await call(url, '/plugins')).body.map((p: any) => [p.name, p.state]), [['slow', 'starting'], ...order.slice(1).map((name) => [name, 'stopped'])])
  // Waiting their turn (their sources fetched ahead meanwhile, or not yet), plugins can be managed over HTTP.
  t.equal((await call(url, '/plugins/next/start', { method: 'POST' })).body.state, 'running')
  t.equal((await call(url, '/plugins/gone', { method: 'DELETE' })).status, 204)
  t.equal((await call(url, '/plugins/late', { method: 'DELETE' })).status, 204)
  writeFileSync(gate, '')
  await app.aigis.loaded
  t.equal((await call(url, '/ready')).status, 200)
  t.same((await call(url, '/plugins')).body.map((p: any) => [p.name, p.state]), [['slow', 'running'], ['next', 'running'], ...fillers.map((name) => [name, 'running'])])
  const starts = app.aigis.hub.tail(500).filter((r) => r.plugin === 'next' && r.msg === 'core plugin started')
  t.equal(starts.length, 1, 'boot did not start the plugin started over HTTP again')
  t.notOk(existsSync(join(dir, 'data', 'ext', 'late')), 'a plugin deleted before its turn to be fetched is not fetched')
  t.notOk(existsSync(join(dir, 'data', 'ext', 'gone')), 'the deleted plugin left no copy behind')
})

t.test('a skill name is served as a URL path: odd characters and empty segments fail the plugin, naming them', async (t) => {
  const odd: Array<[string, string]> = [
    ['ns.{id}', '"{"'], ['ns.a}', '"}"'], ['ns.q?x', '"?"'], ['ns.h#x', '"#"'], ['ns.pct%41', '"%"'], ['ns.a/b', '"/"'],
    ['ns.a b', 'U+0020'], ['ns.tab\tx', 'U+0009'], ['ns.nl\nx', 'U+000A'], ['ns.nul\u0000', 'U+0000'], ['ns.nbsp\u00a0', 'U+00A0'],
    ['ns.a"b', '"\\""'], ['ns.a\\b', '"\\\\"'], ['ns.<b>', '"<"'], ['ns.a:b', '":"'], ['ns.a&b', '"&"']
  ]
  for (const [name, char] of odd) {
    const exports = { SKILLS: [name], ns: { [name.slice(3)]: 1 } }
    t.throws(() => readSkills('p', exports), { code: 'AIGIS_SKILLS_INVALID', message: `SKILLS entry ${JSON.stringify(name)}: ${char} cannot be in a skill name` }, JSON.stringify(name))
  }
  for (const name of ['ns.', '.ns', 'a..b', '.']) {
    t.throws(() => readSkills('p', { SKILLS: [name], ns: { '': 1 }, '': 1, a: { '': { b: 1 } } }), { code: 'AIGIS_SKILLS_INVALID', message: /has an empty segment/ }, JSON.stringify(name))
  }
  const fine = ['grüße', '数学.加', 'नमस्ते', '$get', 'kebab-case', 'snake_case', 'v2', 'ÉTÉ']
  const { skills } = readSkills('p', { SKILLS: fine, ...Object.fromEntries(fine.map((name) => [name.split('.')[0], name.includes('.') ? { [name.split('.')[1]]: 1 } : 1])) })
  t.same(skills.map((s) => s.name), fine, 'letters and digits of any script, "_", "$" and "-" are fine')
})

t.test('SCHEMAS are checked against the JSON Schema meta-schema at load, not compiled', async (t) => {
  const exports = (schemas: unknown): Record<string, unknown> => ({ SKILLS: ['a', 'b'], a: () => 1, b: 2, SCHEMAS: schemas })
  t.throws(() => readSkills('p', exports({ a: { body: { type: 'strin' } } })), { code: 'AIGIS_SKILLS_INVALID', message: /^Plugin "p": SCHEMAS "a"\.body is not a valid JSON Schema: body\/type must be .*, got "strin"/ })
  t.throws(() => readSkills('p', exports({ b: { response: { properties: { x: { minLength: -1 } } } } })), { message: /^Plugin "p": SCHEMAS "b"\.response is not a valid JSON Schema: response\/properties\/x\/minLength must be >= 0/ })
  t.throws(() => readSkills('p', exports({ a: { body: 'string' } })), { message: /^Plugin "p": SCHEMAS "a"\.body is not a valid JSON Schema: body must be an object or a boolean \(a JSON Schema\), got "string"/ })
  t.throws(() => readSkills('p', exports({ a: 'say hello' })), { message: /^Plugin "p": SCHEMAS "a" must be an object with body, response, description, summary/ })
  t.throws(() => readSkills('p', exports({ a: { body: { type: 'object', properties: { mail: { type: 'string', format: 'emial' } } } } })), { message: /^Plugin "p": SCHEMAS "a"\.body is not a valid JSON Schema: body\/properties\/mail\/format "emial" is not a format aigis knows \(date, time, date-time, .*email/ })
  t.same(readSkills('p', exports({ a: { body: { type: 'object', properties: { format: { type: 'string', format: 'email' } }, default: { format: 'anything' } } } })).warnings, [], 'a property named format, and data, are not the keyword')
  // A reference that does not resolve passes the meta-schema; it fails at the first call (see core.test.ts).
  t.same(readSkills('p', exports({ a: { body: { $ref: '#/definitions/nowhere' }, response: true }, b: { description: 'two' } })).warnings, [])
})

t.test('SCHEMAS keys that match no skill, and unknown keys in an entry, are warnings naming the key', async (t) => {
  const { skills, warnings } = readSkills('p', {
    SKILLS: ['greet', 'math.add'],
    greet: () => 'hi',
    math: { add: () => 1 },
    SCHEMAS: { gret: { body: {} }, greet: { bdy: { type: 'object' }, description: 'Hi', summry: 'x' }, 'math.add': { type: 'object', properties: {} } }
  })
  t.equal(skills.length, 2, 'the plugin still loads')
  t.same(warnings, [
    'SCHEMAS has "gret", which is not in SKILLS (did you mean "greet"?); it is ignored',
    'SCHEMAS "greet" has an unknown key "bdy" (did you mean "body"?); the known keys are body, response, description, summary; it is ignored',
    'SCHEMAS "greet" has an unknown key "summry" (did you mean "summary"?); the known keys are body, response, description, summary; it is ignored',
    'SCHEMAS "math.add" has an unknown key "type"; the known keys are body, response, description, summary; it is ignored (a JSON Schema goes under "body" or "response")',
    'SCHEMAS "math.add" has an unknown key "properties"; the known keys are body, response, description, summary; it is ignored (a JSON Schema goes under "body" or "response")'
  ])
})

t.test('a skill SKILLS lists twice is one skill, with a warning', async (t) => {
  const { skills, warnings } = readSkills('p', { SKILLS: ['a', 'b', 'a', 'a'], a: () => 1, b: 2 })
  t.same(skills.map((s) => s.name), ['a', 'b'])
  t.same(warnings, ['SKILLS lists "a" more than once; it is one skill'])
})

t.test('ENTRYPOINT is the module resolution root: packages in <ENTRYPOINT>/node_modules resolve from AIGIS.core.ts', async (t) => {
  const lib = 'p/rooted/lib/node_modules'
  const server = await startServer(t, {
    config: '[core]\nrooted = "p/rooted"\n',
    files: {
      ...corePlugin('p/rooted', `
        import cjs from 'cjs-mod'
        import { extra } from 'cjs-mod/extra.js'
        import { esm } from '@scope/esm-only'
        import { Type } from 'typebox'
        export const SKILLS = ['which']
        export const which = () => [cjs.name, extra, esm, typeof Type.Object]
      `, 'ENTRYPOINT = "{root}/lib"\n'),
      [`${lib}/cjs-mod/package.json`]: '{"name":"cjs-mod","version":"1.0.0","main":"main.js"}',
      [`${lib}/cjs-mod/main.js`]: 'module.exports = { name: "cjs-mod" }',
      [`${lib}/cjs-mod/extra.js`]: 'exports.extra = "a subpath"',
      [`${lib}/@scope/esm-only/package.json`]: '{"name":"@scope/esm-only","version":"1.0.0","type":"module","exports":{"import":"./index.js"}}',
      [`${lib}/@scope/esm-only/index.js`]: 'export const esm = "import-only ESM"',
      // A typebox of the plugin's own is not used: the server's copy is.
      [`${lib}/typebox/package.json`]: '{"name":"typebox","version":"0.0.1","main":"index.js"}',
      [`${lib}/typebox/index.js`]: 'throw new Error("the plugin\'s own typebox was loaded")'
    }
  })
  const plugin = server.app.aigis.plugins.status('rooted')
  t.equal(plugin.state, 'running', plugin.error ?? '')
  const res = await server.call('/skills/rooted/which', { method: 'POST' })
  t.same(res.body, ['cjs-mod', 'a subpath', 'import-only ESM', 'function'])
})

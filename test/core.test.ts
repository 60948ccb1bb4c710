import t from 'tap'
import { corePlugin, startServer } from './helper.js'

t.test('a core skill answers over HTTP', async (t) => {
  const server = await startServer(t, {
    config: '[core]\nhello = "plugins/hello"\n',
    files: corePlugin('plugins/hello', `
      export const SKILLS = ['greet']
      export function greet (input: { name: string }) { return 'Hello, ' + input.name + '!' }
    `)
  })
  const res = await server.call('/skills/hello/greet', { method: 'POST', json: { name: 'Ada' } })
  t.equal(res.status, 200)
  t.equal(res.body, 'Hello, Ada!')
})

t.test('skill names of any script, with "$" and "-", are served at their percent-encoded path', async (t) => {
  const server = await startServer(t, {
    config: '[core]\nnames = "plugins/names"\n',
    files: corePlugin('plugins/names', `
      export const SKILLS = ['grüße', '数学.加', '$get', 'kebab-case']
      export const grüße = () => 'hallo'
      export const 数学 = { 加: ({ a, b }: { a: number, b: number }) => a + b }
      export const $get = 'got'
      export const ns = 1
      export const SCHEMAS = { 'kebab-case': { response: { type: 'string' } } }
      export { ns as 'kebab-case' }
    `)
  })
  const listed = (await server.call('/skills')).body.filter((s: any) => s.plugin === 'names')
  t.same(listed.map((s: any) => s.path).sort(), ['/skills/names/$get', '/skills/names/kebab-case', '/skills/names/grüße', '/skills/names/数学.加'].sort())
  t.equal((await server.call(encodeURI('/skills/names/grüße'), { method: 'POST' })).body, 'hallo')
  t.equal((await server.call(encodeURI('/skills/names/数学.加'), { method: 'POST', json: { a: 1, b: 2 } })).body, 3)
  t.equal((await server.call('/skills/names/$get', { method: 'POST' })).body, 'got')
  t.equal((await server.call('/skills/names/kebab-case', { method: 'POST' })).body, 1)
})

t.test('a body schema that passes the meta-schema but cannot compile answers 500 naming the skill and the problem', async (t) => {
  const server = await startServer(t, {
    config: '[core]\nrefs = "plugins/refs"\n',
    files: corePlugin('plugins/refs', `
      export const SKILLS = ['echo', 'fine']
      export const echo = (input: unknown) => input
      export const fine = () => 'fine'
      export const SCHEMAS = { echo: { body: { $ref: '#/definitions/nowhere' } } }
    `)
  })
  t.equal((await server.call('/plugins/refs')).body.state, 'running')
  for (let i = 0; i < 2; i++) {
    const res = await server.call('/skills/refs/echo', { method: 'POST', json: {} })
    t.equal(res.status, 500)
    t.match(res.body, { code: 'AIGIS_SKILL_SCHEMA_INVALID', plugin: 'refs', skill: 'echo', message: /refs\.echo.*body schema.*#\/definitions\/nowhere/ })
  }
  t.equal((await server.call('/skills/refs/fine', { method: 'POST' })).body, 'fine', 'the plugin\'s other skills work')
})

t.test('SCHEMAS keys that match no skill and unknown keys in an entry are warned about; the plugin loads', async (t) => {
  const server = await startServer(t, {
    config: '[core]\ntypo = "plugins/typo"\n',
    files: corePlugin('plugins/typo', `
      export const SKILLS = ['greet']
      export const greet = (input: unknown) => input
      export const SCHEMAS = { greet: { bdy: { type: 'object' } }, gret: { body: { type: 'object' } } }
    `)
  })
  t.equal((await server.call('/plugins/typo')).body.state, 'running')
  const warns = server.app.aigis.hub.tail(1000, { plugins: new Set(['typo']) }).filter((r) => r.level === 'warn')
  t.match(warns, [
    { plugin: 'typo', msg: /SCHEMAS "greet" has an unknown key "bdy" \(did you mean "body"\?\)/ },
    { plugin: 'typo', msg: /SCHEMAS has "gret", which is not in SKILLS \(did you mean "greet"\?\)/ }
  ])
  t.equal(warns.length, 2, 'one record a key')
})

t.test('string formats in a body schema are enforced (format: email)', async (t) => {
  const server = await startServer(t, {
    config: '[core]\nmail = "plugins/mail"\n',
    files: corePlugin('plugins/mail', `
      import { Type } from 'typebox'
      export const SKILLS = ['send']
      export const send = (input: { to: string }) => 'sent to ' + input.to
      export const SCHEMAS = { send: { body: Type.Object({ to: Type.String({ format: 'email' }), at: Type.Optional(Type.String({ format: 'date-time' })) }) } }
    `)
  })
  const bad = await server.call('/skills/mail/send', { method: 'POST', json: { to: 'not an address' } })
  t.equal(bad.status, 400)
  t.match(bad.body, { code: 'AIGIS_INVALID_SKILL_INPUT', message: /body\/to must match format "email"/ })
  t.equal((await server.call('/skills/mail/send', { method: 'POST', json: { to: 'ada@example.com', at: 'yesterday' } })).status, 400, 'date-time too')
  const good = await server.call('/skills/mail/send', { method: 'POST', json: { to: 'ada@example.com', at: '2024-05-01T12:00:00Z' } })
  t.equal(good.status, 200)
  t.equal(good.body, 'sent to ada@example.com')
})

import { readFileSync } from 'node:fs'
import SwaggerParser from '@apidevtools/swagger-parser'
import t from 'tap'
import { generateOpenapi, OPENAPI_FILE, sortKeys } from '../scripts/openapi.js'
import { corePlugin, startServer } from './helper.js'

// openapi/openapi.json is generated (npm run openapi), never hand-edited:
// regenerate it here and fail on any difference; and both it and a served
// document with all kinds of skill schemas are valid OpenAPI 3.

t.test('the committed openapi/openapi.json is up to date', async (t) => {
  const committed = readFileSync(OPENAPI_FILE, 'utf8')
  const fresh = await generateOpenapi()
  t.equal(committed, fresh, 'openapi/openapi.json is stale: run `npm run openapi` and commit the result')
  t.equal(await generateOpenapi(), fresh, 'generating twice gives the same text')
})

t.test('the committed document is valid OpenAPI 3 and documents every route and the example skills', async (t) => {
  const doc = JSON.parse(readFileSync(OPENAPI_FILE, 'utf8'))
  await SwaggerParser.validate(structuredClone(doc))
  t.match(doc.openapi, /^3\./)
  for (const path of ['/health', '/ready', '/metrics', '/skills', '/plugins', '/plugins/{name}', '/plugins/{name}/logs', '/skills/example/greet', '/skills/example/math.add']) {
    t.ok(doc.paths[path], path)
  }
  t.equal(doc.paths['/skills/example/greet'].post.description, 'Say hello to someone')
  const logs = doc.paths['/plugins/{name}/logs'].get
  t.match(logs.parameters.find((p: { name: string }) => p.name === 'lines'), { required: false, schema: { default: 100 } }, 'lines is optional, 100 by default')
  t.ok(logs.responses[400], 'and a bad one is a documented 400')
  t.same(doc.security, [{ bearerAuth: [] }])
  t.equal(doc.info.version, JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version, 'the package version')
  t.notMatch(JSON.stringify(doc), /127\.0\.0\.1|localhost|\/tmp\/|aigis-openapi-/, 'no address or temp path in the document')
})

t.test('a served document with every kind of skill schema validates', async (t) => {
  const server = await startServer(t, {
    config: '[core]\nkinds = "plugins/kinds"\n',
    files: corePlugin('plugins/kinds', `
      import { Type } from 'typebox'
      export const SKILLS = ['plain', 'typed', 'nested.deep.skill', 'CONSTANT', 'union', 'refs']
      export function refs (input: unknown) { return input }
      export function plain (input: unknown) { return input }
      export function typed (input: { name: string }) { return { hello: input.name } }
      export const nested = { deep: { skill: () => 1 } }
      export const CONSTANT = { a: [1, 2] }
      export function union (input: unknown) { return input }
      export const SCHEMAS = {
        typed: {
          description: 'Typed',
          body: Type.Object({ name: Type.String({ minLength: 1 }), tags: Type.Optional(Type.Array(Type.String())) }),
          response: Type.Object({ hello: Type.String() })
        },
        union: { body: Type.Union([Type.Object({ a: Type.Number() }), Type.Object({ b: Type.String() })]), response: Type.Union([Type.Null(), Type.Number()]) },
        CONSTANT: { response: Type.Object({ a: Type.Array(Type.Integer()) }) },
        // Self-contained schemas with local references, a recursive one too.
        refs: {
          body: { type: 'object', $defs: { X: { type: 'string' } }, properties: { a: { $ref: '#/$defs/X' } }, required: ['a'] },
          response: { type: 'object', properties: { child: { $ref: '#' } } }
        }
      }
    `)
  })
  const doc = (await server.call('/openapi.json')).body
  await SwaggerParser.validate(structuredClone(doc))
  for (const id of ['plain', 'typed', 'nested.deep.skill', 'CONSTANT', 'union', 'refs']) t.ok(doc.paths[`/skills/kinds/${id}`]?.post, id)
  const refs = doc.paths['/skills/kinds/refs'].post
  t.equal(refs.requestBody.content['application/json'].schema.properties.a.$ref, '#/paths/~1skills~1kinds~1refs/post/requestBody/content/application~1json/schema/$defs/X', 'a local $ref points where the schema is')
  t.equal(refs.responses[200].content['application/json'].schema.properties.child.$ref, '#/paths/~1skills~1kinds~1refs/post/responses/200/content/application~1json/schema')
  t.equal((await server.call('/skills/kinds/refs', { method: 'POST', json: { a: 1 } })).status, 400, 'the skill still validates with its own references')
})

t.test('sortKeys sorts object keys at every depth and keeps array order', async (t) => {
  t.equal(JSON.stringify(sortKeys({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: null } })), '{"a":{"c":null,"d":[3,{"y":2,"z":1}]},"b":1}')
})

import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyReply } from 'fastify'
import { Type } from 'typebox'
import type { Skill } from '../src/skills/registry.js'
import { errorMessage, SkillResultInvalid } from '../src/errors.js'
import { tag } from '../src/skills/service.js'

const JSON_TYPE = 'application/json; charset=utf-8'

function skillInfo (skill: Skill): Record<string, unknown> {
  const { summary: _summary, description: _description, ...schema } = skill.schema
  return {
    id: skill.id,
    plugin: skill.plugin,
    name: skill.name,
    kind: skill.kind,
    description: skill.description ?? null,
    schema,
    path: skill.path
  }
}

function isPromise (value: unknown): value is Promise<unknown> {
  return value instanceof Promise
}

/** Sends a skill's result: JSON, or 204 for undefined. */
function answer (reply: FastifyReply, skill: Skill, result: unknown): void {
  if (result === undefined) return void reply.status(204).send()
  let body: string
  try {
    body = JSON.stringify(result)
  } catch (err) { // BigInt, a cycle, a throwing toJSON; the error handler logs it
    return void reply.send(tag(new SkillResultInvalid(skill.id, errorMessage(err)), skill.plugin, skill.name))
  }
  reply.type(JSON_TYPE).send(body)
}

/** An AbortSignal that fires when the client goes away before it got the answer. */
function clientGone (reply: FastifyReply): AbortSignal {
  const controller = new AbortController()
  reply.raw.once('close', () => {
    if (!reply.raw.writableFinished) controller.abort(new Error('the client closed the connection'))
  })
  return controller.signal
}

/**
 * Skills. Every skill is documented as its own POST path (see openapi.ts);
 * one wildcard route serves them all, because skills come and go at runtime
 * and Fastify cannot add routes after it started.
 */
const skills: FastifyPluginAsyncTypebox = async (app) => {
  const { skills: registry, service } = app.aigis

  app.get('/skills', {
    schema: {
      tags: ['skills'],
      summary: 'Every registered skill',
      response: { 200: Type.Array(Type.Ref('SkillInfo')) }
    }
  }, async () => registry.list().map(skillInfo))

  // No params schema: the router already gives both as strings, and
  // validating them again would cost every call.
  app.post<{ Params: { plugin: string, '*': string } }>('/skills/:plugin/*', {
    schema: { hide: true }
  }, (request, reply) => {
    // Not an async handler: a skill that answers synchronously is sent at
    // once, without the promise and microtask turns an async function costs.
    const { plugin, '*': name } = request.params
    const skill = service.find(plugin, name)
    const result = service.invoke(skill, request.body, () => clientGone(reply))
    if (isPromise(result)) result.then((value) => answer(reply, skill, value), (err: unknown) => reply.send(err))
    else answer(reply, skill, result)
  })
}

export default skills

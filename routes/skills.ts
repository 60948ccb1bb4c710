import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyReply } from 'fastify'
import { Type } from 'typebox'
import type { Skill } from '../src/skills/registry.js'

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

  app.post('/skills/:plugin/*', {
    schema: {
      hide: true,
      params: Type.Object({ plugin: Type.String(), '*': Type.String() })
    }
  }, async (request, reply) => {
    const { plugin, '*': name } = request.params
    const skill = service.find(plugin, name)
    const result = await service.invoke(skill, request.body, () => clientGone(reply))
    if (result === undefined) return await reply.status(204).send()
    return await reply.type(JSON_TYPE).send(JSON.stringify(result))
  })
}

export default skills

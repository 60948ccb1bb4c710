import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyReply } from 'fastify'
import { Type } from 'typebox'
import { SKILL_ROUTE, type Skill } from '../src/skills/registry.js'
import { errorMessage, SkillResultInvalid } from '../src/errors.js'
import { statusOf } from '../src/error-handler.js'
import type { SkillCallMetrics } from '../src/skill-call-metrics.js'
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

function secondsSince (started: number): number {
  return (performance.now() - started) / 1000
}

/** Sends a skill's result, JSON or 204 for undefined, and records the call. */
function answer (reply: FastifyReply, skill: Skill, result: unknown, started: number, calls: SkillCallMetrics): void {
  const seconds = secondsSince(started)
  if (result === undefined) {
    calls.record(skill, 204, seconds)
    return void reply.status(204).send()
  }
  let body: string
  try {
    body = JSON.stringify(result)
  } catch (err) { // BigInt, a cycle, a throwing toJSON; the error handler logs it
    calls.observe(skill, seconds)
    return void reply.send(tag(new SkillResultInvalid(skill.id, errorMessage(err)), skill.plugin, skill.name))
  }
  calls.record(skill, 200, seconds)
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
  const calls = app.metrics.skillCalls

  app.get('/skills', {
    schema: {
      tags: ['skills'],
      summary: 'Every registered skill',
      response: { 200: Type.Array(Type.Ref('SkillInfo')) }
    }
  }, async () => registry.list().map(skillInfo))

  // No params schema: the router already gives both as strings, and
  // validating them again would cost every call. A failed call is counted
  // when it is answered (onError), with its status; so is one refused before
  // the skill ran (bad JSON, too large). Unknown skills are not counted.
  app.post<{ Params: { plugin: string, '*': string } }>(SKILL_ROUTE, {
    schema: { hide: true },
    onError: (request, _reply, err, done) => {
      const skill = registry.get(request.params.plugin, request.params['*'])
      if (skill !== undefined) calls.count(skill, statusOf(err))
      else calls.countKnown(`${request.params.plugin}.${request.params['*']}`, statusOf(err))
      done()
    }
  }, (request, reply) => {
    // Not an async handler: a skill that answers synchronously is sent at
    // once, without the promise and microtask turns an async function costs.
    const started = performance.now()
    const { plugin, '*': name } = request.params
    const skill = service.find(plugin, name)
    let result: unknown
    try {
      result = service.invoke(skill, request.body, () => clientGone(reply))
    } catch (err) {
      calls.observe(skill, secondsSince(started))
      throw err
    }
    if (isPromise(result)) {
      result.then((value) => answer(reply, skill, value, started, calls), (err: unknown) => {
        calls.observe(skill, secondsSince(started))
        reply.send(err)
      })
    } else answer(reply, skill, result, started, calls)
  })
}

export default skills

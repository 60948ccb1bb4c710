import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { ErrorRef, PluginNameParams } from '../src/schemas/common.js'
import { AddPluginBody, DEFAULT_LOG_LINES, PluginLogsQuery, PluginStatusRef } from '../src/schemas/plugins.js'
import { SkillValidator } from '../src/skills/validator.js'

const ACTIONS = ['start', 'stop', 'restart', 'reload'] as const

const ACTION_SUMMARY: Record<typeof ACTIONS[number], string> = {
  start: 'Start a stopped plugin (a failed one is loaded again from its source)',
  stop: 'Stop a plugin: unregister its skills and stop its process group',
  restart: 'Stop, then start a plugin',
  reload: 'Refresh the plugin\'s source, re-read its config and start it anew'
}

/** Plugin lifecycle: list, inspect, start/stop/restart/reload, add and remove at runtime. */
const plugins: FastifyPluginAsyncTypebox = async (app) => {
  const { plugins: manager, hub } = app.aigis
  // Bodies are taken as sent, as skill bodies are: Fastify's own validation coerces (`{"name": 5}` made a plugin "5").
  const strict = new SkillValidator()

  app.get('/plugins', {
    schema: {
      tags: ['plugins'],
      summary: 'Every plugin and its state',
      response: { 200: Type.Array(PluginStatusRef) }
    }
  }, async () => manager.list())

  app.get('/plugins/:name', {
    schema: {
      tags: ['plugins'],
      summary: 'One plugin and its state',
      params: PluginNameParams,
      response: { 200: PluginStatusRef, 404: ErrorRef }
    }
  }, async (request) => manager.status(request.params.name))

  for (const action of ACTIONS) {
    app.post(`/plugins/:name/${action}`, {
      schema: {
        tags: ['plugins'],
        summary: ACTION_SUMMARY[action],
        params: PluginNameParams,
        response: { 200: PluginStatusRef, 404: ErrorRef, 409: ErrorRef }
      }
    }, async (request) => await manager[action](request.params.name))
  }

  app.post('/plugins', {
    schema: {
      tags: ['plugins'],
      summary: 'Add and load a plugin at runtime',
      body: AddPluginBody,
      response: { 201: PluginStatusRef, 400: ErrorRef, 409: ErrorRef }
    },
    validatorCompiler: ({ schema }) => strict.compile(schema as Record<string, unknown>)
  }, async (request, reply) => {
    const { name, source, type } = request.body
    return await reply.status(201).send(await manager.add(name, source, type))
  })

  app.delete('/plugins/:name', {
    schema: {
      tags: ['plugins'],
      summary: 'Stop and remove a plugin',
      params: PluginNameParams,
      response: { 204: Type.Null(), 404: ErrorRef }
    }
  }, async (request, reply) => {
    await manager.remove(request.params.name)
    return await reply.status(204).send(null)
  })

  app.get('/plugins/:name/logs', {
    schema: {
      tags: ['plugins', 'logs'],
      summary: 'The plugin\'s last log records, oldest first',
      params: PluginNameParams,
      querystring: PluginLogsQuery,
      response: { 200: Type.Array(Type.Object({}, { additionalProperties: true })), 400: ErrorRef, 404: ErrorRef }
    }
  }, async (request, reply) => {
    const { name } = request.params
    manager.status(name) // 404 for an unknown plugin
    // The records' own JSON, joined (Fastify sends a string as it is; the cast is for the type provider, which knows only the schema): 10,000 of them parsed and serialized again held the event loop ~100 ms a request.
    const records = hub.tailJson(request.query.lines ?? DEFAULT_LOG_LINES, { plugins: new Set([name]) })
    return await reply.type('application/json; charset=utf-8').send(`[${records.join(',')}]` as unknown as object[])
  })
}

export default plugins

import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'

const StatusSchema = Type.Object({ status: Type.String() })

/** Liveness and readiness, for probes and load balancers. */
const health: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/health', {
    schema: {
      tags: ['health'],
      summary: 'Liveness: 200 while the server runs',
      response: { 200: StatusSchema }
    }
  }, async () => ({ status: 'ok' }))

  app.get('/ready', {
    schema: {
      tags: ['health'],
      summary: 'Readiness: 200 once every configured plugin has been tried, 503 before',
      response: { 200: StatusSchema, 503: StatusSchema }
    }
  }, async (_request, reply) => {
    if (app.aigis.plugins.ready) return { status: 'ready' }
    return await reply.status(503).send({ status: 'loading' })
  })
}

export default health

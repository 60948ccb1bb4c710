import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'

/** Prometheus scrape endpoint; the series are defined in src/metrics.ts. */
const metrics: FastifyPluginAsyncTypebox = async (app) => {
  const { registry } = app.metrics

  app.get('/metrics', {
    schema: {
      tags: ['health'],
      summary: 'Prometheus metrics: skill calls, errors and durations; plugin states and restarts; log records; SSE clients; process',
      response: {
        200: {
          description: 'Prometheus text exposition format',
          content: { 'text/plain': { schema: { type: 'string' } } }
        }
      }
    }
  }, async (_request, reply) => {
    const text = await registry.metrics()
    return await reply.type(registry.contentType).send(text)
  })
}

export default metrics

import fp from 'fastify-plugin'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import type { FastifyInstance } from 'fastify'
import { withSkills } from './openapi.js'
import { isPublicRoute } from './auth.js'
import { packageVersion } from './version.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** The OpenAPI document as served now: routes plus one path per skill. */
    openapiDocument: () => Record<string, any>
  }
}

/**
 * OpenAPI and Swagger UI. @fastify/swagger documents the fixed routes; the
 * skills, which come and go at runtime, are merged in on every read and
 * cached until the skill registry changes.
 */
async function openapi (app: FastifyInstance): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'aigis',
        description: 'Run, call and watch many independent programs from one place. Every skill is a POST /skills/{plugin}/{skill}.',
        version: packageVersion
      },
      tags: [
        { name: 'skills', description: 'Skills and calling them' },
        { name: 'plugins', description: 'Plugin lifecycle' },
        { name: 'logs', description: 'The aggregated log' },
        { name: 'health', description: 'Liveness, readiness and metrics' }
      ],
      components: {
        securitySchemes: {
          bearerAuth: { type: 'http', scheme: 'bearer', description: 'The admin token (AIGIS_TOKEN) or a plugin\'s own token; needed only when the server runs with AIGIS_TOKEN set.' }
        }
      },
      // Every operation needs the token (skills included); public routes opt out below.
      security: [{ bearerAuth: [] }]
    },
    transform: ({ schema, url }) => ({ schema: isPublicRoute(url) ? { ...schema, security: [] } as typeof schema : schema, url }),
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => String(json.$id ?? `def-${i}`) }
  })

  const { skills } = app.aigis
  let cached: { version: number, document: Record<string, any> } | undefined
  app.decorate('openapiDocument', () => {
    if (cached?.version !== skills.version) {
      cached = { version: skills.version, document: withSkills(app.swagger() as Record<string, any>, skills.list()) }
    }
    return cached.document
  })

  await app.register(swaggerUi, {
    routePrefix: '/docs',
    uiConfig: { persistAuthorization: true, tryItOutEnabled: false },
    transformSpecification: () => app.openapiDocument(),
    transformSpecificationClone: false
  })

  app.get('/openapi.json', { schema: { hide: true } }, async () => app.openapiDocument())
}

export default fp(openapi, { name: 'aigis-openapi', dependencies: [] })

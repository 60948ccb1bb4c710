import { STATUS_CODES } from 'node:http'
import type { Duplex } from 'node:stream'
import fp from 'fastify-plugin'
import type { FastifyError, FastifyInstance } from 'fastify'

// Fastify's own error codes, renamed into the AIGIS_* family clients match on.
const FASTIFY_CODES: Record<string, string> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'AIGIS_BODY_TOO_LARGE',
  FST_ERR_CTP_INVALID_JSON_BODY: 'AIGIS_INVALID_JSON',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'AIGIS_INVALID_JSON',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'AIGIS_UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'AIGIS_INVALID_REQUEST',
  FST_ERR_VALIDATION: 'AIGIS_INVALID_REQUEST',
  FST_ERR_BAD_URL: 'AIGIS_INVALID_REQUEST',
  FST_ERR_ASYNC_CONSTRAINT: 'AIGIS_INVALID_REQUEST'
}

type AigisError = FastifyError & { plugin?: string, skill?: string }

function codeFor (err: AigisError, statusCode: number): string {
  if (typeof err.code === 'string' && err.code.startsWith('AIGIS_')) return err.code
  if (typeof err.code === 'string' && FASTIFY_CODES[err.code] !== undefined) return FASTIFY_CODES[err.code]
  if (err.validation !== undefined) return 'AIGIS_INVALID_REQUEST'
  if (statusCode >= 500) return 'AIGIS_INTERNAL_ERROR'
  return typeof err.code === 'string' && /^[A-Z0-9_]+$/.test(err.code) ? err.code : 'AIGIS_BAD_REQUEST'
}

/** The status an error is answered with: its own 4xx/5xx `statusCode`, else 500. */
export function statusOf (err: { statusCode?: number }): number {
  return err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500
}

/**
 * One root error handler: every error becomes `{ statusCode, error, message,
 * code, plugin?, skill? }`. 4xx messages are shown as they are; a 5xx that is
 * not a skill's own failure is logged and its message hidden.
 */
async function errorHandling (app: FastifyInstance): Promise<void> {
  app.setErrorHandler((err: AigisError, request, reply) => {
    const statusCode = statusOf(err)
    const code = codeFor(err, statusCode)
    const shown = statusCode < 500 || code.startsWith('AIGIS_SKILL_') || code === 'AIGIS_SKILL_FAILED'
    if (statusCode >= 500 && code !== 'AIGIS_SKILL_FAILED') {
      app.aigis.logger.error({ err, url: request.url }, `request failed: ${err.message}`)
    }
    const body: Record<string, unknown> = {
      statusCode,
      error: STATUS_CODES[statusCode] ?? 'Error',
      message: shown ? err.message : 'Internal Server Error',
      code
    }
    if (err.plugin !== undefined) body.plugin = err.plugin
    if (err.skill !== undefined) body.skill = err.skill
    void reply.status(statusCode).send(body)
  })

  // Node hands a CONNECT (a proxy tunnel) to a 'connect' listener, never to the routes; with none it drops the connection unanswered.
  app.server.on('connect', (request: { url?: string }, socket: Duplex) => {
    const body = JSON.stringify({
      statusCode: 405,
      error: 'Method Not Allowed',
      message: `CONNECT ${request.url ?? ''} not allowed: aigis is not a proxy`,
      code: 'AIGIS_METHOD_NOT_ALLOWED'
    })
    socket.end(`HTTP/1.1 405 Method Not Allowed\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`)
  })

  app.setNotFoundHandler((request, reply) => {
    void reply.status(404).send({
      statusCode: 404,
      error: 'Not Found',
      message: `Route ${request.method} ${request.url.split('?')[0]} not found`,
      code: 'AIGIS_ROUTE_NOT_FOUND'
    })
  })
}

export default fp(errorHandling, { name: 'aigis-errors' })

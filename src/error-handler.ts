import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http'
import type { Duplex } from 'node:stream'
import fp from 'fastify-plugin'
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest, FastifySchemaValidationError } from 'fastify'
import { ExpectationFailed, HeadersTooLarge, MissingHost, RequestTimeout } from './errors.js'
import { SKILL_ROUTE } from './skills/registry.js'
import { errorMessage } from './skills/validator.js'

// Fastify's own error codes, renamed into the AIGIS_* family clients match on.
const FASTIFY_CODES: Record<string, string> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'AIGIS_BODY_TOO_LARGE',
  FST_ERR_CTP_INVALID_JSON_BODY: 'AIGIS_INVALID_JSON',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'AIGIS_INVALID_JSON',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'AIGIS_UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'AIGIS_INVALID_REQUEST',
  FST_ERR_VALIDATION: 'AIGIS_INVALID_REQUEST',
  FST_ERR_BAD_URL: 'AIGIS_INVALID_REQUEST',
  FST_ERR_MAX_PARAM_LENGTH: 'AIGIS_INVALID_REQUEST'
}

type AigisError = FastifyError & { plugin?: string, skill?: string }

function codeFor (err: AigisError, statusCode: number): string {
  if (typeof err.code === 'string' && err.code.startsWith('AIGIS_')) return err.code
  if (typeof err.code === 'string' && FASTIFY_CODES[err.code] !== undefined) return FASTIFY_CODES[err.code]
  if (err.validation !== undefined) return 'AIGIS_INVALID_REQUEST'
  if (statusCode >= 500) return 'AIGIS_INTERNAL_ERROR'
  if (typeof err.code === 'string' && err.code.startsWith('FST_')) return 'AIGIS_INVALID_REQUEST' // none of Fastify's own codes leaks
  return typeof err.code === 'string' && /^[A-Z0-9_]+$/.test(err.code) ? err.code : 'AIGIS_BAD_REQUEST'
}

/** The status an error is answered with: its own 4xx/5xx `statusCode`, else 500. */
export function statusOf (err: { statusCode?: number }): number {
  return err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500
}

/**
 * What an error says, made actionable where Fastify's own text is not: a
 * body of a type no parser takes (curl's `-d` without a Content-Type sends a
 * form) names the type and what to send instead.
 */
function messageOf (err: AigisError, request: FastifyRequest): string {
  if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
    const type = String(request.headers['content-type'] ?? '').split(';')[0].trim().slice(0, 100)
    return `Unsupported Media Type: ${type === '' ? 'a body without Content-Type' : type}. Send JSON with Content-Type: application/json (curl: -H 'Content-Type: application/json')`
  }
  return err.message
}

/** Answers any error as `{ statusCode, error, message, code, plugin?, skill? }`; logs a 5xx that is not a skill's own failure. */
function sendError (err: AigisError, request: FastifyRequest, reply: FastifyReply): void {
  const statusCode = statusOf(err)
  const code = codeFor(err, statusCode)
  const shown = statusCode < 500 || code.startsWith('AIGIS_SKILL_') || code === 'AIGIS_SKILL_FAILED'
  if (statusCode >= 500 && code !== 'AIGIS_SKILL_FAILED') {
    request.server.aigis.logger.error({ err, url: request.url }, `request failed: ${err.message}`)
  }
  const body: Record<string, unknown> = {
    statusCode,
    error: STATUS_CODES[statusCode] ?? 'Error',
    message: shown ? messageOf(err, request) : 'Internal Server Error',
    code
  }
  // A call refused before its skill was looked up (a body too large, not JSON) still names the skill it was for.
  const called = request.routeOptions.url === SKILL_ROUTE ? request.params as { plugin?: string, '*'?: string } : undefined
  const plugin = err.plugin ?? called?.plugin
  const skill = err.skill ?? called?.['*']
  if (plugin !== undefined) body.plugin = plugin
  if (skill !== undefined && skill !== '') body.skill = skill
  void reply.status(statusCode).send(body)
}

/**
 * Fastify's `frameworkErrors` option: what the router refuses before any
 * route or hook runs (a URL that does not decode, a path parameter over
 * `maxParamLength`, a failing async constraint) would otherwise be answered
 * in Fastify's own shape, bypassing the error handler.
 */
export function frameworkErrors (err: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  sendError(err, request, reply)
}

/**
 * Fastify's `clientErrorHandler` option: a request Node's HTTP parser
 * refuses (malformed, headers too large, too slow) never becomes a request,
 * so it is answered on the socket, which is then closed. As Node does, an
 * answer is written only when no response is under way on the connection.
 */
export function clientErrorHandler (err: NodeJS.ErrnoException, socket: Duplex): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return
  const known = err.code === 'HPE_HEADER_OVERFLOW' ? new HeadersTooLarge() : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? new RequestTimeout() : undefined
  const inFlight = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage
  if (socket.writable && inFlight?.headersSent !== true) {
    socket.write(rawResponse(known?.statusCode ?? 400, known?.message ?? `Malformed HTTP request${err.code !== undefined ? ` (${err.code})` : ''}`, known?.code ?? 'AIGIS_INVALID_REQUEST'))
  }
  socket.destroy(err)
}

/** The body of an error answered outside Fastify (Node's own events), in the shape the error handler sends. */
function errorBody (statusCode: number, message: string, code: string): string {
  return JSON.stringify({ statusCode, error: STATUS_CODES[statusCode] ?? 'Error', message, code })
}

/** A whole HTTP response with that body, for a socket no request owns; the connection closes after it. */
function rawResponse (statusCode: number, message: string, code: string): string {
  const body = errorBody(statusCode, message, code)
  return `HTTP/1.1 ${statusCode} ${STATUS_CODES[statusCode] ?? ''}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`
}

/** Fastify's `schemaErrorFormatter` option: its default text (`querystring/level must ...`), with enum errors that list the allowed values. */
export function schemaErrorFormatter (errors: FastifySchemaValidationError[], dataVar: string): Error {
  return new Error(errors.map((e) => `${dataVar}${e.instancePath ?? ''} ${errorMessage(e)}`).join(', '))
}

/**
 * One root error handler: every error becomes `{ statusCode, error, message,
 * code, plugin?, skill? }`. 4xx messages are shown as they are; a 5xx that is
 * not a skill's own failure is logged and its message hidden. What Fastify
 * and Node answer outside it goes through `frameworkErrors` and
 * `clientErrorHandler` above (options of the Fastify factory, see app.ts).
 */
async function errorHandling (app: FastifyInstance): Promise<void> {
  app.setErrorHandler((err: AigisError, request, reply) => { sendError(err, request, reply) })

  // Node hands a CONNECT (a proxy tunnel) to a 'connect' listener, never to the routes; with none it drops the connection unanswered.
  app.server.on('connect', (request: { url?: string }, socket: Duplex) => {
    socket.end(rawResponse(405, `CONNECT ${request.url ?? ''} not allowed: aigis is not a proxy`, 'AIGIS_METHOD_NOT_ALLOWED'))
  })

  // Node answers an Expect other than 100-continue itself (417, empty body) unless someone listens.
  app.server.on('checkExpectation', (request: IncomingMessage, response: ServerResponse) => {
    const err = new ExpectationFailed(String(request.headers.expect).slice(0, 100))
    const body = errorBody(417, err.message, err.code)
    response.writeHead(417, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(body) })
    response.end(body)
  })

  // HTTP/1.1 requires a Host header; Node's own check is off (app.ts) so that the refusal comes in the aigis shape.
  // A callback hook, not an async one: it runs on every request, skill calls included, and costs no promise.
  app.addHook('onRequest', (request, _reply, done) => {
    done(request.raw.httpVersion === '1.1' && request.headers.host === undefined ? new MissingHost() : undefined)
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

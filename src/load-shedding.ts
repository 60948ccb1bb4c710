import { getHeapStatistics } from 'node:v8'
import createError from '@fastify/error'
import underPressure, { type FastifyUnderPressureOptions as UnderPressureOptions } from '@fastify/under-pressure'
import fp from 'fastify-plugin'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'

// Refusing work the server cannot do well, with a 503 a client can retry,
// instead of answering late or falling over:
// - under pressure (@fastify/under-pressure samples event-loop delay and
//   utilization, heap and RSS; any limit above 0 is checked). By default only
//   the heap is watched (90% of V8's limit: 503s instead of dying out of
//   memory). Event-loop delay is opt-in: a core plugin's import or a reload
//   blocks the loop for a moment by design, and a default limit would shed
//   the requests right after it.
// - while draining for shutdown (`app.drain()`): /ready turns 503 at once so
//   load balancers move away, new calls are refused, in-flight ones finish.
// /health and /metrics are never shed: a liveness probe that fails under load
// would make an orchestrator kill a server that is merely busy, and metrics
// are how an operator sees the pressure.

export interface LoadSheddingOptions {
  /** Milliseconds of mean event-loop delay above which requests are shed; 0 = off (the default). */
  maxEventLoopDelay?: number
  /** Heap bytes in use above which requests are shed; 0 = off; default 90% of V8's heap limit. */
  maxHeapUsedBytes?: number
  /** Resident set bytes above which requests are shed; 0 = off. */
  maxRssBytes?: number
  /** Event-loop utilization (0..1) above which requests are shed; 0 = off. */
  maxEventLoopUtilization?: number
  /** Milliseconds between samples (default 1000). */
  sampleInterval?: number
  /** Seconds sent in Retry-After with a 503 (default 10). */
  retryAfter?: number
}

export const Overloaded = createError('AIGIS_OVERLOADED', 'The server is under pressure (%s); retry later.', 503)
export const ShuttingDown = createError('AIGIS_SHUTTING_DOWN', 'The server is shutting down; retry on another instance.', 503)

declare module 'fastify' {
  interface FastifyInstance {
    /**
     * Starts draining: /ready answers 503, new requests (but /health and
     * /metrics) get 503, and the promise resolves once in-flight requests
     * that change something (every method but GET/HEAD) are done, or after
     * `timeoutMs`. Resolves true when nothing was left in flight.
     */
    drain: (timeoutMs: number) => Promise<boolean>
    /** True once `drain()` was called. */
    readonly draining: boolean
  }
}

/** Routes that answer even when everything else is shed. */
const NEVER_SHED = new Set(['/health', '/metrics'])
const READY = '/ready'
const WARN_EVERY_MS = 10_000
/** Share of V8's heap limit above which requests are shed by default: answer 503 rather than die out of memory. */
const HEAP_SHARE = 0.9

async function loadShedding (app: FastifyInstance, options: LoadSheddingOptions): Promise<void> {
  const retryAfter = options.retryAfter ?? 10
  let draining = false
  let inFlight = 0
  let settled: (() => void) | undefined
  let lastWarning = 0

  await app.register(underPressure, {
    maxEventLoopDelay: options.maxEventLoopDelay ?? 0,
    maxHeapUsedBytes: options.maxHeapUsedBytes ?? Math.round(HEAP_SHARE * getHeapStatistics().heap_size_limit),
    maxRssBytes: options.maxRssBytes ?? 0,
    maxEventLoopUtilization: options.maxEventLoopUtilization ?? 0,
    sampleInterval: options.sampleInterval,
    retryAfter,
    // Returning nothing lets the request through; any other value is sent as
    // the answer (documented in its README; its types only allow void).
    pressureHandler: ((request: FastifyRequest, reply: FastifyReply, type: string, value: number | undefined) => {
      const url = request.routeOptions.url ?? ''
      if (NEVER_SHED.has(url)) return undefined
      const now = Date.now()
      if (now - lastWarning > WARN_EVERY_MS) {
        lastWarning = now
        app.log.warn({ type, value }, `under pressure (${type}): answering 503 to new requests`)
      }
      return refusal(reply, url, new Overloaded(type), 'overloaded')
    }) as unknown as UnderPressureOptions['pressureHandler']
  })

  /**
   * Answers 503 without the root error handler, which would log every shed
   * request as an error: exactly what a server under pressure must not do.
   */
  function refusal (reply: FastifyReply, url: string, err: { message: string, code: string }, status: string): Record<string, unknown> {
    void reply.code(503).header('retry-after', retryAfter)
    if (url === READY) return { status }
    return { statusCode: 503, error: 'Service Unavailable', message: err.message, code: err.code }
  }

  const finished = (): void => {
    inFlight--
    if (inFlight === 0 && settled !== undefined) settled()
  }

  app.addHook('onRequest', (request, reply, done) => {
    if (draining) {
      const url = request.routeOptions.url ?? ''
      if (!NEVER_SHED.has(url)) {
        void reply.header('connection', 'close')
        return void reply.send(refusal(reply, url, new ShuttingDown(), 'draining'))
      }
    }
    // Reads (and SSE streams) are not waited for; a call or a lifecycle change is.
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      inFlight++
      reply.raw.once('close', finished)
    }
    done()
  })

  app.decorate('draining', { getter: () => draining })
  app.decorate('drain', async (timeoutMs: number): Promise<boolean> => {
    draining = true
    if (inFlight === 0) return true
    let timer: NodeJS.Timeout | undefined
    const done = await Promise.race([
      new Promise<true>((resolve) => { settled = () => resolve(true) }),
      new Promise<false>((resolve) => { timer = setTimeout(() => resolve(false), timeoutMs) })
    ])
    clearTimeout(timer)
    settled = undefined
    return done
  })
}

export default fp(loadShedding, { name: 'aigis-load-shedding', dependencies: ['aigis-errors'] })

import { getHeapStatistics } from 'node:v8'
import createError from '@fastify/error'
import underPressure from '@fastify/under-pressure'
import fp from 'fastify-plugin'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { SKILL_ROUTE } from './skills/registry.js'

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
     * that change something (every method but GET/HEAD) and skill calls are
     * done, or after `timeoutMs`. Resolves true when nothing was left in flight.
     */
    drain: (timeoutMs: number) => Promise<boolean>
    /** True once `drain()` was called. */
    readonly draining: boolean
  }
}

/** Routes that answer even when everything else is shed. */
const NEVER_SHED = new Set(['/health', '/metrics'])
const READY = '/ready'
/** under-pressure's sample, and how a value over its limit is named in messages. */
interface Sample { eventLoopDelay: number, heapUsed: number, rssBytes: number, eventLoopUtilized: number }
const NAMES: Record<keyof Sample, string> = { eventLoopDelay: 'eventLoopDelay', heapUsed: 'heapUsedBytes', rssBytes: 'rssBytes', eventLoopUtilized: 'eventLoopUtilization' }
/** Share of V8's heap limit above which requests are shed by default: answer 503 rather than die out of memory. */
const HEAP_SHARE = 0.9

async function loadShedding (app: FastifyInstance, options: LoadSheddingOptions): Promise<void> {
  const retryAfter = options.retryAfter ?? 10
  const limits: Array<[keyof Sample, number]> = [
    ['eventLoopDelay', options.maxEventLoopDelay ?? 0],
    ['heapUsed', options.maxHeapUsedBytes ?? Math.round(HEAP_SHARE * getHeapStatistics().heap_size_limit)],
    ['rssBytes', options.maxRssBytes ?? 0],
    ['eventLoopUtilized', options.maxEventLoopUtilization ?? 0]
  ]
  const checked = limits.filter(([, limit]) => limit > 0)
  let draining = false
  /** What the last sample found over its limit, if anything. */
  let pressure: string | undefined
  // The answers, made once: a server under pressure must not build an Error (and its stack) a request.
  const answer = (err: { message: string, code: string }): Record<string, unknown> => ({ statusCode: 503, error: 'Service Unavailable', message: err.message, code: err.code })
  const shuttingDown = answer(new ShuttingDown())
  let overloaded = answer(new Overloaded('unknown'))
  let inFlight = 0
  let settled: (() => void) | undefined

  // under-pressure measures (event-loop delay histogram, utilization, memory)
  // and exposes the last sample as app.memoryUsage(). Its limits are left
  // unset: its own hook reads request.routeOptions, which builds an object a
  // request; the limits are checked here once a sample instead.
  await app.register(underPressure, { sampleInterval: options.sampleInterval })
  const sampleInterval = Math.max(10, options.sampleInterval ?? 1000)
  if (checked.length > 0) {
    const timer = setInterval(() => {
      const sample = app.memoryUsage() as Sample
      const over = checked.find(([key, limit]) => sample[key] > limit)
      const now = over === undefined ? undefined : NAMES[over[0]]
      if (now !== undefined && pressure === undefined) app.aigis.logger.warn({ type: now, value: sample[over![0]], limit: over![1] }, `under pressure (${now}): answering 503 to new requests`)
      if (now === undefined && pressure !== undefined) app.aigis.logger.info(`no longer under pressure (${pressure})`)
      if (now !== undefined && now !== pressure) overloaded = answer(new Overloaded(now))
      pressure = now
    }, sampleInterval).unref()
    app.addHook('onClose', async () => clearInterval(timer))
  }

  /**
   * Answers 503 without the root error handler, which would log every shed
   * request as an error: exactly what a server under pressure must not do.
   */
  function refuse (reply: FastifyReply, ready: boolean): void {
    void reply.code(503).header('retry-after', retryAfter)
    if (draining) void reply.header('connection', 'close')
    if (ready) return void reply.send({ status: draining ? 'draining' : 'overloaded' })
    void reply.send(draining ? shuttingDown : overloaded)
  }

  const finished = (): void => {
    inFlight--
    if (inFlight === 0 && settled !== undefined) settled()
  }

  // Hooks go on the routes that need them (decided once, when a route is
  // added), so a request pays nothing it does not use.
  app.addHook('onRoute', (route) => {
    if (NEVER_SHED.has(route.url)) return
    const ready = route.url === READY
    // Reads (and SSE streams) are not waited for on shutdown; a lifecycle
    // change is, and so is a skill call, which the skill service counts
    // itself (it knows when a skill ends without watching every response).
    const tracked = route.url !== SKILL_ROUTE && ([] as string[]).concat(route.method).some((m) => m !== 'GET' && m !== 'HEAD')
    const shed = (request: FastifyRequest, reply: FastifyReply, done: () => void): void => {
      if (draining || pressure !== undefined) return refuse(reply, ready)
      if (tracked && request.method !== 'GET' && request.method !== 'HEAD') {
        inFlight++
        reply.raw.on('close', finished)
      }
      done()
    }
    route.onRequest = [shed, ...(route.onRequest === undefined ? [] : ([] as unknown[]).concat(route.onRequest))] as typeof route.onRequest
  })

  app.decorate('draining', { getter: () => draining })
  const requestsDone = async (): Promise<void> => {
    if (inFlight > 0) await new Promise<void>((resolve) => { settled = resolve })
  }
  app.decorate('drain', async (timeoutMs: number): Promise<boolean> => {
    draining = true
    let timer: NodeJS.Timeout | undefined
    const done = await Promise.race([
      Promise.all([requestsDone(), app.aigis.service.idle()]).then(() => true),
      new Promise<false>((resolve) => { timer = setTimeout(() => resolve(false), timeoutMs) })
    ])
    clearTimeout(timer)
    settled = undefined
    return done
  })
}

export default fp(loadShedding, { name: 'aigis-load-shedding', dependencies: ['aigis-errors'] })

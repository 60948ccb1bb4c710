import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import createError from '@fastify/error'
import fp from 'fastify-plugin'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { SKILL_ROUTE } from './skills/registry.js'

// Bearer-token auth, on when the server has an admin token (AIGIS_TOKEN).
//
// - The admin token may do everything.
// - Each plugin gets a token of its own when its runtime is made (an
//   internal plugin's process finds it in AIGIS_TOKEN). A plugin token may
//   call skills (POST /skills/...) and read (any GET: skills, plugins, logs,
//   metrics), but not change anything else: managing plugins is a 403.
// - /health, /ready, /docs (Swagger UI and its assets) and /openapi.json are
//   public, so probes work and Swagger UI can load before "Authorize".
// - Unknown routes need a token too (401, not 404), so routes cannot be probed.
//
// Tokens are compared in constant time: the usual `Bearer <admin token>`
// header byte for byte (timingSafeEqual), any other form as SHA-256 digests
// (equal length), and plugin tokens by a lookup keyed by digest, which leaks
// nothing about the token itself.
// No token is ever logged: failures log the reason and the route only.

export const Unauthorized = createError('AIGIS_UNAUTHORIZED', 'Missing or invalid token: send Authorization: Bearer <token>.', 401)
export const Forbidden = createError('AIGIS_FORBIDDEN', 'A plugin token may call skills and read, not %s %s: that needs the admin token.', 403)

/** Who made a request, once authenticated. */
export type Caller = { role: 'admin' } | { role: 'plugin', plugin: string }

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated caller; null when auth is off or the route is public. */
    caller: Caller | null
  }
}

const ADMIN: Caller = Object.freeze({ role: 'admin' })
const BEARER = /^bearer +(\S+) *$/i

function digest (token: string): Buffer {
  return createHash('sha256').update(token).digest()
}

/** A route anyone may call. */
export function isPublicRoute (url: string | undefined): boolean {
  return url === '/health' || url === '/ready' || url === '/openapi.json' || url === '/docs' || (url?.startsWith('/docs/') ?? false)
}

/**
 * Per-plugin tokens. A token is issued each time a plugin's runtime is made
 * (load, reload), replacing the plugin's previous one.
 */
export class PluginTokens {
  #plugins = new Map<string, string>() // digest (hex) → plugin
  #digests = new Map<string, string>() // plugin → digest (hex)

  /** A fresh random token for the plugin; its previous token stops working. */
  issue (plugin: string): string {
    this.revoke(plugin)
    const token = randomBytes(32).toString('base64url')
    const key = digest(token).toString('hex')
    this.#plugins.set(key, plugin)
    this.#digests.set(plugin, key)
    return token
  }

  revoke (plugin: string): void {
    const key = this.#digests.get(plugin)
    if (key === undefined) return
    this.#plugins.delete(key)
    this.#digests.delete(plugin)
  }

  /** The plugin a token belongs to, or undefined. */
  pluginOf (token: string): string | undefined {
    return this.#plugins.get(digest(token).toString('hex'))
  }
}

export interface AuthOptions {
  /** The admin token; auth is off without it. */
  token?: string
  /** The per-plugin tokens the plugin manager hands out. */
  tokens?: PluginTokens
  /** Whether a plugin still exists (a removed plugin's token stops working). */
  hasPlugin?: (plugin: string) => boolean
}

async function auth (app: FastifyInstance, options: AuthOptions): Promise<void> {
  app.decorateRequest('caller', null)
  if (options.token === undefined) return

  const admin = digest(options.token)
  // The header as clients almost always send it: compared as it is, no hashing
  // (equal lengths, so timingSafeEqual applies; only the length can differ).
  // Node decodes header values as latin1, one char a byte, so the header is
  // copied into one buffer kept for it rather than a new one a request.
  const adminHeader = Buffer.from(`Bearer ${options.token}`, 'latin1')
  const received = Buffer.alloc(adminHeader.length)
  const { tokens, hasPlugin = () => true } = options
  const log = app.aigis.logger

  const authenticate = (header: string | undefined): Caller | undefined => {
    if (header === undefined) return undefined
    if (header.length === adminHeader.length) {
      received.write(header, 'latin1')
      if (timingSafeEqual(received, adminHeader)) return ADMIN
    }
    const token = BEARER.exec(header)?.[1]
    if (token === undefined) return undefined
    if (timingSafeEqual(digest(token), admin)) return ADMIN
    const plugin = tokens?.pluginOf(token)
    return plugin !== undefined && hasPlugin(plugin) ? { role: 'plugin', plugin } : undefined
  }

  /** The check for one route: `url` as registered (null for unknown routes), `skillRoute` when plugin tokens may POST to it. */
  const check = (url: string | null, skillRoute: boolean) => (request: FastifyRequest, reply: FastifyReply, done: (err?: Error) => void): void => {
    const caller = authenticate(request.headers.authorization)
    if (caller === undefined) {
      // debug, not warn: scanners would otherwise flood the central log.
      log.debug({ method: request.method, url, header: request.headers.authorization === undefined ? 'missing' : 'invalid' }, 'unauthorized request')
      void reply.header('www-authenticate', 'Bearer realm="aigis"')
      return done(new Unauthorized())
    }
    if (caller.role === 'plugin' && !(request.method === 'GET' || request.method === 'HEAD' || (skillRoute && request.method === 'POST'))) {
      log.warn({ caller: caller.plugin, method: request.method, url }, 'plugin token refused')
      return done(new Forbidden(request.method, url ?? request.url.split('?')[0]))
    }
    request.caller = caller
    done()
  }

  // onRequest: before the body is read, so an unauthenticated client cannot
  // make the server parse anything. The hook goes on each route that needs it
  // (decided once, when the route is added) rather than on every request;
  // unknown routes get it from a hook that only acts on 404s.
  app.addHook('onRoute', (route) => {
    if (isPublicRoute(route.url)) return
    const hook = check(route.url ?? null, route.url === SKILL_ROUTE)
    route.onRequest = [hook, ...(route.onRequest === undefined ? [] : ([] as unknown[]).concat(route.onRequest))] as typeof route.onRequest
  })
  const notFound = check(null, false)
  app.addHook('onRequest', (request, reply, done) => {
    if (request.is404) return notFound(request, reply, done)
    done()
  })
}

export default fp(auth, { name: 'aigis-auth', dependencies: ['aigis-errors'] })

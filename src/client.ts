// The aigis client (`import { connect } from "aigis/client"`): calls skills
// of an aigis server over HTTP from any Node program, on the same host or
// another. Internal plugins get one, already connected, as `launch(aigis)`.
import { skillCaller, splitSkillId, type SkillCaller } from './skill-proxy.js'

export type { SkillCaller, SkillPath } from './skill-proxy.js'

export interface ConnectOptions {
  /** The server's base URL; default `AIGIS_URL`. */
  url?: string
  /** Bearer token; default `AIGIS_TOKEN` (unset: no Authorization header). */
  token?: string
  /** Who is calling, sent as the User-Agent; default `AIGIS_PLUGIN`. */
  plugin?: string
  /** Environment to read the defaults from; default `process.env`. */
  env?: Record<string, string | undefined>
  /** Milliseconds a call may take before it fails with `AIGIS_CLIENT_TIMEOUT`; default none (the server answers 504 after its own skill timeout). */
  timeout?: number
}

/** `aigis.call("plugin.skill", input)` and `aigis.plugin.skill(input)`. */
export type AigisClient = SkillCaller

/**
 * A failed call: the server's status, stable `AIGIS_...` code and message.
 * Failures of the client's own: `AIGIS_UNREACHABLE` (no answer from the
 * server), `AIGIS_CLIENT_TIMEOUT` (no answer within `timeout`),
 * `AIGIS_INVALID_INPUT` (an input JSON cannot encode; nothing was sent),
 * `AIGIS_BAD_RESPONSE` (an answer that is not aigis's: a redirect, or a
 * success that is not JSON, as a proxy's or captive portal's page would be).
 */
export class AigisError extends Error {
  /** HTTP status; undefined when no answer came. */
  readonly statusCode?: number
  readonly code?: string
  /** The skill id that was called. */
  readonly skill: string
  /** The plugin the server names in its error, when it does. */
  readonly plugin?: string

  constructor (message: string, details: { statusCode?: number, code?: string, skill: string, plugin?: string, cause?: unknown }) {
    super(message, { cause: details.cause })
    this.name = 'AigisError'
    this.statusCode = details.statusCode
    this.code = details.code
    this.skill = details.skill
    if (details.plugin !== undefined) this.plugin = details.plugin
  }
}

/** A client for the server at `url` (or AIGIS_URL), authenticating with `token` (or AIGIS_TOKEN). */
export function connect (options: ConnectOptions = {}): AigisClient {
  const env = options.env ?? process.env
  const url = (options.url ?? env.AIGIS_URL ?? '').replace(/\/+$/, '')
  if (url === '') throw new Error('aigis/client: no server URL; set AIGIS_URL or pass connect({ url })')
  if (!URL.canParse(url) || !/^https?:$/.test(new URL(url).protocol)) throw new Error(`aigis/client: ${JSON.stringify(url)} is not an http(s) URL; set AIGIS_URL or pass connect({ url }), e.g. http://127.0.0.1:8080`)
  const token = options.token ?? env.AIGIS_TOKEN
  const plugin = options.plugin ?? env.AIGIS_PLUGIN
  const headers: Record<string, string> = { 'user-agent': plugin === undefined ? 'aigis-client' : `aigis-client (${plugin})` }
  if (token !== undefined && token !== '') headers.authorization = `Bearer ${token}`
  return skillCaller((id, input) => callSkill(url, headers, id, input, options.timeout))
}

async function callSkill (url: string, baseHeaders: Record<string, string>, id: string, input: unknown, timeout?: number): Promise<unknown> {
  const { plugin, skill } = splitSkillId(id)
  if (plugin === '' || skill === '') throw new AigisError(`"${id}" is not a skill id; use "<plugin>.<skill>"`, { code: 'AIGIS_INVALID_INPUT', skill: id })
  const headers = { ...baseHeaders }
  let body: string | undefined
  try {
    body = JSON.stringify(input)
  } catch (err) {
    throw new AigisError(`the input of ${id} cannot be sent as JSON: ${(err as Error).message}`, { code: 'AIGIS_INVALID_INPUT', skill: id, cause: err })
  }
  if (body !== undefined) headers['content-type'] = 'application/json'
  let response: Response
  let text: string
  try {
    // An aigis server never redirects: a redirect is someone else's answer, not followed (a POST would become a GET elsewhere).
    response = await fetch(`${url}/skills/${encodeURIComponent(plugin)}/${skill.split('.').map(encodeURIComponent).join('.')}`, {
      method: 'POST',
      headers,
      body,
      redirect: 'manual',
      signal: timeout !== undefined ? AbortSignal.timeout(timeout) : undefined
    })
    text = await response.text()
  } catch (err) {
    if ((err as Error).name === 'TimeoutError') throw new AigisError(`aigis at ${url} did not answer ${id} within ${timeout} ms (the client's timeout)`, { code: 'AIGIS_CLIENT_TIMEOUT', skill: id, cause: err })
    const reason = (err as Error & { cause?: Error }).cause?.message ?? (err as Error).message
    throw new AigisError(`cannot reach aigis at ${url}: ${reason}`, { code: 'AIGIS_UNREACHABLE', skill: id, cause: err })
  }
  const answer = parseJson(text)
  if (response.status >= 300 && response.status < 400) {
    throw new AigisError(`${url} answered ${id} with a redirect (${response.status} to ${response.headers.get('location') ?? 'nowhere'}), which aigis never sends: is AIGIS_URL the aigis server?`, { statusCode: response.status, code: 'AIGIS_BAD_RESPONSE', skill: id })
  }
  if (response.ok) {
    if (answer === NOT_JSON) throw new AigisError(`${url} answered ${id} with ${response.status} and a body that is not JSON (${response.headers.get('content-type') ?? 'no content type'}), which aigis never sends: is AIGIS_URL the aigis server?`, { statusCode: response.status, code: 'AIGIS_BAD_RESPONSE', skill: id })
    return answer
  }
  const error = (typeof answer === 'object' && answer !== null ? answer : {}) as { message?: unknown, code?: unknown, plugin?: unknown }
  const message = typeof error.message === 'string' ? error.message : `${response.status} ${response.statusText}`
  throw new AigisError(message, {
    statusCode: response.status,
    code: typeof error.code === 'string' ? error.code : undefined,
    skill: id,
    plugin: typeof error.plugin === 'string' ? error.plugin : undefined
  })
}

const NOT_JSON = Symbol('not JSON')

/** The value of a JSON body (undefined for none), or NOT_JSON. */
function parseJson (text: string): unknown {
  if (text === '') return undefined
  try {
    return JSON.parse(text)
  } catch {
    return NOT_JSON
  }
}

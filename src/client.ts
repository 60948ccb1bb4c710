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
}

/** `aigis.call("plugin.skill", input)` and `aigis.plugin.skill(input)`. */
export type AigisClient = SkillCaller

/** A failed call: the server's status, stable `AIGIS_...` code and message. */
export class AigisError extends Error {
  /** HTTP status; undefined when the server could not be reached. */
  readonly statusCode?: number
  readonly code?: string
  /** The skill id that was called. */
  readonly skill: string

  constructor (message: string, details: { statusCode?: number, code?: string, skill: string, cause?: unknown }) {
    super(message, { cause: details.cause })
    this.name = 'AigisError'
    this.statusCode = details.statusCode
    this.code = details.code
    this.skill = details.skill
  }
}

/** A client for the server at `url` (or AIGIS_URL), authenticating with `token` (or AIGIS_TOKEN). */
export function connect (options: ConnectOptions = {}): AigisClient {
  const env = options.env ?? process.env
  const url = (options.url ?? env.AIGIS_URL ?? '').replace(/\/+$/, '')
  if (url === '') throw new Error('aigis/client: no server URL; set AIGIS_URL or pass connect({ url })')
  const token = options.token ?? env.AIGIS_TOKEN
  const plugin = options.plugin ?? env.AIGIS_PLUGIN
  const headers: Record<string, string> = { 'user-agent': plugin === undefined ? 'aigis-client' : `aigis-client (${plugin})` }
  if (token !== undefined && token !== '') headers.authorization = `Bearer ${token}`
  return skillCaller((id, input) => callSkill(url, headers, id, input))
}

async function callSkill (url: string, baseHeaders: Record<string, string>, id: string, input: unknown): Promise<unknown> {
  const { plugin, skill } = splitSkillId(id)
  if (plugin === '' || skill === '') throw new AigisError(`"${id}" is not a skill id; use "<plugin>.<skill>"`, { skill: id })
  const headers = { ...baseHeaders }
  if (input !== undefined) headers['content-type'] = 'application/json'
  let response: Response
  try {
    response = await fetch(`${url}/skills/${encodeURIComponent(plugin)}/${skill.split('.').map(encodeURIComponent).join('.')}`, {
      method: 'POST',
      headers,
      body: input === undefined ? undefined : JSON.stringify(input)
    })
  } catch (err) {
    const reason = (err as Error & { cause?: Error }).cause?.message ?? (err as Error).message
    throw new AigisError(`cannot reach aigis at ${url}: ${reason}`, { code: 'AIGIS_UNREACHABLE', skill: id, cause: err })
  }
  const text = await response.text()
  let body: unknown
  try {
    body = text === '' ? undefined : JSON.parse(text)
  } catch {
    body = text
  }
  if (response.ok) return body
  const error = (typeof body === 'object' && body !== null ? body : {}) as { message?: unknown, code?: unknown }
  const message = typeof error.message === 'string' ? error.message : `${response.status} ${response.statusText}`
  throw new AigisError(message, {
    statusCode: response.status,
    code: typeof error.code === 'string' ? error.code : undefined,
    skill: id
  })
}

import createError, { type FastifyErrorConstructor } from '@fastify/error'

// Every error aigis reports has a stable AIGIS_* code; tests and clients
// match on the code, never on the prose. HTTP errors carry their status.

type Args = Array<string | number>

function define (code: string, message: string, statusCode?: number): FastifyErrorConstructor<{ code: string }, Args> {
  return createError<Args>(`AIGIS_${code}`, message, statusCode)
}

// HTTP surface
export const PluginNotFound = define('PLUGIN_NOT_FOUND', 'No plugin named "%s". GET /plugins lists the plugins.', 404)
export const SkillNotFound = define('SKILL_NOT_FOUND', 'Plugin "%s" has no skill "%s". GET /skills lists the skills.', 404)
export const PluginStoppedDuringCall = define('PLUGIN_STOPPED', 'Plugin "%s" was stopped (or reloaded) while skill "%s" ran; call it again once the plugin runs.', 409)
export const PluginNotRunning = define('PLUGIN_NOT_RUNNING', 'Plugin "%s" is %s; %s.', 409)
export const InvalidTransition = define('INVALID_TRANSITION', 'Cannot %s plugin "%s" while it is %s.', 409)
export const PluginExists = define('PLUGIN_EXISTS', 'A plugin named "%s" already exists; DELETE /plugins/%s first or pick another name.', 409)
export const InvalidPluginName = define('INVALID_PLUGIN_NAME', 'Invalid plugin name %s: use only letters, digits, "_" and "-", at most 64 characters; "aigis" is reserved (the server\'s own name in the logs).', 400)
export const MissingHost = define('INVALID_REQUEST', 'An HTTP/1.1 request needs a Host header.', 400)
export const InvalidJson = define('INVALID_JSON', 'Body is not valid JSON (Content-Type is application/json): %s', 400)
export const InvalidSkillInput = define('INVALID_SKILL_INPUT', 'Invalid input for skill "%s": %s', 400)
export const SkillTimeout = define('SKILL_TIMEOUT', 'Skill "%s" did not answer within %s s (AIGIS_SKILL_TIMEOUT).', 504)
export const SkillFailed = define('SKILL_FAILED', '%s', 500)
export const SkillCallsTooDeep = define('SKILL_CALLS_TOO_DEEP', 'Skill "%s" was called %s calls deep through ctx.aigis; a skill that calls itself (or a cycle of skills) needs a way to stop.', 500)
export const SkillSchemaInvalid = define('SKILL_SCHEMA_INVALID', 'Skill "%s" cannot validate its input: its body schema does not compile (%s); fix SCHEMAS in its AIGIS.core and reload the plugin.', 500)
export const SkillResultInvalid = define('SKILL_RESULT_INVALID', 'Skill "%s" returned a value that cannot be sent as JSON (%s); return plain data: objects, arrays, strings, numbers, booleans, null.', 500)
export const InvalidSource = define('INVALID_SOURCE', 'Invalid plugin source: %s', 400)
// Refused by Node's HTTP parser before Fastify sees the request (see src/error-handler.ts)
export const HeadersTooLarge = define('HEADERS_TOO_LARGE', 'The request\'s headers (the URL included) are larger than the server accepts.', 431)
export const RequestTimeout = define('REQUEST_TIMEOUT', 'The request did not arrive in time.', 408)
export const ExpectationFailed = define('EXPECTATION_FAILED', 'Expect: "%s" cannot be met; the only expectation aigis supports is 100-continue.', 417)

// Loading a plugin (shown as the plugin's `error`, state `failed`)
export const ConfigInvalid = define('CONFIG_INVALID', '%s')
export const PluginConfigInvalid = define('PLUGIN_CONFIG_INVALID', '%s')
export const PluginTypeMismatch = define('PLUGIN_TYPE_MISMATCH', 'Plugin "%s" is listed under [%s] but its AIGIS.config says PLUGIN_TYPE = "%s"; list it under [%s] (or add it with "type": "%s").')
export const SourceFailed = define('SOURCE_FAILED', '%s')
export const RequirementMissing = define('REQUIREMENT_MISSING', 'Plugin "%s" needs %s on PATH (SYSTEM_REQUIREMENTS); install it or fix PATH.')
export const RequirementCommandFailed = define('REQUIREMENT_COMMAND_FAILED', 'Plugin "%s": REQUIREMENT_COMMAND `%s` failed: %s')
export const SecretMissing = define('SECRET_MISSING', 'Plugin "%s" is missing secret file(s) %s; put them in %s.')
export const SecretCopyFailed = define('SECRET_COPY_FAILED', 'Plugin "%s": copying secret "%s" to %s failed: %s. Check the SECRETS destination in its AIGIS.config.')
export const PathEscape = define('PATH_ESCAPE', 'Plugin "%s": %s resolves to %s, outside the plugin folder %s.')
export const CoreModuleMissing = define('CORE_MODULE_MISSING', 'Plugin "%s" has no AIGIS/AIGIS.core.ts (or .mts, .js, .mjs) in %s.')
export const CoreModuleFailed = define('CORE_MODULE_FAILED', 'Plugin "%s": importing %s failed: %s')
export const SkillsInvalid = define('SKILLS_INVALID', 'Plugin "%s": %s')
export const SpawnFailed = define('SPAWN_FAILED', 'Plugin "%s" could not be started: %s')
export const LoadTimeout = define('LOAD_TIMEOUT', 'Plugin "%s": %s did not finish within %s s; %s')

/** The `code` of any error, or undefined. */
export function errorCode (err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code
  return typeof code === 'string' ? code : undefined
}

/** A one-line message for any thrown value. */
export function errorMessage (err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}

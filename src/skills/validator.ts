import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv'
import formats from 'ajv-formats'

const withFormats = formats.default
/** The string formats SkillValidator enforces (any other is a mistake: Ajv would only warn on stderr and not check it); made when a schema first names a format, not when the server starts. */
let knownFormats: Set<string> | undefined
const isKnownFormat = (name: string): boolean => (knownFormats ??= new Set(Object.keys(withFormats(new Ajv({ strict: false })).formats))).has(name)
/** JSON Schema keywords whose values are data, not schemas: a `format` or `$ref` key in them is not the keyword. */
export const DATA_KEYWORDS = new Set(['const', 'enum', 'default', 'examples', 'example'])

/**
 * Compiles request body schemas: skills' and POST /plugins'. Strict on purpose: no type coercion
 * (`{"name": 5}` against a string is a 400), defaults applied, unknown
 * keywords (TypeBox metadata, OpenAPI extras) tolerated, and string
 * formats (`email`, `date-time`, `uri`, ...) enforced, as Fastify does for
 * its own routes.
 */
export class SkillValidator {
  #ajv = withFormats(new Ajv({ coerceTypes: false, useDefaults: true, allErrors: false, strict: false }))

  /**
   * The schema is forgotten by Ajv once compiled: a schema's `$id` stayed
   * registered for the server's life, so a reload (the same `$id` again) or
   * another skill with that `$id` failed to compile, and every reload's
   * schemas were kept in Ajv's cache for good.
   */
  compile (schema: Record<string, unknown>): ValidateFunction {
    try {
      return this.#ajv.compile(schema)
    } finally {
      this.#ajv.removeSchema(schema)
    }
  }
}

/** Fastify-style one-line summary of a failed validation: `body/name must be string`; an enum says what it allows. */
export function describeErrors (validate: ValidateFunction): string {
  return (validate.errors ?? []).map((e) => `body${e.instancePath} ${errorMessage(e)}`).join(', ')
}

/**
 * Ajv's message for one error, except that an enum says what it allows
 * (`must be one of: red, blue`) instead of "must be equal to one of the
 * allowed values". Route errors (see error-handler.ts) read the same.
 */
export function errorMessage (error: Pick<ErrorObject, 'keyword' | 'params' | 'message'>): string {
  const allowed = error.keyword === 'enum' ? (error.params as { allowedValues?: unknown }).allowedValues : undefined
  if (!Array.isArray(allowed)) return error.message ?? 'is invalid'
  return `must be one of: ${allowed.map((v) => typeof v === 'string' ? v : JSON.stringify(v)).join(', ')}`
}

/*
 * Checks schemas against the JSON Schema meta-schema, without compiling
 * them: cheap enough for every skill at load, where compiling is not (that
 * waits for the first call). Shared by every app: it never holds a user's
 * schema, only the meta-schema it checks against.
 */
const metaSchema = new Ajv({ strict: false })

/**
 * Why `schema` is not a JSON Schema, or undefined when it is one. `name`
 * stands for the schema in the answer: `body/type must be ...`.
 */
export function schemaProblem (schema: unknown, name: string): string | undefined {
  if (typeof schema !== 'boolean' && (typeof schema !== 'object' || schema === null || Array.isArray(schema))) {
    return `${name} must be an object or a boolean (a JSON Schema), got ${JSON.stringify(schema) ?? typeof schema}`
  }
  let valid: boolean
  try {
    valid = metaSchema.validateSchema(schema as Record<string, unknown>) as boolean
  } catch (err) { // a $schema Ajv does not know
    return (err as Error).message
  }
  if (valid) return unknownFormat(schema, name)
  const errors = metaSchema.errors ?? []
  // The first error is the most specific one; those of an `anyOf` explain it again.
  return errors.length === 0 ? 'is invalid' : describeSchemaError(errors[0], schema, name)
}

function describeSchemaError (error: ErrorObject, schema: unknown, name: string): string {
  const path = error.instancePath.split('/').slice(1).map((key) => key.replaceAll('~1', '/').replaceAll('~0', '~'))
  const allowed = (error.params as { allowedValues?: unknown[] }).allowedValues
  let text = `${name}${error.instancePath} ${error.message ?? 'is invalid'}`
  if (allowed !== undefined) text += ` (${allowed.join(', ')})`
  if (path.length > 0) {
    const got = path.reduce<any>((value, key) => value?.[key], schema)
    if (typeof got !== 'object' || got === null) text += `, got ${JSON.stringify(got)}`
  }
  return text
}

/** Where `schema` names a string format SkillValidator does not know, said as schemaProblem says it; undefined when none does. */
function unknownFormat (schema: unknown, path: string): string | undefined {
  if (typeof schema !== 'object' || schema === null) return undefined
  for (const [key, value] of Object.entries(schema)) {
    if (key === 'format' && typeof value === 'string' && !isKnownFormat(value)) {
      return `${path}/format "${value}" is not a format aigis knows (${[...knownFormats!].join(', ')})`
    }
    if (DATA_KEYWORDS.has(key)) continue
    const problem = unknownFormat(value, `${path}/${key}`)
    if (problem !== undefined) return problem
  }
  return undefined
}

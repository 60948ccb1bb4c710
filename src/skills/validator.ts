import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv'
import formats from 'ajv-formats'

/**
 * Compiles request body schemas: skills' and POST /plugins'. Strict on purpose: no type coercion
 * (`{"name": 5}` against a string is a 400), defaults applied, unknown
 * keywords (TypeBox metadata, OpenAPI extras) tolerated, and string
 * formats (`email`, `date-time`, `uri`, ...) enforced, as Fastify does for
 * its own routes.
 */
export class SkillValidator {
  #ajv = formats.default(new Ajv({ coerceTypes: false, useDefaults: true, allErrors: false, strict: false }))

  compile (schema: Record<string, unknown>): ValidateFunction {
    return this.#ajv.compile(schema)
  }
}

/** Fastify-style one-line summary of a failed validation: `body/name must be string`. */
export function describeErrors (validate: ValidateFunction): string {
  return (validate.errors ?? []).map((e) => `body${e.instancePath} ${e.message ?? 'is invalid'}`).join(', ')
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
  if (valid) return undefined
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

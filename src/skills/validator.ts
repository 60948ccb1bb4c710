import { Ajv, type ValidateFunction } from 'ajv'

/**
 * Compiles skill body schemas. Strict on purpose: no type coercion
 * (`{"name": 5}` against a string is a 400), defaults applied, unknown
 * keywords (TypeBox metadata, OpenAPI extras) tolerated.
 */
export class SkillValidator {
  #ajv = new Ajv({ coerceTypes: false, useDefaults: true, allErrors: false, strict: false })

  compile (schema: Record<string, unknown>): ValidateFunction {
    return this.#ajv.compile(schema)
  }
}

/** Fastify-style one-line summary of a failed validation: `body/name must be string`. */
export function describeErrors (validate: ValidateFunction): string {
  return (validate.errors ?? []).map((e) => `body${e.instancePath} ${e.message ?? 'is invalid'}`).join(', ')
}

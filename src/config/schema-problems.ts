import { Ajv, type ValidateFunction } from 'ajv'
import { closest, shown } from './names.js'

// What is wrong with a config table, in a user's words, from its TypeBox
// schema alone: every unknown key (with the closest known one), every
// missing required key, every value of the wrong type (with what the key
// takes and the example the schema gives). Ajv's own messages ("must NOT
// have fewer than 1 characters", the first branch of a union) name the
// JSON Schema rule, not the fix.

interface Schema {
  type?: string
  anyOf?: Schema[]
  const?: unknown
  minLength?: number
  minItems?: number
  minimum?: number
  maximum?: number
  items?: Schema
  properties?: Record<string, Schema>
  patternProperties?: Record<string, Schema>
  required?: string[]
  examples?: unknown[]
}

/** Checks `data` against an object schema, one validator a key, compiled once. */
export function tableChecker (schema: object): (data: Record<string, unknown>) => string[] {
  const { properties = {}, required = [] } = schema as Schema
  const ajv = new Ajv({ strict: false })
  const keys = Object.keys(properties)
  const validators = new Map<string, ValidateFunction>(keys.map((key) => [key, ajv.compile(properties[key])]))
  const entryValidators = new Map<string, ValidateFunction>()
  for (const key of keys) {
    const values = entryValues(properties[key])
    if (values !== undefined) entryValidators.set(key, ajv.compile(values))
  }

  return (data) => {
    const problems: string[] = []
    const unknown = Object.keys(data).filter((key) => !validators.has(key))
    for (const key of unknown) {
      const hint = closest(key, keys)
      problems.push(`unknown key "${key}"${hint !== undefined ? ` (did you mean "${hint}"?)` : ''}`)
    }
    for (const key of required) {
      if (data[key] === undefined) problems.push(`${key} is required: ${describe(properties[key])}`)
    }
    for (const [key, value] of Object.entries(data)) {
      const validate = validators.get(key)
      if (validate === undefined || validate(value)) continue
      const entries = entryValidators.get(key)
      const example = properties[key].examples?.[0]
      const eg = example !== undefined ? `, e.g. ${key} = ${inlineToml(example)}` : ''
      if (entries !== undefined && isTable(value)) {
        for (const [name, entry] of Object.entries(value)) {
          if (!entries(entry)) problems.push(`${key}.${tomlKey(name)} must be ${describe(entryValues(properties[key])!)} (got ${shown(entry)})`)
        }
      } else {
        problems.push(`${key} must be ${describe(properties[key])} (got ${shown(value)})${eg}`)
      }
    }
    if (unknown.length > 0) problems.push(`known keys: ${keys.join(', ')}`)
    return problems
  }
}

/** The schema of a table's values (a TypeBox Record), if `schema` is one. */
function entryValues (schema: Schema): Schema | undefined {
  return schema.type === 'object' ? Object.values(schema.patternProperties ?? {})[0] : undefined
}

/** What a value of `schema` is, in words: `a non-empty list of strings`, `"core", "internal" or "external"`. */
export function describe (schema: Schema, plural = false): string {
  const a = (singular: string, many: string): string => plural ? many : singular
  if (schema.anyOf !== undefined) {
    if (schema.anyOf.every((branch) => 'const' in branch)) return words(schema.anyOf.map((branch) => JSON.stringify(branch.const)))
    return words(schema.anyOf.map((branch) => describe(branch, plural)))
  }
  const atLeast = schema.maximum !== undefined
    ? `, ${schema.minimum ?? 'up'} to ${schema.maximum}`
    : schema.minimum !== undefined ? `, ${schema.minimum} or more` : ''
  switch (schema.type) {
    case 'string': return schema.minLength !== undefined && schema.minLength > 0 ? a('a non-empty string', 'non-empty strings') : a('a string', 'strings')
    case 'array': return `${a('a ', '')}${schema.minItems !== undefined && schema.minItems > 0 ? 'non-empty ' : ''}${a('list', 'lists')} of ${describe(schema.items ?? {}, true)}`
    case 'integer': return a('a whole number', 'whole numbers') + atLeast
    case 'number': return a('a number', 'numbers') + atLeast
    case 'boolean': return a('a boolean', 'booleans')
    case 'object': {
      const values = entryValues(schema)
      return `${a('a table', 'tables')}${values !== undefined ? ` of ${describe(values, true)}` : ''}`
    }
    default: return a('a value', 'values')
  }
}

function words (items: string[]): string {
  return items.length < 2 ? items.join('') : `${items.slice(0, -1).join(', ')} or ${items.at(-1)!}`
}

function isTable (value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function tomlKey (key: string): string {
  return /^[A-Za-z0-9_-]+$/.test(key) ? key : JSON.stringify(key)
}

/** A value as it is written in TOML on one line. */
function inlineToml (value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(inlineToml).join(', ')}]`
  if (isTable(value)) return `{ ${Object.entries(value).map(([k, v]) => `${tomlKey(k)} = ${inlineToml(v)}`).join(', ')} }`
  return typeof value === 'string' ? JSON.stringify(value) : String(value)
}

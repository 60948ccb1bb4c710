import type { Skill } from './skills/registry.js'
import { DATA_KEYWORDS } from './skills/validator.js'

type Document = Record<string, any>

const ERROR_REF = { $ref: '#/components/schemas/Error' }
const errorResponse = (description: string): Document => ({ description, content: { 'application/json': { schema: ERROR_REF } } })

/** `key` as a token of a JSON pointer in a URI fragment. */
const pointerToken = (key: string): string => encodeURIComponent(key.replaceAll('~', '~0').replaceAll('/', '~1'))

/**
 * `schema` as placed at `at` (a JSON pointer into the document): its local
 * references (`#/$defs/X`) now point where it is. Pasted as they were, they
 * pointed at the document's root, and one plugin's self-contained schema
 * made the whole document invalid. A schema with an `$id` of its own is a
 * resource of its own, and kept as it is.
 */
function placed (schema: unknown, at: string): unknown {
  if (typeof schema !== 'object' || schema === null || '$id' in schema) return schema
  const rewrite = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(rewrite)
    if (typeof value !== 'object' || value === null) return value
    const copy: Record<string, unknown> = {}
    for (const [key, child] of Object.entries(value)) {
      copy[key] = key === '$ref' && typeof child === 'string' && child.startsWith('#')
        ? at + child.slice(1)
        : DATA_KEYWORDS.has(key) ? child : rewrite(child)
    }
    return copy
  }
  return rewrite(schema)
}

/** The OpenAPI operation that documents one skill. */
function skillOperation (skill: Skill): Document {
  const { schema } = skill
  const at = `#/paths/${pointerToken(skill.path)}/post`
  const operation: Document = {
    operationId: skill.id,
    tags: [`skills: ${skill.plugin}`],
    summary: schema.summary ?? schema.description ?? (skill.kind === 'value' ? `The value of ${skill.id}` : `Call ${skill.id}`),
    responses: {
      200: {
        description: 'The skill\'s result, as JSON',
        content: { 'application/json': { schema: placed(schema.response ?? {}, `${at}/responses/200/content/application~1json/schema`) } }
      },
      ...(skill.kind === 'function' ? { 204: { description: 'The skill returned nothing' } } : {}),
      400: errorResponse('The body does not match the skill\'s schema, or is not JSON'),
      404: errorResponse('No such plugin or skill'),
      409: errorResponse('The plugin is not running'),
      413: errorResponse('The body is too large'),
      500: errorResponse('The skill threw; its message is kept'),
      504: errorResponse('The skill did not answer in time')
    }
  }
  if (schema.description !== undefined) operation.description = schema.description
  if (skill.kind === 'function') {
    operation.requestBody = {
      required: schema.body !== undefined,
      content: { 'application/json': { schema: placed(schema.body ?? {}, `${at}/requestBody/content/application~1json/schema`) } }
    }
  }
  return operation
}

/**
 * The served OpenAPI document: the routes' own document (from
 * @fastify/swagger) plus one POST path per registered skill. Skills come and
 * go at runtime, so this is rebuilt whenever the skill registry changes.
 */
export function withSkills (base: Document, skills: Skill[]): Document {
  const paths: Document = {}
  for (const [path, item] of Object.entries(base.paths ?? {})) paths[path] = item
  for (const skill of [...skills].sort((a, b) => a.id.localeCompare(b.id))) {
    paths[skill.path] = { post: skillOperation(skill) }
  }
  return { ...base, paths }
}

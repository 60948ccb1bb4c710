import type { Skill } from './skills/registry.js'

type Document = Record<string, any>

const ERROR_REF = { $ref: '#/components/schemas/Error' }
const errorResponse = (description: string): Document => ({ description, content: { 'application/json': { schema: ERROR_REF } } })

/** The OpenAPI operation that documents one skill. */
function skillOperation (skill: Skill): Document {
  const { schema } = skill
  const operation: Document = {
    operationId: skill.id,
    tags: [`skills: ${skill.plugin}`],
    summary: schema.summary ?? schema.description ?? (skill.kind === 'value' ? `The value of ${skill.id}` : `Call ${skill.id}`),
    responses: {
      200: {
        description: 'The skill\'s result, as JSON',
        content: { 'application/json': { schema: schema.response ?? {} } }
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
      content: { 'application/json': { schema: schema.body ?? {} } }
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

import { Type } from 'typebox'

export const SkillInfoSchema = Type.Object({
  id: Type.String({ description: '<plugin>.<dotted name>' }),
  plugin: Type.String(),
  name: Type.String(),
  kind: Type.Union([Type.Literal('function'), Type.Literal('value')]),
  description: Type.Union([Type.String(), Type.Null()]),
  schema: Type.Object({
    body: Type.Optional(Type.Unknown()),
    response: Type.Optional(Type.Unknown())
  }, { additionalProperties: true }),
  path: Type.String({ description: 'The HTTP path to POST to' })
}, { $id: 'SkillInfo', title: 'SkillInfo' })

import { Type } from 'typebox'

/** Every error response: Fastify's shape plus a stable code and, where known, the plugin and skill. */
export const ErrorSchema = Type.Object({
  statusCode: Type.Integer(),
  error: Type.String(),
  message: Type.String(),
  code: Type.String({ description: 'Stable AIGIS_* error code' }),
  plugin: Type.Optional(Type.String()),
  skill: Type.Optional(Type.String())
}, { $id: 'Error', title: 'Error' })

export const ErrorRef = Type.Unsafe<{ statusCode: number, error: string, message: string, code: string, plugin?: string, skill?: string }>(Type.Ref('Error'))

export const PluginNameParams = Type.Object({
  name: Type.String({ description: 'Plugin name' })
})

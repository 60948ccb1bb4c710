import { Type } from 'typebox'
import { PLUGIN_TYPES, type PluginType } from '../config/names.js'
import { PLUGIN_STATES } from '../plugins/status.js'

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T) => Type.Union([schema, Type.Null()])

export const ExitInfoSchema = Type.Object({
  code: Nullable(Type.Integer()),
  signal: Nullable(Type.String()),
  uptime: Type.Number({ description: 'Seconds the process was up' }),
  at: Type.String({ format: 'date-time' }),
  lastLines: Type.Array(Type.String(), { description: 'The last lines it printed' })
})

export const PluginStatusSchema = Type.Object({
  name: Type.String(),
  type: Nullable(Type.Union(PLUGIN_TYPES.map((t) => Type.Literal(t)))),
  source: Type.String(),
  state: Type.Union(PLUGIN_STATES.map((s) => Type.Literal(s))),
  pid: Nullable(Type.Integer()),
  restarts: Type.Integer(),
  startedAt: Nullable(Type.String({ format: 'date-time' })),
  exitCode: Nullable(Type.Integer()),
  exitSignal: Nullable(Type.String()),
  nextRestartAt: Nullable(Type.String({ format: 'date-time' })),
  error: Nullable(Type.String()),
  skills: Type.Array(Type.String(), { description: 'Ids of the skills it serves now' }),
  lastExit: Nullable(ExitInfoSchema)
}, { $id: 'PluginStatus', title: 'PluginStatus' })

export const PluginStatusRef = Type.Unsafe<import('../plugins/status.js').PluginStatus>(Type.Ref('PluginStatus'))

export const AddPluginBody = Type.Object({
  name: Type.String({ description: 'Unique plugin name: letters, digits, "_" and "-"' }),
  source: Type.String({ minLength: 1, description: 'A local folder (relative to the config file\'s folder) or a git URL' }),
  type: Type.Optional(Type.Unsafe<PluginType>({ type: 'string', enum: [...PLUGIN_TYPES], description: 'Checked against the plugin\'s PLUGIN_TYPE when given' }))
}, { additionalProperties: false })

/** Records GET /plugins/{name}/logs returns when `lines` is not given. */
export const DEFAULT_LOG_LINES = 100

export const PluginLogsQuery = Type.Object({
  lines: Type.Optional(Type.Integer({ minimum: 0, maximum: 10000, default: DEFAULT_LOG_LINES, description: `How many of the last records (default ${DEFAULT_LOG_LINES})` }))
})

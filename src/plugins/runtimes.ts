import { CoreRuntime } from '../core/core-runtime.js'
import type { PluginRuntime, RuntimeContext } from './runtime.js'

/** The runtime for a loaded plugin, by its type. */
export function createRuntime (ctx: RuntimeContext): PluginRuntime {
  if (ctx.config.type === 'core') return new CoreRuntime(ctx)
  throw new Error(`${ctx.config.type} plugins are not supported by this build yet`)
}

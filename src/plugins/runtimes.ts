import { CoreRuntime } from '../core/core-runtime.js'
import { externalRuntime, internalRuntime } from '../supervisor/index.js'
import type { PluginRuntime, RuntimeContext } from './runtime.js'

/** The runtime for a loaded plugin, by its type. */
export function createRuntime (ctx: RuntimeContext): PluginRuntime {
  switch (ctx.config.type) {
    case 'core': return new CoreRuntime(ctx)
    case 'internal': return internalRuntime(ctx)
    case 'external': return externalRuntime(ctx)
  }
}

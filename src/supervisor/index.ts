import { CoreSkills } from '../core/core-skills.js'
import type { RuntimeContext } from '../plugins/runtime.js'
import { ProcessRuntime } from './process-runtime.js'
import { externalSpec, internalSpec } from './spec.js'

export { ProcessRuntime } from './process-runtime.js'
export { DEFAULT_BACKOFF, type BackoffOptions } from './backoff.js'

/** An external plugin: any program, supervised. */
export function externalRuntime (ctx: RuntimeContext): ProcessRuntime {
  return new ProcessRuntime(ctx, { spec: () => externalSpec(ctx) })
}

/** An internal plugin: `launch(aigis)` in a supervised Node process, plus its AIGIS.core skills when it has one. */
export function internalRuntime (ctx: RuntimeContext): ProcessRuntime {
  return new ProcessRuntime(ctx, {
    spec: () => internalSpec(ctx),
    skills: CoreSkills.present(ctx.config.root) ? new CoreSkills(ctx) : undefined
  })
}

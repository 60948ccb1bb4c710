import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import type { RuntimeContext } from '../plugins/runtime.js'
import type { ProcessSpec } from './child.js'

/**
 * The environment every subprocess gets on top of the server's: its `ENV`
 * table, where to reach the server and who it is. The admin `AIGIS_TOKEN`
 * is never passed on: with auth on, the plugin gets a token of its own
 * instead (it may call skills and read, see auth.ts), so an external
 * program can call skills over HTTP as an internal one does through the
 * client.
 */
export function processEnv (ctx: RuntimeContext): Record<string, string | undefined> {
  return {
    ...ctx.config.env,
    AIGIS_URL: ctx.serverUrl(),
    AIGIS_PLUGIN: ctx.name,
    AIGIS_TOKEN: ctx.pluginToken
  }
}

/** An external plugin: its LAUNCH argv, run in ENTRYPOINT. */
export function externalSpec (ctx: RuntimeContext): ProcessSpec {
  const [file, ...args] = ctx.config.launch!
  return { file, args, cwd: ctx.config.entrypoint, env: processEnv(ctx) }
}

/**
 * An internal plugin: Node running the internal runner, which imports the
 * LAUNCH module and calls its `launch(aigis)`. From the compiled server the
 * runner is JavaScript; from source it is TypeScript, run through jiti.
 */
export function internalSpec (ctx: RuntimeContext): ProcessSpec {
  const module = ctx.config.launch![0]
  if (!existsSync(module)) throw new Error(`the LAUNCH module ${module} does not exist`)
  const runner = runnerFile()
  const loader = runner.endsWith('.ts') ? ['--import', import.meta.resolve('jiti/register')] : []
  return {
    file: process.execPath,
    args: [...loader, runner, module, ctx.cacheDir],
    cwd: ctx.config.entrypoint,
    env: processEnv(ctx)
  }
}

function runnerFile (): string {
  const compiled = fileURLToPath(new URL('./internal-runner.js', import.meta.url))
  return existsSync(compiled) ? compiled : compiled.replace(/\.js$/, '.ts')
}

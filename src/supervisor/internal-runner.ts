// The program an internal plugin runs as: `node internal-runner.js <module> [cache dir]`.
// It imports the plugin's LAUNCH module from source (TypeScript included) with
// `aigis`, `aigis/client` and `typebox` resolving to the server's copies, and
// calls its `launch(aigis)` with a client connected from the environment
// (AIGIS_URL, AIGIS_TOKEN). The process lives as long as the work launch
// started (timers, sockets); a rejected launch exits 1. When launch returns a
// function, SIGTERM calls it before the process exits.
import * as client from '../client.js'
import { importPluginModule } from '../plugin-import.js'

type Launch = (aigis: client.AigisClient) => unknown

/** A mistake in the plugin's module itself: its message says it all. */
class UsageError extends Error {}

async function main (file: string, cacheDir: string | undefined): Promise<void> {
  const exports = await importPluginModule(file, process.cwd(), cacheDir)
  const launch = exports.launch
  if (typeof launch !== 'function') {
    throw new UsageError(`${file} has no launch export; add \`export async function launch (aigis) { ... }\``)
  }
  const stop = await (launch as Launch)(client.connect())
  if (typeof stop === 'function') {
    const onSignal = (): void => {
      Promise.resolve().then(() => stop()).then(() => process.exit(0), (err: unknown) => {
        console.error('stopping failed:', err)
        process.exit(1)
      })
    }
    process.once('SIGTERM', onSignal)
    process.once('SIGINT', onSignal)
  }
}

const [file, cacheDir] = process.argv.slice(2)
main(file, cacheDir).catch((err: unknown) => {
  // The stack for the log, then the message: the last line is what the plugin's status shows.
  if (err instanceof Error && err.stack !== undefined && !(err instanceof UsageError)) console.error(err.stack)
  console.error(`internal plugin failed: ${err instanceof Error ? err.message : String(err)}`)
  process.exit(1)
})

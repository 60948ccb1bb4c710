import { Script } from 'node:vm'
import { createJiti, type TransformOptions, type TransformResult } from 'jiti'
import { transform as sucrase } from 'sucrase'

// How plugin sources become code jiti can run: CommonJS in a function.
//
// jiti's own transformer (babel) takes ~15 ms a small file on this kind of
// machine, which made the first boot of many TypeScript plugins several times
// slower than a restart (see bench/skills.bench.ts). Sucrase does the same
// job (types out, ES modules to CommonJS) about ten times faster, but by
// design it leaves alone what Node cannot run in a CommonJS function
// (decorators, `import.meta`, top-level await) and it drops TypeScript value
// namespaces. So a file goes through babel instead when
// - it declares a namespace (`namespace X {` or `module X {`), or
// - what sucrase made does not compile as the function jiti wraps it in.
// Either way the output is what jiti runs and caches (<data dir>/cache/jiti).

const NAMESPACE = /\b(?:namespace|module)\s+[\w$.]+\s*\{/
// The wrapper jiti puts around a module (see jiti's evalModule).
const WRAP_START = '(function (exports, require, module, __filename, __dirname, jitiImport, jitiESMResolve) { '
const WRAP_END = '\n});'

let babel: ReturnType<typeof createJiti> | undefined

/** jiti's default transform, for what sucrase cannot do. */
function withBabel (options: TransformOptions): TransformResult {
  babel ??= createJiti(import.meta.url)
  return { code: babel.transform(options) }
}

export function transformPluginSource (options: TransformOptions): TransformResult {
  // The async path exists for top-level await, which only babel turns into an async function.
  if (options.async === true || (options.jsx !== undefined && options.jsx !== false) || NAMESPACE.test(options.source)) return withBabel(options)
  let code: string
  try {
    code = sucrase(options.source, {
      transforms: options.ts === true ? ['typescript', 'imports'] : ['imports'],
      filePath: options.filename,
      disableESTransforms: true
    }).code
    // Only parses: nothing runs here.
    void new Script(WRAP_START + code + WRAP_END, { filename: options.filename })
  } catch {
    return withBabel(options) // its error, if any, names the file, line and column
  }
  return { code }
}

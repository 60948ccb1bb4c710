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
// - it has an export sucrase gets wrong (see exportsSucraseGetsWrong), or
// - what sucrase made does not compile as the function jiti wraps it in.
// Either way the output is what jiti runs and caches (<data dir>/cache/jiti).

const NAMESPACE = /\b(?:namespace|module)\s+[\w$.]+\s*\{/
const EXPORT_DESTRUCTURING = /\bexport\s+(?:const|let|var)\s*[{[]/
const EXPORT_LIST = /\bexport\s*\{[^}]*\}(?!\s*from\b)/
const EXPORT_DECLARATION = /\bexport\s+(?:const|let|var)\s/g

/**
 * Whether the source has an export that sucrase's imports transform turns
 * into code that fails or exports the wrong thing: `export const a = 1, b = 2`
 * (it declares only `a`: alangpierce/sucrase#455), `export const { a } = o`
 * (no local `a` is declared), and `export { a }` of the module's own names
 * (written where the list is, which may be before `a` is initialized:
 * sucrase#671). Lists that re-export (`export { a } from`) are fine. A false
 * alarm only costs babel's time.
 */
export function exportsSucraseGetsWrong (source: string): boolean {
  if (EXPORT_DESTRUCTURING.test(source) || EXPORT_LIST.test(source)) return true
  for (const match of source.matchAll(EXPORT_DECLARATION)) {
    if (hasSecondDeclarator(source, match.index + match[0].length)) return true
  }
  return false
}

/**
 * Whether the declaration list that starts at `at` has a comma outside any
 * brackets, string or comment before it ends (`;`, or a line end outside
 * brackets). Type arguments (`Record<string, number>`) also count: a false
 * alarm.
 */
function hasSecondDeclarator (source: string, at: number): boolean {
  let depth = 0
  for (let i = at; i < source.length; i++) {
    const c = source[i]
    if (c === '"' || c === "'" || c === '`') {
      // Skips the literal (escapes included); a template's ${} is skipped with it.
      for (i++; i < source.length && source[i] !== c; i++) if (source[i] === '\\') i++
    } else if (c === '/' && (source[i + 1] === '/' || source[i + 1] === '*')) {
      const end = source[i + 1] === '/' ? source.indexOf('\n', i) : source.indexOf('*/', i + 2) + 1
      if (end <= 0) return false
      if (source[i + 1] === '/' && depth === 0) return false
      i = end
    } else if (c === '(' || c === '[' || c === '{') {
      depth++
    } else if (c === ')' || c === ']' || c === '}') {
      if (--depth < 0) return false
    } else if (depth === 0 && (c === ';' || c === '\n')) {
      return false
    } else if (depth === 0 && c === ',') {
      return true
    }
  }
  return false
}
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
  if (options.async === true || (options.jsx !== undefined && options.jsx !== false) || NAMESPACE.test(options.source) || exportsSucraseGetsWrong(options.source)) return withBabel(options)
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

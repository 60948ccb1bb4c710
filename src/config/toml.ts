import { readFile } from 'node:fs/promises'
import { parse, TomlError } from 'smol-toml'

export interface TomlFileHints {
  /** The whole message when the file does not exist. */
  missing: string
  /** What to do when the path is a folder (after "<path> is a folder, not a file; "). */
  folder: string
}

/**
 * Reads and parses a TOML file. Every failure is one message ready to show:
 * a missing file or a folder with what to do, a syntax error with the file,
 * line and column.
 */
export async function readToml (file: string, hints: TomlFileHints): Promise<Record<string, unknown>> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'ENOENT') throw new Error(hints.missing)
    if (code === 'EISDIR') throw new Error(`${file} is a folder, not a file; ${hints.folder}`)
    throw new Error(`cannot read ${file}: ${(err as Error).message}`)
  }
  try {
    return parse(text) as Record<string, unknown>
  } catch (err) {
    if (err instanceof TomlError) throw new Error(`${file}:${err.line}:${err.column}: invalid TOML: ${tomlReason(err, text)}`)
    throw err
  }
}

/** smol-toml's reason, in words a user acts on where it says something else. */
function tomlReason (err: TomlError, text: string): string {
  const reason = err.message.split('\n')[0].replace(/^Invalid TOML document: /, '')
  const line = text.split('\n')[err.line - 1] ?? ''
  const unclosed = reason === 'unfinished string' ||
    // A line break inside a one-line string: the string was never closed.
    (reason === 'control characters are not allowed in strings' && /^\r?$/.test(line.slice(err.column - 1)))
  if (unclosed) {
    const quote = /("""|'''|"|')[^"']*$/.exec(line)?.[1] ?? '"'
    return `the string on line ${err.line} is not closed; end it with ${quote}${quote.length === 1 ? ' on the same line' : ''}`
  }
  if (reason === 'control characters are not allowed in strings') {
    const code = line.codePointAt(err.column - 1) ?? 0
    return `line ${err.line} has a control character (U+${code.toString(16).toUpperCase().padStart(4, '0')}) in a string; write it as an escape such as \\u${code.toString(16).padStart(4, '0')}`
  }
  return reason
}

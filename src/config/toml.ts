import { readFile } from 'node:fs/promises'
import { parse, TomlError } from 'smol-toml'

/**
 * Reads and parses a TOML file; a missing file becomes `ifMissing`, a syntax
 * error one message with the file, line and column, ready to show to the user.
 */
export async function readToml (file: string, ifMissing: string): Promise<Record<string, unknown>> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err) {
    throw (err as NodeJS.ErrnoException).code === 'ENOENT' ? new Error(ifMissing) : err
  }
  try {
    return parse(text) as Record<string, unknown>
  } catch (err) {
    if (err instanceof TomlError) {
      const reason = err.message.split('\n')[0]
      throw new Error(`${file}:${err.line}:${err.column}: invalid TOML: ${reason}`)
    }
    throw err
  }
}

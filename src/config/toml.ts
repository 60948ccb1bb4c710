import { readFile } from 'node:fs/promises'
import { parse, TomlError } from 'smol-toml'

/**
 * Reads and parses a TOML file; a syntax error becomes one message with the
 * file, line and column, ready to show to the user.
 */
export async function readToml (file: string): Promise<Record<string, unknown>> {
  const text = await readFile(file, 'utf8')
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

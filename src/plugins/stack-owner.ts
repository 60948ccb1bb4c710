import { sep } from 'node:path'
import { fileURLToPath } from 'node:url'

// Whose code threw: an error's V8 stack read for the plugin whose folder
// holds the code that threw it, so that a fault escaping a core plugin's
// code (a promise nobody awaited, a throw in a timer or an event listener)
// can be put down to that plugin rather than to the server.

/** The file a V8 stack frame line names (`    at f (/a/b.js:1:2)`, `    at file:///a/b.js:1:2`), or undefined. */
function frameFile (line: string): string | undefined {
  const frame = line.trim()
  if (!frame.startsWith('at ')) return undefined
  let location = frame.slice(3)
  // `at name (location)`; an eval frame's location is no file, and is skipped like a native one.
  if (location.endsWith(')')) location = location.slice(location.indexOf('(') + 1, -1)
  location = location.replace(/:\d+:\d+$/, '')
  if (location.startsWith('file://')) {
    try {
      return fileURLToPath(location)
    } catch {
      return undefined
    }
  }
  return location.startsWith(sep) ? location : undefined
}

/**
 * The plugin whose folder (of `folders`, folder → plugin name) holds the
 * code at the top of `stack`: the first frame with a file of its own decides
 * (Node's `node:` frames and native ones are skipped, as they run for
 * whoever called them). Undefined when that frame is the server's, or there
 * is none.
 */
export function ownerOfStack (stack: string, folders: ReadonlyMap<string, string>): string | undefined {
  for (const line of stack.split('\n')) {
    const file = frameFile(line)
    if (file === undefined) continue
    for (const [folder, name] of folders) {
      if (file.startsWith(folder.endsWith(sep) ? folder : folder + sep)) return name
    }
    return undefined
  }
  return undefined
}

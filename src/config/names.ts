export const PLUGIN_TYPES = ['core', 'internal', 'external'] as const
export type PluginType = typeof PLUGIN_TYPES[number]

export const PLUGIN_NAME_PATTERN = '^[A-Za-z0-9_-]+$'
const PLUGIN_NAME = new RegExp(PLUGIN_NAME_PATTERN)
/** A name is a folder name (`<data dir>/ext/<name>`) and a log field: short enough for both. */
export const PLUGIN_NAME_MAX_LENGTH = 64
/** The server's own records carry `plugin: "aigis"`; a plugin of that name would mix with them. */
export const RESERVED_PLUGIN_NAMES: readonly string[] = ['aigis']

/** Why `name` cannot name a plugin, or undefined when it can. */
export function pluginNameProblem (name: unknown): string | undefined {
  if (typeof name !== 'string' || !PLUGIN_NAME.test(name)) return 'use only letters, digits, "_" and "-"'
  if (name.length > PLUGIN_NAME_MAX_LENGTH) return `a name has at most ${PLUGIN_NAME_MAX_LENGTH} characters (this one has ${name.length})`
  if (RESERVED_PLUGIN_NAMES.includes(name)) return `"${name}" is reserved: it is the server's own name in the logs`
  return undefined
}

export function isPluginName (name: unknown): name is string {
  return pluginNameProblem(name) === undefined
}

/** `value` as JSON, cut to about `max` characters, for a message. */
export function shown (value: unknown, max = 40): string {
  const text = typeof value === 'string' && value.length > max ? `${value.slice(0, max)}…` : value
  const json = JSON.stringify(text) ?? String(text)
  return json.length > max * 2 ? `${json.slice(0, max * 2)}…` : json
}

/**
 * The candidate closest to `word` (for "did you mean"), if any is a
 * reasonable guess: a few edits away (case aside), or one holds the other
 * (`TIMEOUT` → `STOP_TIMEOUT`, `LAUNCH_CMD` → `LAUNCH`), or they share a
 * word between underscores (`REQUIREMENTS_FILE` → `REQUIREMENT_FILE`).
 */
export function closest (word: string, candidates: readonly string[]): string | undefined {
  const w = word.toUpperCase()
  let best: string | undefined
  let bestDistance = Math.max(2, Math.floor(word.length / 3)) + 1
  for (const candidate of candidates) {
    const d = distance(w, candidate.toUpperCase())
    if (d < bestDistance) {
      best = candidate
      bestDistance = d
    }
  }
  if (best !== undefined) return best
  const words = (s: string): string[] => s.toUpperCase().split(/[^A-Z0-9]+/).filter((p) => p.length >= 3)
  const scored = candidates.map((candidate) => {
    const c = candidate.toUpperCase()
    const holds = w.length >= 3 && (c.includes(w) || w.includes(c))
    const shared = words(word).filter((p) => words(candidate).some((q) => q.startsWith(p) || p.startsWith(q))).length
    return { candidate, score: (holds ? 10 : 0) + shared }
  }).filter((s) => s.score > 0)
  scored.sort((a, b) => b.score - a.score)
  return scored[0]?.candidate
}

function distance (a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i)
  for (let i = 1; i <= a.length; i++) {
    const current = [i]
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1,
        previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1))
    }
    previous = current
  }
  return previous[b.length]
}

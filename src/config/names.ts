export const PLUGIN_TYPES = ['core', 'internal', 'external'] as const
export type PluginType = typeof PLUGIN_TYPES[number]

export const PLUGIN_NAME_PATTERN = '^[A-Za-z0-9_-]+$'
const PLUGIN_NAME = new RegExp(PLUGIN_NAME_PATTERN)

export function isPluginName (name: unknown): name is string {
  return typeof name === 'string' && PLUGIN_NAME.test(name)
}

/** The candidate closest to `word` (for "did you mean"), if any is close. */
export function closest (word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined
  let bestDistance = Math.max(2, Math.floor(word.length / 3)) + 1
  for (const candidate of candidates) {
    const d = distance(word.toUpperCase(), candidate.toUpperCase())
    if (d < bestDistance) {
      best = candidate
      bestDistance = d
    }
  }
  return best
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

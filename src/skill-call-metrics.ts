import type { Metric, Registry } from 'prom-client'
import type { Skill } from './skills/registry.js'

// Skill call counts, error counts and durations, kept as plain numbers per
// skill and turned into Prometheus series only when scraped. prom-client's
// labelled children hash their label values on every inc() and observe(); on
// the skill-call hot path that was a measurable share of a call (see
// bench/skills.bench.ts), and here a call costs a bucket search and a few
// additions.
//
// The skill route reports to it directly (no onResponse hook, which would
// make Fastify watch every response): a call answered with the skill's
// result is `record`ed; a call that failed is `observe`d when the skill
// ends, and `count`ed by the route's onError hook with the status it is
// answered, as are calls refused before the skill ran (bad JSON, too large).
//
// The three series are registered on the app's prom-client registry as metric
// objects of their own (name, help, type and `get()`, the shape the registry
// formats), so /metrics prints them like any other.

interface SkillSeries {
  plugin: string
  skill: string
  /** Calls answered. */
  count: number
  /** Calls answered with a 4xx or 5xx, by status. */
  errors: Map<number, number>
  /** Calls that reached the skill, and their total time. */
  observed: number
  sum: number
  /** Observations per bucket (not cumulative); the last slot is +Inf. */
  buckets: number[]
}

interface Sample { labels: Record<string, string | number>, value: number, metricName?: string }

export class SkillCallMetrics {
  readonly #bounds: number[]
  /** By skill id. */
  readonly #series = new Map<string, SkillSeries>()

  constructor (registry: Registry, names: { calls: string, errors: string, duration: string }, bounds: number[]) {
    this.#bounds = bounds
    this.#register(registry, names.calls, 'Skill calls answered, by skill', 'counter', () => this.#callSamples())
    this.#register(registry, names.errors, 'Skill calls answered with a 4xx or 5xx, by skill and status', 'counter', () => this.#errorSamples())
    this.#register(registry, names.duration, 'Time a skill took to give its result or fail, by skill', 'histogram', () => this.#durationSamples(names.duration))
  }

  /** A call answered with the skill's result (`status` 200 or 204) after `seconds`. */
  record (skill: Skill, status: number, seconds: number): void {
    const s = this.#seriesOf(skill)
    this.#count(s, status)
    this.#observe(s, seconds)
  }

  /** The time a call that failed spent in the skill (it is counted by `count`). */
  observe (skill: Skill, seconds: number): void {
    this.#observe(this.#seriesOf(skill), seconds)
  }

  /** A call answered `status` without the skill's result: it failed, or was refused before the skill ran. */
  count (skill: Skill, status: number): void {
    this.#count(this.#seriesOf(skill), status)
  }

  /**
   * A call of skill `id` answered `status` while the skill is not
   * registered (its plugin stopped, failed, or being reloaded): counted when
   * the skill has series already, so an outage shows in its error rate;
   * never a new series (a name nobody knows adds none).
   */
  countKnown (id: string, status: number): void {
    const s = this.#series.get(id)
    if (s !== undefined) this.#count(s, status)
  }

  #seriesOf (skill: Skill): SkillSeries {
    let s = this.#series.get(skill.id)
    if (s === undefined) {
      s = { plugin: skill.plugin, skill: skill.name, count: 0, errors: new Map(), observed: 0, sum: 0, buckets: new Array<number>(this.#bounds.length + 1).fill(0) }
      this.#series.set(skill.id, s)
    }
    return s
  }

  #count (s: SkillSeries, status: number): void {
    s.count++
    if (status >= 400) s.errors.set(status, (s.errors.get(status) ?? 0) + 1)
  }

  #observe (s: SkillSeries, seconds: number): void {
    s.observed++
    s.sum += seconds
    let i = 0
    while (i < this.#bounds.length && seconds > this.#bounds[i]) i++
    s.buckets[i]++
  }

  /** Drops every series of a plugin (it was deleted). */
  removePlugin (plugin: string): void {
    for (const [id, s] of this.#series) if (s.plugin === plugin) this.#series.delete(id)
  }

  #register (registry: Registry, name: string, help: string, type: 'counter' | 'histogram', values: () => Sample[]): void {
    const metric = {
      name,
      help,
      type,
      aggregator: 'sum',
      get: async () => ({ name, help, type, aggregator: 'sum', values: values() })
    }
    registry.registerMetric(metric as unknown as Metric)
  }

  #callSamples (): Sample[] {
    return [...this.#series.values()].map((s) => ({ labels: { plugin: s.plugin, skill: s.skill }, value: s.count }))
  }

  #errorSamples (): Sample[] {
    const samples: Sample[] = []
    for (const s of this.#series.values()) {
      for (const [status, count] of s.errors) samples.push({ labels: { plugin: s.plugin, skill: s.skill, status: String(status) }, value: count })
    }
    return samples
  }

  #durationSamples (name: string): Sample[] {
    const samples: Sample[] = []
    for (const s of this.#series.values()) {
      let cumulative = 0
      this.#bounds.forEach((le, i) => {
        cumulative += s.buckets[i]
        samples.push({ labels: { plugin: s.plugin, skill: s.skill, le }, value: cumulative, metricName: `${name}_bucket` })
      })
      samples.push(
        { labels: { plugin: s.plugin, skill: s.skill, le: '+Inf' }, value: s.observed, metricName: `${name}_bucket` },
        { labels: { plugin: s.plugin, skill: s.skill }, value: s.sum, metricName: `${name}_sum` },
        { labels: { plugin: s.plugin, skill: s.skill }, value: s.observed, metricName: `${name}_count` }
      )
    }
    return samples
  }
}

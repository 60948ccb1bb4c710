import fp from 'fastify-plugin'
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { LevelName } from './log/levels.js'
import type { HubEntry } from './log/hub.js'
import { PLUGIN_STATES, type PluginStatus } from './plugins/status.js'

// Prometheus metrics, one registry per app (two apps in one process never
// share a series). Everything is pushed by the engine's own events: skill
// calls by an onResponse hook on the one skill route, plugin states and
// restarts by the plugin manager's `state` events, log records by the hub's
// `record` events. Only the SSE client count is read at scrape time.
//
// Label values come from registered skills and known plugins only, never from
// a raw URL, so random requests cannot grow the number of series.

export interface AigisMetrics {
  registry: Registry
  /** How many SSE clients are connected (GET /logs). */
  sseClients: () => number
}

declare module 'fastify' {
  interface FastifyInstance {
    metrics: AigisMetrics
  }
}

const SKILL_ROUTE = '/skills/:plugin/*'
// Skills range from microseconds (a constant) to the 30 s timeout.
const DURATION_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]

interface SkillSeries {
  plugin: string
  skill: string
  /** Statuses it has an error series for. */
  errorStatuses: Set<string>
  calls: Counter.Internal
  duration: Histogram.Internal<'plugin' | 'skill'>
}

async function metrics (app: FastifyInstance): Promise<void> {
  const { skills, plugins, hub } = app.aigis
  const registry = new Registry()
  // The hub's SSE fan-out keeps the count; read at scrape time.
  const state: AigisMetrics = { registry, sseClients: () => hub.sseClients }
  app.decorate('metrics', state)
  collectDefaultMetrics({ register: registry })

  const skillCalls = new Counter({ name: 'aigis_skill_calls_total', help: 'Skill calls answered, by skill', labelNames: ['plugin', 'skill'], registers: [registry] })
  const skillErrors = new Counter({ name: 'aigis_skill_errors_total', help: 'Skill calls answered with a 4xx or 5xx, by skill and status', labelNames: ['plugin', 'skill', 'status'], registers: [registry] })
  const skillDuration = new Histogram({ name: 'aigis_skill_duration_seconds', help: 'Time to answer a skill call, by skill', labelNames: ['plugin', 'skill'], buckets: DURATION_BUCKETS, registers: [registry] })

  // One cached set of labelled children a skill: the per-call work is a map lookup, an inc and an observe.
  const series = new Map<string, SkillSeries>()
  const seriesOf = (plugin: string, skill: string, id: string): SkillSeries => {
    let s = series.get(id)
    if (s === undefined) {
      s = { plugin, skill, errorStatuses: new Set(), calls: skillCalls.labels(plugin, skill), duration: skillDuration.labels(plugin, skill) }
      series.set(id, s)
    }
    return s
  }

  const onSkillResponse = (request: FastifyRequest, reply: FastifyReply, done: () => void): void => {
    const params = request.params as { plugin?: string, '*'?: string }
    const skill = skills.get(params.plugin ?? '', params['*'] ?? '')
    if (skill !== undefined) {
      const s = seriesOf(skill.plugin, skill.name, skill.id)
      s.calls.inc()
      s.duration.observe(reply.elapsedTime / 1000)
      if (reply.statusCode >= 400) {
        const status = String(reply.statusCode)
        s.errorStatuses.add(status)
        skillErrors.labels(skill.plugin, skill.name, status).inc()
      }
    }
    done()
  }
  // Only the skill route gets the hook: every other route pays nothing.
  app.addHook('onRoute', (route) => {
    if (route.url !== SKILL_ROUTE || route.method !== 'POST') return
    const existing = route.onResponse === undefined ? [] : Array.isArray(route.onResponse) ? route.onResponse : [route.onResponse]
    route.onResponse = [...existing, onSkillResponse] as typeof route.onResponse
  })

  const pluginState = new Gauge({
    name: 'aigis_plugin_state',
    help: 'The plugin\'s state: 1 for the state it is in, 0 for the others',
    labelNames: ['plugin', 'state'],
    registers: [registry]
  })
  const restarts = new Counter({ name: 'aigis_plugin_restarts_total', help: 'Restarts after an unexpected exit, by plugin', labelNames: ['plugin'], registers: [registry] })
  /** Restart count last seen a plugin (a reload starts a new count). */
  const known = new Map<string, number>()
  const onState = (status: PluginStatus): void => {
    for (const s of PLUGIN_STATES) pluginState.set({ plugin: status.name, state: s }, s === status.state ? 1 : 0)
    const before = known.get(status.name)
    if (before === undefined) restarts.inc({ plugin: status.name }, 0)
    else if (status.restarts > before) restarts.inc({ plugin: status.name }, status.restarts - before)
    known.set(status.name, status.restarts)
  }
  for (const status of plugins.list()) onState(status)
  plugins.on('state', onState)

  const records = new Counter({ name: 'aigis_log_records_total', help: 'Records in the central log, by plugin and level', labelNames: ['plugin', 'level'], registers: [registry] })
  // The hub's hot path: two map lookups and an inc a record.
  const recordCounters = new Map<string, Map<LevelName, Counter.Internal>>()
  const onRecord = ({ record }: HubEntry): void => {
    let byLevel = recordCounters.get(record.plugin)
    if (byLevel === undefined) {
      byLevel = new Map()
      recordCounters.set(record.plugin, byLevel)
    }
    let counter = byLevel.get(record.level)
    if (counter === undefined) {
      counter = records.labels(record.plugin, record.level)
      byLevel.set(record.level, counter)
    }
    counter.inc()
  }
  hub.on('record', onRecord)

  // A deleted plugin leaves no series behind.
  const onRemoved = (name: string): void => {
    for (const s of PLUGIN_STATES) pluginState.remove(name, s)
    restarts.remove(name)
    known.delete(name)
    for (const level of recordCounters.get(name)?.keys() ?? []) records.remove(name, level)
    recordCounters.delete(name)
    for (const [id, s] of series) {
      if (s.plugin !== name) continue
      skillCalls.remove(name, s.skill)
      skillDuration.remove(name, s.skill)
      for (const status of s.errorStatuses) skillErrors.remove(name, s.skill, status)
      series.delete(id)
    }
  }
  plugins.on('removed', onRemoved)

  const sse = new Gauge({
    name: 'aigis_sse_clients',
    help: 'Clients connected to GET /logs',
    registers: [registry],
    collect () { sse.set(state.sseClients()) }
  })

  app.addHook('onClose', async () => {
    plugins.off('state', onState)
    plugins.off('removed', onRemoved)
    hub.off('record', onRecord)
  })
}

export default fp(metrics, { name: 'aigis-metrics' })

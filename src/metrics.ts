import fp from 'fastify-plugin'
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client'
import type { FastifyInstance } from 'fastify'
import { SERVER_PLUGIN } from './log/record.js'
import { PLUGIN_STATES, type PluginStatus } from './plugins/status.js'
import { SkillCallMetrics } from './skill-call-metrics.js'

// Prometheus metrics, one registry per app (two apps in one process never
// share a series). Everything is pushed by the engine's own events: skill
// calls by the skill route itself (counted in plain numbers, see
// skill-call-metrics.ts), plugin states and restarts by the plugin manager's
// `state` events. Log record counts and the SSE client count are read from
// the hub at scrape time.
//
// Label values come from registered skills and known plugins only, never from
// a raw URL, so random requests cannot grow the number of series.

export interface AigisMetrics {
  registry: Registry
  /** Where the skill route reports each call. */
  skillCalls: SkillCallMetrics
}

declare module 'fastify' {
  interface FastifyInstance {
    metrics: AigisMetrics
  }
}

// Skills range from microseconds (a constant) to the 30 s timeout.
const DURATION_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]

async function metrics (app: FastifyInstance): Promise<void> {
  const { plugins, hub } = app.aigis
  const registry = new Registry()
  collectDefaultMetrics({ register: registry })
  const skillCalls = new SkillCallMetrics(registry, { calls: 'aigis_skill_calls_total', errors: 'aigis_skill_errors_total', duration: 'aigis_skill_duration_seconds' }, DURATION_BUCKETS)
  app.decorate('metrics', { registry, skillCalls } satisfies AigisMetrics)

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

  // Read from the hub's own counts at scrape time: a listener on every record
  // would cost a log flood a call a line. A deleted plugin's counts are left out.
  const records: Counter = new Counter({
    name: 'aigis_log_records_total',
    help: 'Records in the central log, by plugin and level',
    labelNames: ['plugin', 'level'],
    registers: [registry],
    collect () {
      records.reset()
      for (const { plugin, level, count } of hub.recordCounts()) {
        if (plugin === SERVER_PLUGIN || plugins.has(plugin)) records.inc({ plugin, level }, count)
      }
    }
  })

  // A deleted plugin leaves no series behind.
  const onRemoved = (name: string): void => {
    for (const s of PLUGIN_STATES) pluginState.remove(name, s)
    restarts.remove(name)
    known.delete(name)
    skillCalls.removePlugin(name)
  }
  plugins.on('removed', onRemoved)

  const sse = new Gauge({
    name: 'aigis_sse_clients',
    help: 'Clients connected to GET /logs',
    registers: [registry],
    collect () { sse.set(hub.sseClients) } // the hub's SSE fan-out keeps the count
  })

  app.addHook('onClose', async () => {
    plugins.off('state', onState)
    plugins.off('removed', onRemoved)
  })
}

export default fp(metrics, { name: 'aigis-metrics' })

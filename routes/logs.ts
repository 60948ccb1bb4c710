import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { LEVELS, type LevelName } from '../src/log/levels.js'
import { ErrorRef } from '../src/schemas/common.js'

const NAME_LIST = '^[A-Za-z0-9_-]+(,[A-Za-z0-9_-]+)*$'

export const LogsQuery = Type.Object({
  plugin: Type.Optional(Type.String({ pattern: NAME_LIST, description: 'Only these plugins, comma-separated (`aigis` is the server itself)', examples: ['aigis,ticker'] })),
  stream: Type.Optional(Type.Enum(['log', 'stdout', 'stderr'], { description: 'Only this stream: `log` (loggers), `stdout` or `stderr` (subprocess output)' })),
  level: Type.Optional(Type.Enum(Object.keys(LEVELS) as LevelName[], { description: 'This level and above' })),
  lines: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000, description: 'First replay the last N matching retained records' })),
  after: Type.Optional(Type.Integer({ minimum: 0, description: 'First replay every retained record after this seq (as Last-Event-ID does; the header wins)' }))
})
// Unknown parameters are ignored, as on every GET route: cache busters
// (`_=123`) and EventSource polyfills (`lastEventId=`) add their own, and a
// 400 would stop the stream for good. Known ones are checked strictly.

export const LogsHeaders = Type.Object({
  'last-event-id': Type.Optional(Type.String({ description: 'Set by EventSource on reconnect: every retained record after this seq is replayed first. A value that is not a seq is ignored (a 400 would end the EventSource for good).' }))
})

/** A Last-Event-ID that is one of our seqs, else undefined: the stream is then as if it had none. */
function lastEventId (header: string | undefined): number | undefined {
  return header !== undefined && /^[0-9]{1,15}$/.test(header) ? Number(header) : undefined
}

/**
 * GET /logs: the aggregated log as server-sent events. The reply is taken
 * over from Fastify (hijacked) and handed to the hub's SSE pump, which owns
 * it until the client goes away or the server closes.
 */
const logs: FastifyPluginAsyncTypebox = async (app) => {
  const { hub } = app.aigis

  app.get('/logs', {
    schema: {
      tags: ['logs'],
      summary: 'Stream the aggregated log (server-sent events)',
      description: 'Each record is an event `id: <seq>`, `event: log`, `data: <record JSON>`. ' +
        'A client that falls too far behind gets `event: gap` with `{ missed, from, to, lost }` and goes on with live records; ' +
        'the skipped ones can be replayed with `?after=<from - 1>` while retained. A `:` comment is sent every 15 s as a heartbeat.',
      querystring: LogsQuery,
      headers: LogsHeaders,
      response: {
        200: {
          description: 'An endless text/event-stream',
          content: { 'text/event-stream': { schema: Type.String() } }
        },
        400: ErrorRef
      }
    }
  }, async (request, reply) => {
    const { plugin, stream, level, lines, after } = request.query
    const fromHeader = lastEventId(request.headers['last-event-id'])
    reply.hijack()
    const res = reply.raw
    // Headers other hooks set on the reply (CORS, ...) still apply to the hijacked one.
    for (const [name, value] of Object.entries(reply.getHeaders())) {
      if (value !== undefined) res.setHeader(name, value)
    }
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-cache',
      'X-Accel-Buffering': 'no',
      // One response per connection: ending it at shutdown closes the socket too.
      Connection: 'close'
    })
    // A HEAD (Fastify answers it with the GET's handler) asks for the headers alone: a stream would never end.
    if (request.method === 'HEAD') return void res.end()
    hub.streams.open(res, {
      filter: {
        plugins: plugin !== undefined ? new Set(plugin.split(',')) : undefined,
        stream,
        minLevel: level !== undefined ? LEVELS[level] : undefined
      },
      after: fromHeader ?? after,
      lines
    })
  })

  // Before the server stops accepting: open streams would keep app.close() waiting.
  app.addHook('preClose', async () => {
    hub.streams.closeAll()
  })
}

export default logs

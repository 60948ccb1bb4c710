import { executionAsyncResource } from 'node:async_hooks'

// Keeps process.nextTick fast for the life of the server.
//
// Node queues each nextTick callback as a small object it builds property by
// property (`{ [async_id_symbol]: …, [trigger_async_id_symbol]: …, callback,
// args }`, plus its async context frame in newer versions), and drops it
// once run. V8 keeps the hidden classes ("maps") of those objects only while
// one is alive: a full garbage collection with no tick queued frees them,
// and the next nextTick makes new ones. aigis's boot (plugins imported,
// sources copied, schemas compiled) runs several such collections, and after
// a few rounds V8 sees the construction site as megamorphic and compiles
// nextTick to a generic path four to six times slower a call. An HTTP
// request goes through nextTick several times: this cost about a tenth of a
// skill call's CPU (bench/skills.bench.ts, CPU per request). Holding one
// queued object keeps its maps, so the site stays monomorphic. Imported
// first by app.ts, before boot allocates much.

const held: object[] = []

process.nextTick(() => {
  // Inside a nextTick callback, the current async resource is its queue entry.
  held.push(executionAsyncResource())
})

/** The queue entry held, once the first tick ran (for tests). */
export function heldTickEntry (): object | undefined {
  return held[0]
}

import { once } from 'node:events'
import { pino } from 'pino'
import { PinoPretty } from 'pino-pretty'
import type { LineBatch, LogHub } from './hub.js'
import { CUSTOM_LEVELS } from './levels.js'
import { SerialWriter } from './serial-writer.js'

/** How long closing waits for stdout to take what is buffered. */
const CLOSE_TIMEOUT_MS = 5000

/**
 * Makes the server's stdout a destination of the hub: one pino JSON line per
 * record, or pino-pretty's rendering of it for people at a terminal. The hub
 * hands over the new records' JSON lines in bulk (see LogHub#onRecords),
 * which SonicBoom writes asynchronously, one write at a time: what comes
 * meanwhile goes out in the next (see SerialWriter). Returns a function that
 * detaches it and resolves once everything is written.
 */
export function logToStdout (hub: LogHub, pretty: boolean): () => Promise<void> {
  const out = pretty
    ? PinoPretty({
      colorize: process.stdout.isTTY === true,
      customLevels: CUSTOM_LEVELS,
      customColors: 'boot:magenta,shutdown:magenta',
      useOnlyCustomProps: false,
      ignore: 'seq,stream,plugin',
      messageKey: 'msg',
      messageFormat: '[{plugin}] {msg}',
      singleLine: false
    })
    // A large maxWrite: what waited in the SerialWriter goes out in one write, so it cannot fall behind.
    : pino.destination({ dest: 1, sync: false, contentMode: 'buffer', maxWrite: 16 * 1024 * 1024 })
  // In buffer mode SonicBoom takes bytes (its types only know strings), and says `drain` once it has written everything.
  const writer = pretty ? undefined : new SerialWriter((data, done) => { out.once('drain', done).write(data as unknown as string) })
  const read = (lines: LineBatch): void => {
    for (const view of lines.views) {
      if (writer !== undefined) writer.push(view)
      else out.write(view as unknown as string)
    }
  }
  const stop = hub.onRecords(read)
  let closing: Promise<void> | undefined
  return async () => {
    closing ??= (async () => {
      hub.flush()
      stop()
      const closed = once(out, 'close').catch(() => {})
      const rest = writer?.takePending()
      if (rest !== undefined) out.write(rest as unknown as string)
      out.end()
      await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, CLOSE_TIMEOUT_MS).unref())])
    })()
    await closing
  }
}

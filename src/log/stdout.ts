import { pino } from 'pino'
import { PinoPretty } from 'pino-pretty'
import type { LogHub } from './hub.js'
import { CUSTOM_LEVELS } from './levels.js'

/**
 * Makes the server's stdout a destination of the hub: one pino JSON line per
 * record, or pino-pretty's rendering of it for people at a terminal.
 * Returns a function that flushes and detaches it.
 */
export function logToStdout (hub: LogHub, pretty: boolean): () => void {
  const out = pretty
    ? PinoPretty({ colorize: true, customLevels: CUSTOM_LEVELS, useOnlyCustomProps: false, ignore: 'seq,stream', messageKey: 'msg', singleLine: false })
    : pino.destination({ dest: 1, sync: false, minLength: 4096 })
  const write = (entry: { json: string }): void => { out.write(entry.json + '\n') }
  hub.on('record', write)
  return () => {
    hub.off('record', write)
    if ('flushSync' in out) out.flushSync()
    else out.end()
  }
}

/** Bytes a JSON string cannot hold as they are: the controls (but `\n`, which lines are split on), `"` and `\`. */
const ESCAPED = [...Array.from({ length: 32 }, (_, byte) => byte).filter((byte) => byte !== 10), 34, 92]

/**
 * Finds the bytes of a buffer of UTF-8 lines that JSON would escape. Each
 * byte value is looked for with Buffer#indexOf (memchr), and where it was
 * next found is remembered: a buffer with none costs 33 native scans, a
 * few nanoseconds a line, where a JavaScript loop over its bytes or a
 * regular expression over its text costs over 100.
 */
export class EscapeFinder {
  readonly #bytes: Buffer
  /** By ESCAPED index: where that byte is next, from the last `next` call on (-1: not looked for yet). */
  readonly #found = new Int32Array(ESCAPED.length).fill(-1)

  constructor (bytes: Buffer) {
    this.#bytes = bytes
  }

  /** The first index at or after `from` of a byte to escape; the buffer's length when there is none. */
  next (from: number): number {
    const bytes = this.#bytes
    let first = bytes.length
    for (let i = 0; i < ESCAPED.length; i++) {
      let at = this.#found[i]
      if (at < from) {
        at = bytes.indexOf(ESCAPED[i], from)
        this.#found[i] = at = at < 0 ? bytes.length : at
      }
      if (at < first) first = at
    }
    return first
  }
}

/**
 * Writes buffers to a destination one write at a time; what is pushed while
 * a write is under way waits for it, and all of it goes out in the next
 * write. So a flood costs a write for every round trip to the disk, and
 * what waits stays about what comes in during one round trip: writes grow
 * with the backlog (a write a piece could not keep up with a flood while
 * the event loop is busy, and the backlog grew without bound). Views that
 * follow each other in memory, as the hub's consecutive hand-overs of JSON
 * lines do, are joined without a copy; others are copied into one buffer.
 * Nothing is dropped.
 */
export class SerialWriter {
  readonly #write: (data: Buffer, done: () => void) => void
  #writing = false
  #pending: Buffer[] = []

  /** `write` writes `data` and calls `done` once it is written. */
  constructor (write: (data: Buffer, done: () => void) => void) {
    this.#write = write
  }

  push (view: Buffer): void {
    if (!this.#writing) return this.#start(view)
    const pending = this.#pending
    const last = pending[pending.length - 1]
    if (last !== undefined && last.buffer === view.buffer && last.byteOffset + last.length === view.byteOffset) {
      pending[pending.length - 1] = Buffer.from(last.buffer, last.byteOffset, last.length + view.length)
    } else {
      pending.push(view)
    }
  }

  /** Takes what waits, as one buffer (for a last write before closing); undefined when nothing does. */
  takePending (): Buffer | undefined {
    const pending = this.#pending
    this.#pending = []
    return pending.length === 0 ? undefined : pending.length === 1 ? pending[0] : Buffer.concat(pending)
  }

  #start (data: Buffer): void {
    this.#writing = true
    this.#write(data, this.#done)
  }

  #done = (): void => {
    this.#writing = false
    const next = this.takePending()
    if (next !== undefined) this.#start(next)
  }
}

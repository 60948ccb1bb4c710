// SerialWriter: one write at a time, nothing dropped, adjacent views joined without a copy.
import t from 'tap'
import { SerialWriter } from '../src/log/serial-writer.js'

t.test('writes one at a time, in order, everything that waits in the next write', async (t) => {
  const writes: Buffer[] = []
  const dones: Array<() => void> = []
  const writer = new SerialWriter((data, done) => { writes.push(data); dones.push(done) })
  const chunk = Buffer.from('aaabbbccc')
  writer.push(chunk.subarray(0, 3))
  writer.push(chunk.subarray(3, 6))
  writer.push(chunk.subarray(6, 9))
  t.equal(writes.length, 1, 'the others wait for the first write')
  dones.shift()!()
  t.equal(writes[1].toString(), 'bbbccc', 'adjacent views went out as one')
  t.equal(writes[1].buffer, chunk.buffer, 'without a copy')
  writer.push(Buffer.from('else'))
  writer.push(Buffer.from('where'))
  writer.push(Buffer.from('!'))
  dones.shift()!()
  t.equal(writes.length, 3)
  t.equal(writes[2].toString(), 'elsewhere!', 'views apart in memory went out in one write too')
  writer.push(Buffer.from('x'))
  t.equal(writer.takePending()?.toString(), 'x', 'what waits can be taken for a last write')
  t.equal(writer.takePending(), undefined)
})

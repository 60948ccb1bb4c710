// SerialWriter: one write at a time, nothing dropped, adjacent views joined without a copy.
import t from 'tap'
import { SerialWriter } from '../src/log/serial-writer.js'

t.test('writes one at a time, in order, joining adjacent views that wait', async (t) => {
  const writes: Buffer[] = []
  const dones: Array<() => void> = []
  const writer = new SerialWriter((data, done) => { writes.push(data); dones.push(done) })
  const chunk = Buffer.from('aaabbbccc')
  writer.push(chunk.subarray(0, 3))
  writer.push(chunk.subarray(3, 6))
  writer.push(chunk.subarray(6, 9))
  writer.push(Buffer.from('elsewhere'))
  t.equal(writes.length, 1, 'the others wait for the first write')
  dones.shift()!()
  t.equal(writes[1].toString(), 'bbbccc', 'adjacent views went out as one')
  t.equal(writes[1].buffer, chunk.buffer, 'without a copy')
  dones.shift()!()
  t.equal(writes[2].toString(), 'elsewhere')
  writer.push(Buffer.from('x'))
  t.equal(writer.takePending()?.toString(), 'x', 'what waits can be taken for a last write')
  t.equal(writer.takePending(), undefined)
})

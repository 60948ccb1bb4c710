import t from 'tap'
import { corePlugin, startServer } from './helper.js'

t.test('a core skill answers over HTTP', async (t) => {
  const server = await startServer(t, {
    config: '[core]\nhello = "plugins/hello"\n',
    files: corePlugin('plugins/hello', `
      export const SKILLS = ['greet']
      export function greet (input: { name: string }) { return 'Hello, ' + input.name + '!' }
    `)
  })
  const res = await server.call('/skills/hello/greet', { method: 'POST', json: { name: 'Ada' } })
  t.equal(res.status, 200)
  t.equal(res.body, 'Hello, Ada!')
})

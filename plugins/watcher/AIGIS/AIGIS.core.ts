// The watcher's own skill, served in the aigis server while its process runs:
// POST /skills/watcher/lastCheck answers what the process last saw.
import { readFile } from 'node:fs/promises'
import { Type } from 'typebox'
import { SkillError } from 'aigis'

export const SKILLS = ['lastCheck']

export async function lastCheck (): Promise<{ checks: number, answer: string, at: string }> {
  try {
    return JSON.parse(await readFile(new URL('../last-check.json', import.meta.url), 'utf8'))
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new SkillError(404, 'The watcher has not checked yet')
    throw err
  }
}

export const SCHEMAS = {
  lastCheck: {
    description: 'The last answer the watcher process got from example.greet',
    response: Type.Object({
      checks: Type.Integer({ description: 'Checks made since the process started' }),
      answer: Type.String(),
      at: Type.String({ format: 'date-time' })
    })
  }
}

// The `aigis` package as plugins see it: types for skills and a helper to
// answer a call with a 4xx. Core plugins import it without installing it.
export type { SkillContext } from './skills/service.js'
export type { SkillSchema } from './skills/registry.js'
export type { SkillCaller, SkillPath } from './skill-proxy.js'
export type { AigisLogger } from './log/logger.js'

/** Throw from a skill to answer with this 4xx status and message instead of a 500. */
export class SkillError extends Error {
  readonly statusCode: number
  readonly code?: string

  constructor (statusCode: number, message: string, code?: string) {
    super(message)
    this.name = 'SkillError'
    this.statusCode = statusCode
    this.code = code
  }
}

import type { AigisLogger } from '../log/logger.js'
import { InvalidSkillInput, PluginNotFound, PluginNotRunning, SkillFailed, SkillNotFound, SkillTimeout } from '../errors.js'
import { skillCaller, splitSkillId, type SkillCaller } from '../skill-proxy.js'
import type { Skill, SkillRegistry } from './registry.js'
import { describeErrors, SkillValidator } from './validator.js'
import type { ValidateFunction } from 'ajv'

/** What a function skill receives as its second argument. */
export interface SkillContext {
  log: AigisLogger
  aigis: SkillCaller
  signal: AbortSignal
  plugin: string
}

export interface SkillServiceOptions {
  registry: SkillRegistry
  logger: AigisLogger
  pluginLogger: (plugin: string) => AigisLogger
  timeoutMs: number
  /** The plugin's state, or undefined when there is no such plugin. */
  pluginState: (plugin: string) => string | undefined
}

/** Gives the caller's AbortSignal, made only when needed. */
export type ParentSignal = () => AbortSignal | undefined

function isThenable (value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | null)?.then === 'function'
}

/** An error a caller sees, tagged with the plugin and skill it concerns. */
type TaggedError = Error & { statusCode?: number, code?: string, plugin?: string, skill?: string }

function tag<E extends TaggedError> (err: E, plugin: string, skill: string): E {
  err.plugin = plugin
  err.skill = skill
  return err
}

/**
 * Finds and runs skills: validation, the per-call context, the timeout and
 * the mapping of whatever a skill throws onto an HTTP status. The HTTP route
 * and the in-process `ctx.aigis` caller both go through here.
 */
export class SkillService {
  #registry: SkillRegistry
  #logger: AigisLogger
  #pluginLogger: (plugin: string) => AigisLogger
  #timeoutMs: number
  #pluginState: (plugin: string) => string | undefined
  #loggers = new Map<string, AigisLogger>()
  #validator = new SkillValidator()
  #validators = new WeakMap<Skill, ValidateFunction>()

  constructor (options: SkillServiceOptions) {
    this.#registry = options.registry
    this.#logger = options.logger
    this.#pluginLogger = options.pluginLogger
    this.#timeoutMs = options.timeoutMs
    this.#pluginState = options.pluginState
  }

  /** The skill, or the 404/409 error that explains why it cannot be called. */
  find (plugin: string, name: string): Skill {
    const skill = this.#registry.get(plugin, name)
    if (skill !== undefined) return skill
    const state = this.#pluginState(plugin)
    if (state === undefined) throw tag(new PluginNotFound(plugin), plugin, name)
    if (state !== 'running') {
      throw tag(new PluginNotRunning(plugin, state, plugin), plugin, name)
    }
    throw tag(new SkillNotFound(plugin, name), plugin, name)
  }

  /** Calls a skill by id from inside the server (`ctx.aigis`). */
  async call (id: string, input: unknown, parent?: ParentSignal): Promise<unknown> {
    const { plugin, skill } = splitSkillId(id)
    return await this.invoke(this.find(plugin, skill), input, parent)
  }

  /**
   * Validates the input and runs the skill. A synchronous result returns at
   * once; only a promise gets the timeout and the caller's abort wired to
   * `ctx.signal`, which itself is only made when the skill reads it.
   */
  invoke (skill: Skill, input: unknown, parent?: ParentSignal): unknown {
    const validate = this.#validatorOf(skill)
    if (validate !== undefined && !validate(input)) {
      throw tag(new InvalidSkillInput(skill.id, describeErrors(validate)), skill.plugin, skill.name)
    }
    if (skill.kind === 'value') return skill.target

    let controller: AbortController | undefined
    const abortable = (): AbortController => (controller ??= new AbortController())
    const ctx = this.#context(skill.plugin, () => abortable().signal)
    let result: unknown
    try {
      result = (skill.target as (i: unknown, c: SkillContext) => unknown)(input, ctx)
    } catch (err) {
      throw this.#asCallError(skill, err)
    }
    if (!isThenable(result)) return result
    return this.#settle(skill, result, abortable, parent)
  }

  async #settle (skill: Skill, pending: PromiseLike<unknown>, abortable: () => AbortController, parent?: ParentSignal): Promise<unknown> {
    const timeout = tag(new SkillTimeout(skill.id, this.#timeoutMs / 1000), skill.plugin, skill.name)
    let timer: NodeJS.Timeout | undefined
    const timedOut = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => { abortable().abort(timeout); reject(timeout) }, this.#timeoutMs)
    })
    const parentSignal = parent?.()
    const onAbort = (): void => abortable().abort(parentSignal!.reason)
    parentSignal?.addEventListener('abort', onAbort, { once: true })
    try {
      return await Promise.race([pending, timedOut])
    } catch (err) {
      throw err === timeout ? timeout : this.#asCallError(skill, err)
    } finally {
      clearTimeout(timer)
      parentSignal?.removeEventListener('abort', onAbort)
    }
  }

  // Compiled on first call, not at load: boot stays fast with thousands of skills.
  #validatorOf (skill: Skill): ValidateFunction | undefined {
    if (skill.schema.body === undefined) return undefined
    let validate = this.#validators.get(skill)
    if (validate === undefined) {
      validate = this.#validator.compile(skill.schema.body)
      this.#validators.set(skill, validate)
    }
    return validate
  }

  #context (plugin: string, signal: () => AbortSignal): SkillContext {
    let log = this.#loggers.get(plugin)
    if (log === undefined) {
      log = this.#pluginLogger(plugin)
      this.#loggers.set(plugin, log)
    }
    const service = this
    // Both built on first use: most skills never read them.
    return {
      log,
      plugin,
      get signal () { return signal() },
      get aigis () { return skillCaller((id, input) => service.call(id, input, signal)) }
    }
  }

  #asCallError (skill: Skill, err: unknown): TaggedError {
    const thrown = (err instanceof Error ? err : new Error(String(err))) as TaggedError
    if (typeof thrown.code === 'string' && thrown.code.startsWith('AIGIS_') && thrown.plugin !== undefined) {
      return thrown // a nested ctx.aigis call already explained itself
    }
    const status = thrown.statusCode
    if (typeof status === 'number' && status >= 400 && status < 500) {
      return tag(Object.assign(new Error(thrown.message), { statusCode: status, code: thrown.code ?? 'AIGIS_SKILL_REJECTED' }), skill.plugin, skill.name)
    }
    this.#logger.error({ plugin: skill.plugin, skill: skill.name, err: thrown }, `skill ${skill.id} threw: ${thrown.message}`)
    return tag(new SkillFailed(thrown.message), skill.plugin, skill.name)
  }
}

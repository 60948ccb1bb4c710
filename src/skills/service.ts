import type { AigisLogger } from '../log/logger.js'
import { InvalidSkillInput, PluginNotFound, PluginNotRunning, PluginStoppedDuringCall, SkillCallsTooDeep, SkillFailed, SkillNotFound, SkillSchemaInvalid, SkillTimeout } from '../errors.js'
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
  pluginLogger: (plugin: string) => AigisLogger
  timeoutMs: number
  /** The plugin's state, or undefined when there is no such plugin. */
  pluginState: (plugin: string) => string | undefined
}

/** Gives the caller's AbortSignal, made only when needed. */
export type ParentSignal = () => AbortSignal | undefined

/**
 * Most calls nested through `ctx.aigis` (a skill calling a skill calling ...).
 * Without a bound, a skill that calls itself overflowed the stack inside V8's
 * promise machinery, which took the whole server down, not just the call.
 */
export const MAX_CALL_DEPTH = 64

function isThenable (value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | null)?.then === 'function'
}

/** An error a caller sees, tagged with the plugin and skill it concerns. */
type TaggedError = Error & { statusCode?: number, code?: string, plugin?: string, skill?: string }

export function tag<E extends TaggedError> (err: E, plugin: string, skill: string): E {
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
  #pluginLogger: (plugin: string) => AigisLogger
  #timeoutMs: number
  #pluginState: (plugin: string) => string | undefined
  #loggers = new Map<string, AigisLogger>()
  #validator = new SkillValidator()
  /** Each skill's compiled body schema, or why it does not compile (kept: compiling again would fail again). */
  #validators = new WeakMap<Skill, ValidateFunction | Error>()
  /** Skill calls whose promise has not settled (synchronous ones end within their turn). */
  #pending = 0
  #whenIdle: Array<() => void> = []
  /** Calls awaiting their skill's promise, by plugin: how to end each, and its skill. */
  #inFlight = new Map<string, Map<(err: TaggedError) => void, Skill>>()

  constructor (options: SkillServiceOptions) {
    this.#registry = options.registry
    this.#pluginLogger = options.pluginLogger
    this.#timeoutMs = options.timeoutMs
    this.#pluginState = options.pluginState
    this.#registry.on('removed', this.#endCalls)
  }

  /** The skill, or the 404/409 error that explains why it cannot be called. */
  find (plugin: string, name: string): Skill {
    const skill = this.#registry.get(plugin, name)
    if (skill !== undefined) return skill
    const state = this.#pluginState(plugin)
    if (state === undefined) throw tag(new PluginNotFound(plugin), plugin, name)
    if (state !== 'running') {
      // What to do depends on the state: a plugin on its way up needs only time.
      const next = state === 'starting' || state === 'backoff' ? 'call again once it runs' : `start it with POST /plugins/${plugin}/start`
      throw tag(new PluginNotRunning(plugin, state, next), plugin, name)
    }
    throw tag(new SkillNotFound(plugin, name), plugin, name)
  }

  /** How many calls of a plugin's skills are awaiting their promise now. */
  inFlight (plugin: string): number {
    return this.#inFlight.get(plugin)?.size ?? 0
  }

  /** Resolves once no skill call is running; shutdown waits for it. */
  async idle (): Promise<void> {
    if (this.#pending > 0) await new Promise<void>((resolve) => this.#whenIdle.push(resolve))
  }

  /** Calls a skill by id from inside the server (`ctx.aigis` of a call `depth` deep). */
  async call (id: string, input: unknown, parent: ParentSignal | undefined, depth: number): Promise<unknown> {
    const { plugin, skill } = splitSkillId(id)
    return await this.invoke(this.find(plugin, skill), input, parent, depth)
  }

  /**
   * Validates the input and runs the skill. A synchronous result returns at
   * once; only a promise gets the timeout and the caller's abort wired to
   * `ctx.signal`, which itself is only made when the skill reads it.
   * `depth` counts the calls it is nested in (0 for an HTTP call).
   */
  invoke (skill: Skill, input: unknown, parent?: ParentSignal, depth = 0): unknown {
    if (depth >= MAX_CALL_DEPTH) throw tag(new SkillCallsTooDeep(skill.id, MAX_CALL_DEPTH), skill.plugin, skill.name)
    const validate = this.#validatorOf(skill)
    if (validate !== undefined && !validate(input)) {
      throw tag(new InvalidSkillInput(skill.id, describeErrors(validate)), skill.plugin, skill.name)
    }
    if (skill.kind === 'value') return skill.target

    const ctx = new CallContext(this.#loggerOf(skill.plugin), skill.plugin, this, depth)
    let result: unknown
    try {
      result = (skill.target as (i: unknown, c: SkillContext) => unknown)(input, ctx)
    } catch (err) {
      throw this.#asCallError(skill, err)
    }
    if (!isThenable(result)) return result
    return this.#settle(skill, result, ctx, parent)
  }

  async #settle (skill: Skill, pending: PromiseLike<unknown>, ctx: CallContext, parent?: ParentSignal): Promise<unknown> {
    // How the call ends if its promise does not settle first: the timeout, or its plugin stopping (see #endCalls).
    // The error (and its stack) is made only then, not for every call.
    let endedWith: TaggedError | undefined
    let end!: (err: TaggedError) => void
    const ended = new Promise<never>((_resolve, reject) => {
      end = (err) => {
        endedWith = err
        // Rejected before the abort: a skill that settles on abort must not win the race with its own answer.
        reject(err)
        ctx.abort(err)
      }
    })
    const timer = setTimeout(() => end(tag(new SkillTimeout(skill.id, this.#timeoutMs / 1000), skill.plugin, skill.name)), this.#timeoutMs)
    const parentSignal = parent?.()
    const onAbort = (): void => ctx.abort(parentSignal!.reason)
    parentSignal?.addEventListener('abort', onAbort, { once: true })
    let calls = this.#inFlight.get(skill.plugin)
    if (calls === undefined) this.#inFlight.set(skill.plugin, calls = new Map())
    calls.set(end, skill)
    this.#pending++
    try {
      return await Promise.race([pending, ended])
    } catch (err) {
      throw endedWith !== undefined && err === endedWith ? endedWith : this.#asCallError(skill, err)
    } finally {
      clearTimeout(timer)
      parentSignal?.removeEventListener('abort', onAbort)
      calls.delete(end)
      if (calls.size === 0) this.#inFlight.delete(skill.plugin)
      if (--this.#pending === 0) for (const resolve of this.#whenIdle.splice(0)) resolve()
    }
  }

  /**
   * A plugin's skills were removed (stop, reload, delete): its calls still in
   * flight are answered 409 now and their `ctx.signal` aborted, before its
   * `cleanup` runs, rather than left to run on against what it cleans up.
   */
  #endCalls = (plugin: string): void => {
    for (const [end, skill] of this.#inFlight.get(plugin) ?? []) end(tag(new PluginStoppedDuringCall(plugin, skill.name), plugin, skill.name))
  }

  // Compiled on first call, not at load: boot stays fast with thousands of
  // skills. The load only checked the schema against the meta-schema, so a
  // compile can still fail (a $ref that resolves nowhere): that call, and
  // every later one, is a 500 that says why instead of a bare one.
  #validatorOf (skill: Skill): ValidateFunction | undefined {
    if (skill.schema.body === undefined) return undefined
    let validate = this.#validators.get(skill)
    if (validate === undefined) {
      try {
        validate = this.#validator.compile(skill.schema.body)
      } catch (err) {
        validate = err instanceof Error ? err : new Error(String(err))
      }
      this.#validators.set(skill, validate)
    }
    if (validate instanceof Error) throw tag(new SkillSchemaInvalid(skill.id, validate.message), skill.plugin, skill.name)
    return validate
  }

  #loggerOf (plugin: string): AigisLogger {
    let log = this.#loggers.get(plugin)
    if (log === undefined) {
      log = this.#pluginLogger(plugin)
      this.#loggers.set(plugin, log)
    }
    return log
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
    // Filed under the plugin whose skill threw: its logs show its failures.
    this.#loggerOf(skill.plugin).error({ skill: skill.name, err: thrown }, `skill ${skill.id} threw: ${thrown.message}`)
    return tag(new SkillFailed(thrown.message), skill.plugin, skill.name)
  }
}

/**
 * The context of one call. A class, not an object literal with getters: it
 * is made on every call, and `signal` and `aigis` (which most skills never
 * read) are built only when read.
 */
class CallContext implements SkillContext {
  readonly log: AigisLogger
  readonly plugin: string
  #service: SkillService
  #depth: number
  #controller: AbortController | undefined

  constructor (log: AigisLogger, plugin: string, service: SkillService, depth: number) {
    this.log = log
    this.plugin = plugin
    this.#service = service
    this.#depth = depth
  }

  get signal (): AbortSignal {
    return (this.#controller ??= new AbortController()).signal
  }

  /** Nested calls get this call's signal as their parent: aborting this call aborts them. */
  get aigis (): SkillCaller {
    return skillCaller((id, input) => this.#service.call(id, input, () => this.signal, this.#depth + 1))
  }

  abort (reason: unknown): void {
    (this.#controller ??= new AbortController()).abort(reason)
  }
}

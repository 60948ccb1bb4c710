/** Calls a skill by id (`plugin.dotted.name`). */
export type CallSkill = (id: string, input?: unknown) => Promise<unknown>

/** `aigis.call(id, input)` plus the property-path form `aigis.plugin.skill(input)`. */
export type SkillCaller = {
  call: CallSkill
} & {
  [segment: string]: SkillPath
}

export type SkillPath = ((input?: unknown) => Promise<any>) & { [segment: string]: SkillPath }

/**
 * Wraps a `call(id, input)` function so that `caller.example.math.add(input)`
 * calls `example.math.add`. Shared by the in-process caller handed to core
 * skills and the HTTP client, so both read the same.
 */
export function skillCaller (call: CallSkill): SkillCaller {
  const path = (segments: string[]): SkillPath => new Proxy(function () {} as unknown as SkillPath, {
    get: (_target, key) => typeof key === 'string' && key !== 'then' ? path([...segments, key]) : undefined,
    apply: (_target, _this, args: unknown[]) => call(segments.join('.'), args[0])
  })
  return new Proxy({ call } as SkillCaller, {
    get: (target, key) => {
      if (key === 'call') return target.call
      return typeof key === 'string' && key !== 'then' ? path([key]) : undefined
    }
  })
}

/** Splits `plugin.dotted.name` into its plugin and skill name. */
export function splitSkillId (id: string): { plugin: string, skill: string } {
  const dot = id.indexOf('.')
  return dot < 0 ? { plugin: id, skill: '' } : { plugin: id.slice(0, dot), skill: id.slice(dot + 1) }
}

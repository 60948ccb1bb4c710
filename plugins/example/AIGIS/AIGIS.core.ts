// An example core plugin: every name in SKILLS becomes POST /skills/example/<name>.
import { Type } from 'typebox'
import { SkillError, type SkillContext } from 'aigis'

export const SKILLS = ['greet', 'math.add', 'math.sum', 'VERSION', 'wait']

let greeted = 0

/** Says hello; logs each greeting to the central log. */
export function greet (input: { name: string }, ctx: SkillContext): string {
  greeted++
  ctx.log.info({ name: input.name, greeted }, 'greeting')
  return `Hello, ${input.name}!`
}

export const math = {
  add: ({ a, b }: { a: number, b: number }): number => a + b,
  /** Adds a list by calling math.add for each number: one skill calling another. */
  sum: async ({ numbers }: { numbers: number[] }, ctx: SkillContext): Promise<number> => {
    let total = 0
    for (const n of numbers) total = await ctx.aigis.example.math.add({ a: total, b: n })
    return total
  }
}

export const VERSION = '1.0.0'

/** Waits for the given milliseconds; stops early when the caller goes away. */
export async function wait ({ ms }: { ms: number }, ctx: SkillContext): Promise<{ waited: number }> {
  if (ms > 60_000) throw new SkillError(400, 'ms must be at most 60000')
  const started = Date.now()
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms)
    ctx.signal.addEventListener('abort', () => { clearTimeout(timer); resolve() }, { once: true })
  })
  return { waited: Date.now() - started }
}

export const SCHEMAS = {
  greet: {
    description: 'Say hello to someone',
    body: Type.Object({ name: Type.String({ minLength: 1, examples: ['Ada'] }) }),
    response: Type.String()
  },
  'math.add': {
    description: 'Add two numbers',
    body: Type.Object({ a: Type.Number(), b: Type.Number() }),
    response: Type.Number()
  },
  'math.sum': {
    description: 'Add a list of numbers (calls math.add for each)',
    body: Type.Object({ numbers: Type.Array(Type.Number()) }),
    response: Type.Number()
  },
  VERSION: { description: 'The plugin version', response: Type.String() },
  wait: {
    description: 'Wait, then answer how long it waited; aborted when the client goes away',
    body: Type.Object({ ms: Type.Integer({ minimum: 0 }) }),
    response: Type.Object({ waited: Type.Number() })
  }
}

/** Runs once on stop, reload and shutdown. */
export function cleanup (): void {
  greeted = 0
}

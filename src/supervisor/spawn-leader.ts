import { execa } from 'execa'
import { RUN_ID_VAR } from './run-id.js'

/**
 * Spawns `file` as the leader of a process group of its own (detached), so
 * that signalling the group ends whatever it starts (see kill-group.ts), with
 * `runId` in its environment (see run-id.ts): stdin closed, stdout and stderr
 * piped and not buffered, never rejected or killed by execa itself. Plugins
 * and their REQUIREMENT_COMMAND run this way.
 */
export function spawnLeader (file: string, args: string[], options: { cwd: string, runId: string, env?: Record<string, string | undefined> }) {
  return execa(file, args, {
    cwd: options.cwd,
    env: { ...options.env, [RUN_ID_VAR]: options.runId },
    extendEnv: true,
    detached: true,
    cleanup: false,
    stdin: 'ignore',
    stdout: 'pipe',
    stderr: 'pipe',
    buffer: false,
    reject: false,
    forceKillAfterDelay: false,
    windowsHide: true
  })
}

import { existsSync, readFileSync } from 'node:fs'

/** The package version, from dist/src (built) or src (run from source); read once. */
export const packageVersion: string = (() => {
  for (const candidate of ['../package.json', '../../package.json']) {
    const url = new URL(candidate, import.meta.url)
    if (!existsSync(url)) continue
    const pkg = JSON.parse(readFileSync(url, 'utf8')) as { name?: string, version: string }
    if (pkg.name === 'aigis') return pkg.version
  }
  return 'unknown'
})()

// filegate's package.json, found at run time: its version names the API, and its folder holds examples/.
import { readFileSync } from 'node:fs'

/**
 * Walks up from this module to the package.json named filegate, because this module sits at a different depth in
 * the sources (src/, run through tsx) and in the production bundle (dist/server.js), and other package.json files
 * (the bench's build folder) may lie in between.
 */
function findPackage (): { readonly root: URL, readonly version: string } {
  for (let dir = new URL('.', import.meta.url); ; dir = new URL('..', dir)) {
    const json = readPackageJson(new URL('package.json', dir))
    if (json?.name === 'filegate') return { root: dir, version: typeof json.version === 'string' ? json.version : '0.0.0' }
    if (dir.pathname === '/') throw new Error(`no filegate package.json above ${import.meta.url}`)
  }
}

function readPackageJson (file: URL): Record<string, unknown> | undefined {
  try {
    const json: unknown = JSON.parse(readFileSync(file, 'utf8'))
    return typeof json === 'object' && json !== null ? json as Record<string, unknown> : undefined
  } catch {
    return undefined
  }
}

const found = findPackage()
/** The folder that holds filegate's package.json, with a trailing slash. */
export const PACKAGE_ROOT: URL = found.root
export const PACKAGE_VERSION: string = found.version

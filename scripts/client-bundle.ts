// The browser client's bundle: client/src/index.ts as an ES module and its MD5 worker as a script, for npm run build and the demo page in development.
import { fileURLToPath } from 'node:url'
import { build, type BuildOptions } from 'esbuild'

const ROOT = fileURLToPath(new URL('..', import.meta.url))

/** The files a page loads: the client module, and the worker it starts from the same folder. */
export const CLIENT_FILES = ['filegate-client.js', 'filegate-md5-worker.js'] as const
export type ClientFile = typeof CLIENT_FILES[number]

const common: BuildOptions = {
  absWorkingDir: ROOT,
  bundle: true,
  platform: 'browser',
  // Browsers of early 2023 on: module workers, private fields, top-level await.
  target: ['chrome110', 'firefox115', 'safari16'],
  minifySyntax: true,
  minifyWhitespace: true,
  legalComments: 'inline',
  write: false,
  logLevel: 'warning',
}

/** Both files, bundled in memory (spark-md5 inside), by name. */
export async function bundleClient (): Promise<Map<ClientFile, Uint8Array>> {
  const [client, worker] = await Promise.all([
    build({ ...common, entryPoints: ['client/src/index.ts'], format: 'esm', outfile: 'filegate-client.js' }),
    build({ ...common, entryPoints: ['client/src/md5-worker.ts'], format: 'iife', outfile: 'filegate-md5-worker.js' }),
  ])
  const only = (files: typeof client.outputFiles) => {
    const [file] = files ?? []
    if (file === undefined) throw new Error('esbuild wrote no client file')
    return file.contents
  }
  return new Map([['filegate-client.js', only(client.outputFiles)], ['filegate-md5-worker.js', only(worker.outputFiles)]])
}

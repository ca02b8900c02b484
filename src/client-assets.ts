// The browser client's files for the demo page: those npm run build wrote beside the server bundle, or in development bundled in memory on first use.
import { access, readFile } from 'node:fs/promises'

export type ClientFile = 'filegate-client.js' | 'filegate-md5-worker.js'

/** Where `npm run build` puts the client: dist/client/, beside dist/server.js (this code's own folder once bundled). */
const PREBUILT = new URL('./client/', import.meta.url)

/** Bundled once per process, for every app in it. */
let bundled: Promise<Map<string, Uint8Array>> | undefined

export interface ClientAssets {
  get (name: ClientFile): Promise<Uint8Array>
}

/**
 * The prebuilt files when there are any; otherwise esbuild (a dev dependency) bundles client/ on first use, so that
 * `npm start` serves the demo page with no build step. Throws at once when neither can be had.
 */
export async function loadClientAssets (): Promise<ClientAssets> {
  const prebuilt = await access(new URL('filegate-client.js', PREBUILT)).then(() => true, () => false)
  if (prebuilt) return { get: async (name) => await readFile(new URL(name, PREBUILT)) }
  await import('esbuild').catch((error: unknown) => {
    throw new Error(`DEMO_PAGE is on but the browser client is not built (${new URL('filegate-client.js', PREBUILT).pathname}) and esbuild is not installed to bundle it: run npm run build, or set DEMO_PAGE=false`, { cause: error })
  })
  return {
    async get (name) {
      if (bundled === undefined) {
        bundled = import('../scripts/client-bundle.js').then(async ({ bundleClient }) => await bundleClient())
        bundled.catch(() => { bundled = undefined })
      }
      const file = (await bundled).get(name)
      if (file === undefined) throw new Error(`the client bundle has no ${name}`)
      return file
    },
  }
}

// `npm run openapi`: writes openapi/openapi.json from the app's own route schemas; `--check` fails when the file is stale.
import { randomBytes } from 'node:crypto'
import { readFile, writeFile } from 'node:fs/promises'
import { buildApp } from '../app.js'
import { loadConfig } from '../config.js'
import { announceNodeVersionToStderr } from '../node-version.js'

export const OPENAPI_FILE = new URL('../../openapi/openapi.json', import.meta.url)

/** The document as the running app serves it at /docs/json, formatted as committed. */
export async function renderOpenApi (): Promise<string> {
  // The document depends only on the routes, so a neutral config that never reaches S3 (nor verifies a token) is enough.
  const app = await buildApp(loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'silent', S3_ENDPOINT: 'http://127.0.0.1:9', JWT_SECRET: randomBytes(32).toString('hex') }))
  try {
    await app.ready()
    return `${JSON.stringify(app.swagger(), null, 2)}\n`
  } finally {
    await app.close()
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  announceNodeVersionToStderr()
  const rendered = await renderOpenApi()
  if (process.argv.includes('--check')) {
    const committed = await readFile(OPENAPI_FILE, 'utf8').catch(() => '')
    if (committed !== rendered) {
      process.stderr.write('openapi/openapi.json is stale: run `npm run openapi` and commit it.\n')
      process.exit(1)
    }
    process.stdout.write('openapi/openapi.json is up to date.\n')
  } else {
    await writeFile(OPENAPI_FILE, rendered)
    process.stdout.write('Wrote openapi/openapi.json\n')
  }
}

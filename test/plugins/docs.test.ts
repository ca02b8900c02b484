// Swagger UI at /docs keeps the token pasted into Authorize in the page only, unless DOCS_PERSIST_AUTHORIZATION=true (issue 16, finding 6).
import t from 'tap'
import { buildApp } from '../../src/app.js'
import { loadConfig } from '../../src/config.js'
import { TEST_JWT_SECRET } from '../helper.js'

const base = { NODE_ENV: 'test', LOG_LEVEL: 'silent', S3_ENDPOINT: 'http://127.0.0.1:9', S3_FORCE_PATH_STYLE: 'true', JWT_SECRET: TEST_JWT_SECRET }

/** The uiConfig Swagger UI starts with, as the page's initializer script sets it. */
async function persistAuthorization (env: Record<string, string>): Promise<string | undefined> {
  const app = await buildApp(loadConfig({ ...base, ...env }))
  try {
    const res = await app.inject({ method: 'GET', url: '/docs/static/swagger-initializer.js' })
    if (res.statusCode !== 200) throw new Error(`the initializer answered ${res.statusCode}`)
    return /\bpersistAuthorization\W+(true|false)\b/.exec(res.body)?.[1]
  } finally {
    await app.close()
  }
}

t.test('Swagger UI does not persist the bearer token by default', async (t) => {
  t.equal(await persistAuthorization({}), 'false', 'persistAuthorization: false, so the token never reaches localStorage')
  t.equal(await persistAuthorization({ DOCS_PERSIST_AUTHORIZATION: 'false' }), 'false')
})

t.test('DOCS_PERSIST_AUTHORIZATION=true turns it on', async (t) => {
  t.equal(await persistAuthorization({ DOCS_PERSIST_AUTHORIZATION: 'true' }), 'true')
})

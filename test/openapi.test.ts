// The OpenAPI document: served at /docs/json, equal to the committed openapi/openapi.json, valid, and complete.
import { readFile } from 'node:fs/promises'
import { Validator } from '@seriousme/openapi-schema-validator'
import t from 'tap'
import { buildApp } from '../src/app.js'
import { loadConfig } from '../src/config.js'
import { TEST_JWT_SECRET } from './helper.js'

const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const
const PUBLIC_PATHS = new Set(['/', '/health', '/ready'])
/** Public files' download URLs need no token; the bearer scheme stays documented beside the empty requirement. */
const OPTIONAL_TOKEN_OPERATIONS = new Set(['GET /files/download/{id}'])

interface Operation {
  summary?: string
  tags?: string[]
  security?: Array<Record<string, string[]>>
  responses?: Record<string, { content?: Record<string, { schema?: unknown }> }>
}

t.test('the served document equals the committed one and is valid OpenAPI', async (t) => {
  const app = await buildApp(loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'silent', S3_ENDPOINT: 'http://127.0.0.1:9', JWT_SECRET: TEST_JWT_SECRET }))
  t.teardown(() => app.close())
  const ui = await app.inject({ method: 'GET', url: '/docs/' })
  t.equal(ui.statusCode, 200, '/docs serves Swagger UI')
  t.match(ui.body, /swagger-ui/i)
  const served = await app.inject({ method: 'GET', url: '/docs/json' })
  t.equal(served.statusCode, 200)
  const committed = JSON.parse(await readFile(new URL('../openapi/openapi.json', import.meta.url), 'utf8')) as unknown
  t.same(served.json(), committed, '/docs/json equals openapi/openapi.json (run `npm run openapi` after changing a route)')

  const validator = new Validator()
  const result = await validator.validate(served.json())
  t.ok(result.valid, `valid OpenAPI ${validator.version}: ${JSON.stringify(result.errors ?? '')}`)

  const doc = served.json<{ paths: Record<string, Partial<Record<typeof METHODS[number], Operation>>> }>()
  let operations = 0
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const method of METHODS) {
      const op = item[method]
      if (op === undefined) continue
      operations++
      const name = `${method.toUpperCase()} ${path}`
      t.ok(op.summary !== undefined && op.summary.length > 0, `${name} has a summary`)
      t.ok(op.tags !== undefined && op.tags.length > 0, `${name} has tags`)
      const statuses = Object.keys(op.responses ?? {})
      t.ok(statuses.some((s) => s.startsWith('2') || s.startsWith('3')), `${name} documents its success`)
      if (PUBLIC_PATHS.has(path)) {
        t.same(op.security, [], `${name} needs no token, and says so (an empty security list)`)
        continue
      }
      if (OPTIONAL_TOKEN_OPERATIONS.has(name)) t.same(op.security, [{ bearerAuth: [] }, {}], `${name} takes the bearer scheme or none`)
      else t.same(op.security, [{ bearerAuth: [] }], `${name} requires the bearer scheme`)
      // The S3-protocol routes answer in S3's XML, errors included; every other route in JSON with the shared error schema.
      const xml = op.tags?.includes('multipart (S3 protocol)') === true
      for (const status of ['400', '401', '503']) {
        const content = op.responses?.[status]?.content
        if (xml) t.same(Object.keys(content ?? {}), ['application/xml'], `${name} documents ${status} as S3's XML error`)
        else t.same(content?.['application/json']?.schema, { $ref: '#/components/schemas/ErrorResponse' }, `${name} documents ${status} with the shared error schema`)
      }
      t.ok(typeof (op as { operationId?: unknown }).operationId === 'string' || !name.includes('/multipart'), `${name} has an operationId`)
    }
  }
  t.ok(operations >= 8, `${operations} operations documented`)
})

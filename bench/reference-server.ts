// The benchmark's reference: bare Fastify with a hello-world GET and a POST doing upload-url's HTTP work, nothing else.
import Fastify from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Value } from 'typebox/value'
import { UploadGrantSchema, UploadUrlBodySchema } from '../src/schemas/files-api.js'

const port = Number(process.env.PORT ?? 3100)
// A grant filegate really issued, so the reply has the same size and shape; the bench passes one in.
const reply: unknown = JSON.parse(process.env.REFERENCE_REPLY ?? '{"url":"http://127.0.0.1/b","key":"k","fields":{},"expires_in":900,"max_size":1,"file_id":"0193a4b2-7c1d-7e3f-9a2b-3c4d5e6f7a8b"}')
if (!Value.Check(UploadGrantSchema, reply)) throw new Error('REFERENCE_REPLY is not an upload grant')
const grant = reply

// The same body limit and validator options as filegate (src/app.ts); no logger, no auth, no signing.
const app = Fastify({
  logger: false,
  bodyLimit: 16 * 1024,
  ajv: { customOptions: { removeAdditional: false, coerceTypes: true, useDefaults: true } },
}).withTypeProvider<TypeBoxTypeProvider>()

app.get('/hello', async () => ({ hello: 'world' }))

app.post('/upload-url', {
  schema: { body: UploadUrlBodySchema, response: { 200: UploadGrantSchema } },
}, async () => grant)

await app.listen({ host: '127.0.0.1', port })
process.stdout.write('ready\n')
for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => { void app.close().then(() => process.exit(0)) })

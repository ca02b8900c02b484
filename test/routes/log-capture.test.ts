// The logs of the whole flow at LOG_LEVEL=trace hold no JWT, no X-Amz-Signature value, no policy document and no S3 key.
import type { FastifyInstance, InjectOptions } from 'fastify'
import { pino, type DestinationStream, type LoggerOptions } from 'pino'
import t, { type Test } from 'tap'
import { loggerOptions } from '../../src/app.js'
import type { Config } from '../../src/config.js'
import { bearer, buildTestApp, postToS3, TEST_JWT_SECRET, testS3, tokenFor } from '../helper.js'

interface Capture { readonly lines: string[], readonly stream: DestinationStream }
const capture = (): Capture => {
  const lines: string[] = []
  return { lines, stream: { write: (line: string) => { lines.push(line) } } }
}

/** What a careless debug log would write: every request's headers, every answer's headers and body. */
function logEverything (app: FastifyInstance): void {
  app.addHook('onRequest', async (request) => { request.log.trace({ headers: request.headers }, 'request headers') })
  app.addHook('onSend', async (request, reply, payload) => {
    request.log.trace({ responseHeaders: reply.getHeaders(), payload }, 'answer')
    return payload
  })
}

async function appLoggingTo (t: Test, destination: DestinationStream, options: (config: Config) => LoggerOptions, env: Record<string, string> = {}) {
  // As server.ts does it: pino with the app's logger options, on a destination of our own.
  const logger = (config: Config) => pino(options(config), destination)
  return (await buildTestApp(t, { LOG_LEVEL: 'trace', MAX_FILE_SIZE: '10MiB', ...env }, { logger, beforeReady: logEverything })).app
}

t.test('the full flow at trace level leaks nothing into the log', async (t) => {
  const { lines, stream } = capture()
  const app = await appLoggingTo(t, stream, loggerOptions)
  const store = testS3()
  const tokens = [tokenFor('alice'), tokenFor('bob')]
  const sent: string[] = []
  const inject = async (options: InjectOptions) => {
    const res = await app.inject(options)
    sent.push(JSON.stringify(res.headers), res.body)
    return res
  }
  const alice = { authorization: `Bearer ${tokens[0] ?? ''}` }

  const grantRes = await inject({ method: 'POST', url: '/files/upload-url', headers: alice, payload: { filename: 'report.txt', metadata: { project: 'q3' } } })
  t.equal(grantRes.statusCode, 200)
  const grant = grantRes.json<{ url: string, key: string, fields: Record<string, string>, file_id: string }>()
  // A grant logged on purpose, as a structured object, the way a future debug line might.
  app.log.trace({ grant }, 'issued a grant')
  t.equal((await postToS3(grant, 'the quarterly numbers')).status, 204)
  t.equal((await inject({ method: 'POST', url: `/files/confirm/${grant.key}`, headers: alice })).statusCode, 201)
  const download = await inject({ method: 'GET', url: `/files/download/${grant.file_id}`, headers: alice })
  const downloadUrl = download.json<{ download_url: string }>().download_url
  app.log.trace({ download_url: downloadUrl, redirect: { location: downloadUrl } }, 'download granted')
  const redirect = await inject({ method: 'GET', url: `/files/download/${grant.file_id}?redirect=true`, headers: alice })
  t.equal(redirect.statusCode, 302)
  t.equal((await inject({ method: 'GET', url: '/files', headers: alice })).statusCode, 200)
  t.equal((await inject({ method: 'PATCH', url: `/files/${grant.file_id}`, headers: alice, payload: { is_public: true } })).statusCode, 200)
  t.equal((await inject({ method: 'GET', url: `/files/download/${grant.file_id}?redirect=true` })).statusCode, 302)
  t.equal((await inject({ method: 'GET', url: '/files', headers: { authorization: `Bearer ${tokens[1] ?? ''}x` } })).statusCode, 401)
  t.equal((await inject({ method: 'GET', url: `/files?token=${tokens[1] ?? ''}` })).statusCode, 401)
  t.equal((await inject({ method: 'DELETE', url: `/files/${grant.file_id}`, headers: alice })).statusCode, 204)

  const text = lines.join('')
  t.ok(lines.length >= 25, `${lines.length} lines captured`)
  for (const line of lines) t.doesNotThrow(() => JSON.parse(line), 'each line is JSON')
  t.match(text, /"msg":"request"/, 'the request lines are there')
  t.match(text, /"msg":"answer"/, 'and the trace lines that log headers and bodies')
  t.match(text, /\[redacted\]/, 'with their secrets replaced')

  const signatures = [grant.fields['X-Amz-Signature'], new URL(downloadUrl).searchParams.get('X-Amz-Signature'), new URL(String(redirect.headers.location)).searchParams.get('X-Amz-Signature')]
  const policy = grant.fields.Policy ?? ''
  const secrets: Array<[string, string]> = [
    ...tokens.map((token): [string, string] => ['a JWT', token]),
    ...tokens.map((token): [string, string] => ['a JWT payload', token.split('.')[1] ?? '']),
    ...signatures.map((s): [string, string] => ['an X-Amz-Signature value', s ?? '']),
    ['the policy document', policy],
    ['the decoded policy', Buffer.from(policy, 'base64').toString('utf8')],
    ['the S3 secret key', store.secretAccessKey],
    ['the S3 access key id', store.accessKeyId],
    ['the JWT secret', TEST_JWT_SECRET],
  ]
  for (const [what, secret] of secrets) {
    t.ok(secret.length > 8, `${what} is known to the test`)
    t.notOk(text.includes(secret), `no ${what} in the log`)
  }
  t.notMatch(text, /X-Amz-Signature(\\?"?[:=]\\?"?)[0-9a-f]{16}/i, 'no signature value of any kind')
  t.notMatch(text, /\bey[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\./, 'nothing shaped like a JWT')

  const responses = sent.join('\n')
  t.notOk(responses.includes(store.secretAccessKey), 'no answer carries the secret key')
  t.notOk(responses.includes(TEST_JWT_SECRET), 'or the JWT secret')
})

t.test('S3 refusing filegate\'s signature is logged without the signature, the string to sign or the keys', async (t) => {
  const { lines, stream } = capture()
  // A wrong secret: every S3 call fails with SignatureDoesNotMatch, and the error handler logs S3's error.
  const app = await appLoggingTo(t, stream, loggerOptions, { AWS_SECRET_ACCESS_KEY: 'not-the-secret-key-0123456789' })
  const res = await app.inject({ method: 'GET', url: '/files', headers: bearer('alice') })
  t.equal(res.statusCode, 503)
  t.equal(res.json().code, 'STORAGE_UNAVAILABLE')
  const text = lines.join('')
  t.match(text, /storage call failed/, 'the failure is logged')
  t.match(text, /SignatureDoesNotMatch/, 'with S3\'s error name')
  for (const secret of ['not-the-secret-key-0123456789', testS3().accessKeyId, testS3().secretAccessKey]) t.notOk(text.includes(secret), 'no key in the log')
  t.notMatch(text, /"(SignatureProvided|StringToSign|CanonicalRequest)":"(?!\[redacted\])/, 'S3\'s signing details are redacted')
})

t.test('control: without filegate\'s logger options, the same hooks would leak the token (so the test above can fail)', async (t) => {
  const { lines, stream } = capture()
  const app = await appLoggingTo(t, stream, (config) => ({ level: config.logLevel }))
  const token = tokenFor('alice')
  await app.inject({ method: 'POST', url: '/files/upload-url', headers: { authorization: `Bearer ${token}` }, payload: { filename: 'a.txt' } })
  const text = lines.join('')
  t.ok(text.includes(token), 'the JWT is in a plain pino log')
  t.match(text, /X-Amz-Signature\\?"?:\\?"?[0-9a-f]{64}/, 'and so is the signature')
})

// The clamd client against a real clamd: clean, infected, over the stream limit, and clamd away; answers parsed strictly.
import { Readable } from 'node:stream'
import t from 'tap'
import { ClamdErrorAnswer, ClamdUnavailableError, parseInstreamAnswer, pingClamd, scanStream } from '../../src/scanning/clamd-client.js'
import { freePort } from '../helper.js'
import { EICAR_SIGNATURE, eicar, startTestClamd } from '../support/clamd.js'

const MIB = 1024 * 1024
/** The test clamd's StreamMaxLength (1M), as filegate is told it. */
const LIMITS = { timeoutMs: 10_000, maxBytes: MIB }

/** `bytes` as a stream of `chunk`-sized pieces, as an S3 body arrives. */
function chunked (bytes: Buffer, chunk = 64 * 1024): AsyncIterable<Uint8Array> {
  return Readable.from((function * () { for (let i = 0; i < bytes.length; i += chunk) yield bytes.subarray(i, i + chunk) })())
}

t.test('answers from clamd are parsed strictly: OK and FOUND are verdicts, the size limit a final error, anything else no verdict', async (t) => {
  t.same(parseInstreamAnswer('stream: OK'), { status: 'clean' })
  t.same(parseInstreamAnswer('stream: Win.Test.EICAR_HDB-1 FOUND'), { status: 'infected', signature: 'Win.Test.EICAR_HDB-1' })
  t.same(parseInstreamAnswer('INSTREAM size limit exceeded. ERROR'), {
    status: 'error', message: 'the file is over clamd\'s stream limit (StreamMaxLength), so it was not scanned; clamd answered: INSTREAM size limit exceeded. ERROR',
  })
  for (const odd of ['', 'stream: ok', 'stream:  FOUND', 'OK', 'stream: OK trailing', 'PONG', 'stream: x FOUND extra', 'stream: Can\'t allocate memory ERROR', 'COMMAND READ TIMED OUT']) {
    t.throws(() => parseInstreamAnswer(odd), ClamdErrorAnswer, `${JSON.stringify(odd)} is no verdict: tried again`)
  }
})

t.test('a real clamd: clean, infected, the stream limit, and clamd gone', async (t) => {
  const clamd = await startTestClamd(t, { streamMaxLength: '1M' })
  const address = { host: clamd.host, port: clamd.port }
  t.ok(await pingClamd(address, 5000), 'PING answers PONG')

  t.same(await scanStream(address, chunked(Buffer.from('just some words\n'.repeat(1000))), LIMITS), { status: 'clean' }, 'plain text is clean')
  t.same(await scanStream(address, chunked(Buffer.from(eicar()), 7), LIMITS), { status: 'infected', signature: `${EICAR_SIGNATURE}.UNOFFICIAL` },
    'EICAR in 7-byte chunks is found, with the signature name')
  t.same(await scanStream(address, chunked(Buffer.alloc(900 * 1024, 1)), LIMITS), { status: 'clean' }, 'just under the 1 MiB limit is scanned')
  t.same(await scanStream(address, chunked(Buffer.alloc(MIB, 1)), LIMITS), { status: 'clean' }, 'exactly 1 MiB is scanned')
  const over = await scanStream(address, chunked(Buffer.alloc(MIB + 1, 2)), LIMITS)
  t.same(over, { status: 'error', message: 'the file is over clamd\'s stream limit of 1048576 bytes (StreamMaxLength), so it was not scanned' }, 'one byte over the limit is an error with the reason, never clean')
  // Told a larger limit than clamd's, the client meets clamd's own refusal: its answer, or a broken pipe; never clean.
  for (let i = 0; i < 5; i++) {
    const refused = await scanStream(address, chunked(Buffer.alloc(8 * MIB, 2)), { timeoutMs: 10_000, maxBytes: 64 * MIB }).catch((error: unknown) => error)
    if (refused instanceof ClamdUnavailableError) t.pass(`clamd broke the connection: no verdict (${refused.message})`)
    else t.match(refused, { status: 'error', message: /size limit/ }, `clamd's own refusal is an error (${JSON.stringify(refused)})`)
  }
  t.same(await scanStream(address, chunked(Buffer.from(eicar())), LIMITS), { status: 'infected', signature: `${EICAR_SIGNATURE}.UNOFFICIAL` }, 'and clamd goes on scanning')

  await clamd.stop()
  t.notOk(await pingClamd(address, 2000), 'a stopped clamd does not answer PING')
  await t.rejects(scanStream(address, chunked(Buffer.from('hello')), { timeoutMs: 2000, maxBytes: MIB }), ClamdUnavailableError, 'a scan with clamd gone throws: no verdict')
  const nobody = { host: '127.0.0.1', port: await freePort() }
  await t.rejects(scanStream(nobody, chunked(Buffer.from('hello')), { timeoutMs: 2000, maxBytes: MIB }), ClamdUnavailableError)
})

t.test('a clamd that accepts and never answers: the scan throws after the timeout', async (t) => {
  const { createServer } = await import('node:net')
  const silent = createServer((socket) => { socket.on('data', () => undefined) })
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise((resolve) => silent.close(resolve)))
  const address = silent.address()
  if (address === null || typeof address === 'string') throw new Error('no address')
  const started = performance.now()
  await t.rejects(scanStream({ host: '127.0.0.1', port: address.port }, chunked(Buffer.from('hello')), { timeoutMs: 1000, maxBytes: MIB }), ClamdUnavailableError)
  const took = performance.now() - started
  t.ok(took >= 900 && took < 10_000, `after about the timeout (${Math.round(took)} ms)`)
  t.notOk(await pingClamd({ host: '127.0.0.1', port: address.port }, 500), 'PING without PONG is not ready')
})

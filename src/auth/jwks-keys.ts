// The keys of a JSON Web Key Set (JWT_JWKS_URL): fetched, kept by kid, fetched again in the background every
// JWT_JWKS_REFRESH, and at once for a token naming an unknown kid, but at most once per JWT_JWKS_MIN_REFETCH_INTERVAL
// whatever callers send, with one fetch in flight at a time.
import { createPublicKey } from 'node:crypto'
import type { FastifyBaseLogger } from 'fastify'
import Type from 'typebox'
import { Compile } from 'typebox/compile'

/** The algorithms a published key may verify: RSA keys RS256, P-256 keys ES256. */
export type JwksAlgorithm = 'RS256' | 'ES256'

export interface PublishedKey {
  readonly kid: string
  readonly algorithm: JwksAlgorithm
  /** The key as PEM (SPKI), as fast-jwt takes it. */
  readonly pem: string
}

/** The most a key set may weigh: real ones are a few KB. */
const MAX_JWKS_BYTES = 256 * 1024
/** How long one fetch may take. */
export const JWKS_FETCH_TIMEOUT_MS = 5000

const KeySet = Compile(Type.Object({ keys: Type.Array(Type.Object({ kty: Type.String() }, { additionalProperties: true }), { maxItems: 100 }) }, { additionalProperties: true }))
const Jwk = Compile(Type.Object({
  kty: Type.Union([Type.Literal('RSA'), Type.Literal('EC')]),
  kid: Type.String({ minLength: 1, maxLength: 256 }),
  use: Type.Optional(Type.String()),
  alg: Type.Optional(Type.String()),
  crv: Type.Optional(Type.String()),
}, { additionalProperties: true }))

/** The usable signing keys of a key set's JSON: RSA (RS256) and P-256 (ES256) keys with a kid; others are skipped. */
export function parseKeySet (body: unknown): PublishedKey[] {
  if (!KeySet.Check(body)) throw new Error('the answer is not a JSON Web Key Set ({ "keys": [...] })')
  const keys: PublishedKey[] = []
  for (const jwk of body.keys) {
    if (!Jwk.Check(jwk) || (jwk.use !== undefined && jwk.use !== 'sig')) continue
    const algorithm: JwksAlgorithm | undefined = jwk.kty === 'RSA' ? 'RS256' : jwk.crv === 'P-256' ? 'ES256' : undefined
    if (algorithm === undefined || (jwk.alg !== undefined && jwk.alg !== algorithm)) continue
    try {
      const pem = createPublicKey({ key: jwk as unknown as import('node:crypto').JsonWebKey, format: 'jwk' }).export({ type: 'spki', format: 'pem' }).toString()
      keys.push({ kid: jwk.kid, algorithm, pem })
    } catch {
      // A malformed key is skipped, as a key of another type is.
    }
  }
  return keys
}

async function fetchKeySet (url: string): Promise<PublishedKey[]> {
  const response = await fetch(url, { headers: { accept: 'application/json' }, redirect: 'error', signal: AbortSignal.timeout(JWKS_FETCH_TIMEOUT_MS) })
  if (!response.ok || response.body === null) throw new Error(`${url} answered ${response.status}`)
  const chunks: Uint8Array[] = []
  let size = 0
  const reader = response.body.getReader()
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    size += value.byteLength
    if (size > MAX_JWKS_BYTES) {
      await reader.cancel()
      throw new Error(`${url} answered more than ${MAX_JWKS_BYTES} bytes`)
    }
    chunks.push(value)
  }
  return parseKeySet(JSON.parse(Buffer.concat(chunks).toString('utf8')))
}

export interface JwksKeysOptions {
  readonly url: string
  readonly refreshMs: number
  readonly minRefetchIntervalMs: number
  readonly log: FastifyBaseLogger
  /** Called after each fetch that changed the set, with the kids now published. */
  readonly onChange: (keys: ReadonlyMap<string, PublishedKey>) => void
  /** Told how each fetch ended (metrics). */
  readonly onFetch?: ((outcome: 'ok' | 'failed') => void) | undefined
}

export class JwksKeys {
  private keys: ReadonlyMap<string, PublishedKey> = new Map()
  private inFlight: Promise<void> | undefined
  private lastStart = Number.NEGATIVE_INFINITY
  private lastSuccess = Number.NEGATIVE_INFINITY
  private failing = false

  constructor (private readonly options: JwksKeysOptions) {}

  /** How many keys are loaded. */
  get size (): number {
    return this.keys.size
  }

  /** Whether the last fetch failed (unreachable, a non-2xx answer, no key set): a kid unknown now may still be published. */
  get unavailable (): boolean {
    return this.failing
  }

  /** The key published under `kid`, if the last fetch had it; starts a background refresh once the set is JWT_JWKS_REFRESH old. */
  get (kid: string): PublishedKey | undefined {
    // Bounded as an unknown kid's refetch is, so that a key set that stops answering is not asked on every request.
    if (performance.now() - this.lastSuccess >= this.options.refreshMs) void this.refetch(true)
    return this.keys.get(kid)
  }

  /**
   * For a token naming a kid not in the set: fetches the set again unless a fetch started less than
   * JWT_JWKS_MIN_REFETCH_INTERVAL ago (then it joins the fetch still in flight, or resolves at once). Never rejects.
   */
  async refetchForUnknown (): Promise<void> {
    await this.refetch(true)
  }

  /** The first fetch, at start-up; a failure is logged and left to the next token or refresh. */
  async load (): Promise<void> {
    await this.refetch(false)
  }

  private async refetch (bounded: boolean): Promise<void> {
    if (this.inFlight !== undefined) return await this.inFlight
    if (bounded && performance.now() - this.lastStart < this.options.minRefetchIntervalMs) return
    this.lastStart = performance.now()
    this.inFlight = this.fetchOnce().finally(() => { this.inFlight = undefined })
    await this.inFlight
  }

  private async fetchOnce (): Promise<void> {
    try {
      const keys = await fetchKeySet(this.options.url)
      this.options.onFetch?.('ok')
      this.lastSuccess = performance.now()
      if (this.failing) this.options.log.info({ url: this.options.url }, 'the JSON Web Key Set answers again')
      this.failing = false
      const changed = keys.length !== this.keys.size || keys.some((k) => this.keys.get(k.kid)?.pem !== k.pem)
      if (changed) {
        this.keys = new Map(keys.map((k) => [k.kid, k]))
        this.options.log.info({ url: this.options.url, kids: [...this.keys.keys()] }, 'JSON Web Key Set loaded')
        this.options.onChange(this.keys)
      }
    } catch (error) {
      this.options.onFetch?.('failed')
      // The keys already known keep verifying; a token with a new kid is refused until a fetch succeeds.
      if (!this.failing) this.options.log.warn({ err: error, url: this.options.url }, 'the JSON Web Key Set could not be fetched; the keys already loaded stay in use')
      this.failing = true
    }
  }
}

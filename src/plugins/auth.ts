// Authentication: verifies the Bearer JWT (an HS256 secret or two, a public key, or the keys of a JWKS) and sets
// request.owner from the owner claim.
import fastifyJwt from '@fastify/jwt'
import { createVerifier, type VerifierOptions } from 'fast-jwt'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import Type from 'typebox'
import { Compile } from 'typebox/compile'
import type { Config } from '../config.js'
import { JwksKeys } from '../auth/jwks-keys.js'
import { KeySetUnavailableError, OwnerTooLongError, UnauthorizedError, UnknownSigningKeyError } from '../errors.js'
import type { OwnerCheck } from '../uploads/owner-limits.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** The caller: the verified token's owner claim. Set by `authenticate`. */
    owner: string
  }
  interface FastifyInstance {
    /**
     * Sets request.owner, or throws 401 UNAUTHORIZED unless the token and its owner claim are valid. Synchronous, except
     * for a token naming a JWKS key not loaded yet: then it returns a promise that settles once the key set was asked.
     */
    authenticate: (request: FastifyRequest) => void | Promise<void>
  }
}

const JWT_MESSAGES: Readonly<Record<string, string>> = {
  FST_JWT_NO_AUTHORIZATION_IN_HEADER: 'Send Authorization: Bearer <token>',
  FST_JWT_BAD_REQUEST: 'The Authorization header must be Bearer <token>',
  FST_JWT_AUTHORIZATION_TOKEN_EXPIRED: 'The token has expired',
  FAST_JWT_EXPIRED: 'The token has expired',
  FAST_JWT_INACTIVE: 'The token is not valid yet',
  FST_JWT_AUTHORIZATION_TOKEN_UNTRUSTED: 'The token is not trusted',
  FAST_JWT_MISSING_SIGNATURE: 'The token is not signed',
  FAST_JWT_MISSING_REQUIRED_CLAIM: 'The token has no exp claim; filegate requires tokens that expire',
  FAST_JWT_INVALID_ALGORITHM: 'The token is not signed with an algorithm its key allows',
}

const errorCode = (error: unknown): string => typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : ''

const JoseHeader = Compile(Type.Object({ kid: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })) }, { additionalProperties: true }))

/** The kid of a token's header, read before any key is chosen (the header is unverified until its key checks the signature). */
function tokenKid (token: string): string {
  const dot = token.indexOf('.')
  let header: unknown
  try {
    header = JSON.parse(Buffer.from(token.slice(0, dot), 'base64url').toString('utf8'))
  } catch {
    throw new UnauthorizedError('The token is invalid')
  }
  if (dot <= 0 || !JoseHeader.Check(header)) throw new UnauthorizedError('The token is invalid')
  if (header.kid === undefined) throw new UnknownSigningKeyError('The token names no signing key (kid); with JWT_JWKS_URL the key is chosen by kid')
  return header.kid
}

/** The token of `Authorization: Bearer <token>`, read exactly as @fastify/jwt's lookupToken does, without its per-call option merge. */
function bearerToken (header: string | undefined): string {
  if (header === undefined || !/^Bearer\s/i.test(header)) throw new UnauthorizedError(JWT_MESSAGES.FST_JWT_NO_AUTHORIZATION_IN_HEADER ?? '')
  const token = header.slice(7)
  if (header[6] !== ' ' || token === '' || token.includes(' ')) throw new UnauthorizedError(JWT_MESSAGES.FST_JWT_BAD_REQUEST ?? '')
  return token
}

export interface AuthOptions {
  readonly jwt: Config['jwt']
  /** Refuses owners filegate cannot store files for (see owner-limits.ts), at the door rather than half-way through a write. */
  readonly checkOwner: OwnerCheck
}

export default fp(async function auth (app: FastifyInstance, { jwt, checkOwner }: AuthOptions) {
  if (jwt.publicKey === undefined && jwt.secret === undefined && jwt.jwks === undefined) throw new Error('No JWT key: set JWT_SECRET, JWT_PUBLIC_KEY or JWT_JWKS_URL')
  const verifyOptions: VerifierOptions = {
    // exp and nbf are checked with this much slack for clock skew (iat, which fast-jwt leaves alone, below).
    clockTolerance: jwt.clockToleranceSeconds * 1000,
    // fast-jwt checks iss and aud only when a token has them: with JWT_ISSUER or JWT_AUDIENCE set they must be there.
    requiredClaims: [...(jwt.requireExp ? ['exp'] : []), ...(jwt.issuer !== undefined ? ['iss'] : []), ...(jwt.audience !== undefined ? ['aud'] : [])],
    // Verified tokens are kept, keyed by a hash of the whole token, each until its exp (plus the same tolerance) or nbf
    // says otherwise, in a bounded LRU: a user's token is sent many times. Failures are never served from it.
    // (fast-jwt keeps a failure until now + tolerance + errorCacheTTL, so this TTL makes every one stale at once.)
    ...(jwt.cacheSize > 0 && { cache: jwt.cacheSize, errorCacheTTL: () => -(jwt.clockToleranceSeconds * 1000) - 1 }),
    ...(jwt.issuer !== undefined && { allowedIss: jwt.issuer }),
    ...(jwt.audience !== undefined && { allowedAud: jwt.audience }),
  }

  /** The verified payload, or a promise of it when the key must be fetched first. */
  let verifyToken: (token: string) => unknown
  if (jwt.jwks !== undefined) {
    const { url, refreshMs, minRefetchIntervalMs } = jwt.jwks
    // One verifier (with its own cache of verified tokens) per published key, made on first use. When the set
    // changes they are all dropped: a token verified by a key that is no longer published is verified again, and fails.
    const verifiers = new Map<string, (token: string) => unknown>()
    const metrics = app.metrics
    const keys = new JwksKeys({
      url, refreshMs, minRefetchIntervalMs, log: app.log, onChange: () => verifiers.clear(), onFetch: metrics === undefined ? undefined : (outcome) => metrics.jwksFetches.inc({ outcome }),
    })
    metrics?.watchJwks(() => keys.size)
    await keys.load()
    const verifierFor = (kid: string): ((token: string) => unknown) | undefined => {
      const known = verifiers.get(kid)
      if (known !== undefined) return known
      const key = keys.get(kid)
      if (key === undefined) return undefined
      const made = createVerifier({ ...verifyOptions, key: key.pem, algorithms: [key.algorithm] })
      verifiers.set(kid, made)
      return made
    }
    verifyToken = (token) => {
      const kid = tokenKid(token)
      const verify = verifierFor(kid)
      if (verify !== undefined) return verify(token)
      return keys.refetchForUnknown().then(() => {
        const fetched = verifierFor(kid)
        if (fetched !== undefined) return fetched(token)
        // The key set could not be fetched: the kid may well be published, so the caller should retry, not sign in again.
        if (keys.unavailable) throw new KeySetUnavailableError()
        throw new UnknownSigningKeyError(`The token's signing key (kid ${JSON.stringify(kid.slice(0, 64))}) is not published at JWT_JWKS_URL`)
      })
    }
  } else {
    const algorithms: Array<'RS256' | 'ES256' | 'HS256'> = jwt.publicKey !== undefined ? ['RS256', 'ES256'] : ['HS256']
    // The plugin keeps app.jwt.sign (the development token) and verifies with the first secret (or the public key).
    await app.register(fastifyJwt, {
      secret: jwt.publicKey !== undefined ? { public: jwt.publicKey } : jwt.secret ?? '',
      verify: { ...verifyOptions, algorithms },
    })
    // During a rotation JWT_SECRET holds a second secret: a token whose signature the first does not match is tried with it.
    const previous = jwt.publicKey !== undefined ? [] : jwt.secrets.slice(1).map((secret) => createVerifier({ ...verifyOptions, key: secret, algorithms: ['HS256'] }))
    verifyToken = (token) => {
      try {
        // The plugin's own verifier, built once at registration: one decode and one signature check per request
        // (request.jwtVerify() decodes twice and merges its options on every call).
        return app.jwt.verify(token)
      } catch (error) {
        if (previous.length === 0 || errorCode(error) !== 'FAST_JWT_INVALID_SIGNATURE') throw error
        let last: unknown = error
        for (const verify of previous) {
          try {
            return verify(token)
          } catch (next) {
            if (errorCode(next) !== 'FAST_JWT_INVALID_SIGNATURE') throw next
            last = next
          }
        }
        throw last
      }
    }
  }

  // The claims are external data: the owner claim must be a non-empty string, iat and exp numbers when present.
  const claims = Compile(Type.Object({ [jwt.ownerClaim]: Type.String({ minLength: 1, maxLength: 1024 }) }))
  const timeClaims = Compile(Type.Object({ iat: Type.Optional(Type.Number()), exp: Type.Optional(Type.Number()) }))
  const tolerance = jwt.clockToleranceSeconds
  const maxLifetime = jwt.maxLifetimeSeconds

  /** What fast-jwt does not check: an iat in the future, and a validity longer than JWT_MAX_TOKEN_LIFETIME. */
  function checkTimes ({ iat, exp }: { iat?: number | undefined, exp?: number | undefined }): void {
    const now = Date.now() / 1000
    if (iat !== undefined && iat > now + tolerance) throw new UnauthorizedError('The token was issued in the future (its iat claim); check the issuer\'s clock')
    if (maxLifetime === 0) return
    if (exp !== undefined) {
      const lifetime = exp - (iat ?? now)
      if (lifetime > maxLifetime) throw new UnauthorizedError(`The token is valid for ${Math.round(lifetime)} s, longer than the ${maxLifetime} s filegate accepts (JWT_MAX_TOKEN_LIFETIME)`)
    } else if (iat !== undefined && now - iat > maxLifetime + tolerance) {
      throw new UnauthorizedError('The token has expired: it has no exp claim and was issued longer ago than JWT_MAX_TOKEN_LIFETIME')
    }
  }

  /** A verifier's failure as filegate's 401 (or 503 when the key set cannot be fetched). */
  function refusal (error: unknown): Error {
    if (error instanceof UnauthorizedError || error instanceof UnknownSigningKeyError || error instanceof KeySetUnavailableError) return error
    const code = errorCode(error)
    // fast-jwt names the missing claim ("The aud claim is required."): exp, or iss or aud when they are configured.
    const missing = code === 'FAST_JWT_MISSING_REQUIRED_CLAIM' && error instanceof Error ? /^The (iss|aud) claim/.exec(error.message)?.[1] : undefined
    if (missing !== undefined) return new UnauthorizedError(`The token has no ${missing} claim; filegate requires it (${missing === 'iss' ? 'JWT_ISSUER' : 'JWT_AUDIENCE'})`)
    return new UnauthorizedError(JWT_MESSAGES[code] ?? 'The token is invalid')
  }

  /** The checks of a verified payload; sets request.owner. */
  function accept (request: FastifyRequest, payload: unknown): void {
    if (!timeClaims.Check(payload)) throw new UnauthorizedError('The token\'s iat or exp claim is not a number')
    checkTimes(payload)
    if (!claims.Check(payload)) throw new UnauthorizedError(`The token has no usable ${jwt.ownerClaim} claim`)
    const owner = (payload as Record<string, unknown>)[jwt.ownerClaim]
    // A lone surrogate cannot be stored in S3 metadata, so such an owner could never confirm anything.
    if (typeof owner !== 'string' || /[\ud800-\udfff]/u.test(owner)) throw new UnauthorizedError(`The token has no usable ${jwt.ownerClaim} claim`)
    const problem = checkOwner(owner)
    if (problem !== undefined) throw new OwnerTooLongError(problem)
    request.owner = owner
  }

  app.decorateRequest('owner', '')
  app.decorate('authenticate', function authenticate (request: FastifyRequest): void | Promise<void> {
    let payload: unknown
    try {
      payload = verifyToken(bearerToken(request.headers.authorization))
    } catch (error) {
      throw refusal(error)
    }
    // Only a token naming a JWKS key not loaded yet waits (for one bounded fetch of the key set).
    if (payload instanceof Promise) return payload.then((verified) => { accept(request, verified) }, (error: unknown) => { throw refusal(error) })
    accept(request, payload)
  })
}, { name: 'auth' })

// Authentication: verifies the Bearer JWT with @fastify/jwt and sets request.owner from the owner claim.
import fastifyJwt from '@fastify/jwt'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import Type from 'typebox'
import { Compile } from 'typebox/compile'
import type { Config } from '../config.js'
import { OwnerTooLongError, UnauthorizedError } from '../errors.js'
import type { OwnerCheck } from '../uploads/owner-limits.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** The caller: the verified token's owner claim. Set by `authenticate`. */
    owner: string
  }
  interface FastifyInstance {
    /** Sets request.owner, or throws 401 UNAUTHORIZED unless the token and its owner claim are valid. Synchronous. */
    authenticate: (request: FastifyRequest) => void
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
  if (jwt.publicKey === undefined && jwt.secret === undefined) throw new Error('No JWT key: set JWT_SECRET or JWT_PUBLIC_KEY')
  const algorithms: Array<'RS256' | 'ES256' | 'HS256'> = jwt.publicKey !== undefined ? ['RS256', 'ES256'] : ['HS256']
  await app.register(fastifyJwt, {
    secret: jwt.publicKey !== undefined ? { public: jwt.publicKey } : jwt.secret ?? '',
    verify: {
      algorithms,
      // exp and nbf are checked with this much slack for clock skew (iat, which fast-jwt leaves alone, below).
      clockTolerance: jwt.clockToleranceSeconds * 1000,
      ...(jwt.requireExp && { requiredClaims: ['exp'] }),
      // Verified tokens are kept, keyed by a hash of the whole token, each until its exp (plus the same tolerance) or nbf
      // says otherwise, in a bounded LRU: a user's token is sent many times. Failures are never served from it.
      // (fast-jwt keeps a failure until now + tolerance + errorCacheTTL, so this TTL makes every one stale at once.)
      ...(jwt.cacheSize > 0 && { cache: jwt.cacheSize, errorCacheTTL: () => -(jwt.clockToleranceSeconds * 1000) - 1 }),
      ...(jwt.issuer !== undefined && { allowedIss: jwt.issuer }),
      ...(jwt.audience !== undefined && { allowedAud: jwt.audience }),
    },
  })

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

  app.decorateRequest('owner', '')
  app.decorate('authenticate', function authenticate (request: FastifyRequest) {
    let payload: unknown
    try {
      // The plugin's own verifier, built once at registration: one decode and one signature check per request
      // (request.jwtVerify() decodes twice and merges its options on every call).
      payload = app.jwt.verify(bearerToken(request.headers.authorization))
    } catch (error) {
      if (error instanceof UnauthorizedError) throw error
      const code = typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : ''
      throw new UnauthorizedError(JWT_MESSAGES[code] ?? 'The token is invalid')
    }
    if (!timeClaims.Check(payload)) throw new UnauthorizedError('The token\'s iat or exp claim is not a number')
    checkTimes(payload)
    if (!claims.Check(payload)) throw new UnauthorizedError(`The token has no usable ${jwt.ownerClaim} claim`)
    const owner = (payload as Record<string, unknown>)[jwt.ownerClaim]
    // A lone surrogate cannot be stored in S3 metadata, so such an owner could never confirm anything.
    if (typeof owner !== 'string' || /[\ud800-\udfff]/u.test(owner)) throw new UnauthorizedError(`The token has no usable ${jwt.ownerClaim} claim`)
    const problem = checkOwner(owner)
    if (problem !== undefined) throw new OwnerTooLongError(problem)
    request.owner = owner
  })
}, { name: 'auth' })

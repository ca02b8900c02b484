// The environment schema: every setting filegate reads, parsed and validated once at start-up.
import { isIP } from 'node:net'
import Type, { type Static } from 'typebox'
import { Value } from 'typebox/value'
import { parseVariants, type VariantSpec } from './variants/variant-spec.js'

const duration = (description: string, fallback: string) =>
  Type.String({ pattern: '^[0-9]+(ms|s|m|h|d)?$', default: fallback, description: `${description}; seconds, or a number with ms, s, m, h or d` })
const flag = (description: string, fallback: boolean) => Type.Boolean({ default: fallback, description })

/** What each variable accepts. `description` is also the text of the error naming a bad value. */
export const EnvSchema = Type.Object({
  NODE_ENV: Type.Union([Type.Literal('development'), Type.Literal('production'), Type.Literal('test')], { default: 'development', description: 'development, production or test' }),
  PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 3000, description: 'the TCP port to listen on, 0 to 65535' }),
  HOST: Type.String({ minLength: 1, default: '127.0.0.1', description: 'the address to listen on' }),
  LOG_LEVEL: Type.Union(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)), { default: 'info', description: 'one of fatal, error, warn, info, debug, trace, silent' }),

  S3_BUCKET: Type.String({ pattern: '^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$', default: 'filegate', description: 'an S3 bucket name (3-63 lowercase letters, digits, dots, hyphens)' }),
  S3_REGION: Type.String({ minLength: 1, default: 'us-east-1', description: 'the bucket region' }),
  S3_ENDPOINT: Type.Optional(Type.String({ pattern: '^https?://[^\\s/]+/?$', description: 'the S3 endpoint filegate calls, an http(s) URL without a path; unset means AWS (production) or the embedded store (development)' })),
  S3_PUBLIC_ENDPOINT: Type.Optional(Type.String({ pattern: '^https?://[^\\s/]+/?$', description: 'the S3 endpoint browsers use and signed URLs name, an http(s) URL without a path' })),
  S3_FORCE_PATH_STYLE: flag('true to address the bucket as a path (MinIO, Ceph) rather than a host name', false),
  S3_CLIENT: Type.Union([Type.Literal('lean'), Type.Literal('sdk')], { default: 'lean', description: 'lean (record reads, HEAD, ranged GET, small PUTs and DELETE over a pooled HTTP client, the SDK for the rest) or sdk (the AWS SDK for every call)' }),
  S3_TIMEOUT_MS: Type.Integer({ minimum: 100, maximum: 120000, default: 10000, description: 'connect and request timeout of each S3 call, in milliseconds (100 to 120000)' }),
  AWS_ACCESS_KEY_ID: Type.Optional(Type.String({ minLength: 1, description: 'the S3 access key; unset means the SDK default credential chain' })),
  AWS_SECRET_ACCESS_KEY: Type.Optional(Type.String({ minLength: 1, description: 'the S3 secret key, given together with AWS_ACCESS_KEY_ID' })),
  AWS_SESSION_TOKEN: Type.Optional(Type.String({ minLength: 1, description: 'an optional session token for temporary credentials' })),
  EMBEDDED_S3_PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 4568, description: 'the port of the embedded development store, 0 to 65535' }),
  EMBEDDED_S3_DIR: Type.String({ minLength: 1, default: '.data/s3', description: 'where the embedded development store keeps its files' }),

  MAX_FILE_SIZE: Type.String({ pattern: '^[0-9]+(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)?$', default: '10MiB', description: 'the largest upload, in bytes or with B, KB, MB, GB, TB, KiB, MiB, GiB or TiB' }),
  ALLOWED_CONTENT_TYPES: Type.String({ pattern: '^\\s*([a-z0-9!#$&^_.+-]+/([a-z0-9!#$&^_.+-]+|\\*)\\s*(,\\s*[a-z0-9!#$&^_.+-]+/([a-z0-9!#$&^_.+-]+|\\*)\\s*)*)?$', default: '', description: 'a comma list of content types such as image/png or image/*; empty allows any type' }),
  UPLOAD_PREFIX: Type.String({ pattern: '^(?!_filegate/)((?!\\.{1,2}/)[A-Za-z0-9._-]+/)+$', default: 'uploads/', description: 'the key prefix of uploads: path segments ending in a slash, not under _filegate/' }),
  UPLOAD_KEY_LAYOUT: Type.Union([Type.Literal('date'), Type.Literal('owner')], { default: 'date', description: 'date (<prefix>yyyy/mm/dd/<id><ext>) or owner (<prefix><owner>/<id><ext>)' }),
  UPLOAD_URL_EXPIRES: duration('how long an upload grant is valid, 1 s to 7 d', '15m'),
  DOWNLOAD_URL_EXPIRES: duration('the default lifetime of a download URL', '5m'),
  DOWNLOAD_URL_MAX_EXPIRES: duration('the longest download URL a caller may ask for, at most 7 d', '1h'),
  ORPHAN_TTL: duration('the age after which an unconfirmed upload is deleted; longer than UPLOAD_URL_EXPIRES', '24h'),
  MULTIPART_TTL: duration('the age after which an unfinished multipart upload is aborted by cleanup and can no longer be completed; longer than UPLOAD_URL_EXPIRES', '7d'),
  MAX_FILES_PER_OWNER: Type.Integer({ minimum: 0, maximum: 1000000000, default: 0, description: 'the most confirmed files one owner may keep, checked at upload-url and at confirm; 0 means no limit' }),

  RATE_LIMIT_ENABLED: flag('false turns off the per-owner rate limits of upload-url and confirm', true),
  RATE_LIMIT_MAX: Type.Integer({ minimum: 1, maximum: 1000000, default: 60, description: 'requests one owner may make to upload-url, and separately to confirm, per RATE_LIMIT_WINDOW (1 to 1000000)' }),
  RATE_LIMIT_WINDOW: duration('the window RATE_LIMIT_MAX counts over, 1 s to 1 d', '1m'),
  READ_RATE_LIMIT_MAX: Type.Integer({ minimum: 1, maximum: 1000000, default: 300, description: 'reads one owner may make per READ_RATE_LIMIT_WINDOW to listings, records and download URLs together, and to each multipart read route apart (1 to 1000000)' }),
  READ_RATE_LIMIT_WINDOW: duration('the window READ_RATE_LIMIT_MAX counts over, 1 s to 1 d', '1m'),
  RATE_LIMIT_ANONYMOUS_MAX: Type.Integer({ minimum: 1, maximum: 1000000, default: 120, description: 'downloads of shared files without a token that one client address may make per RATE_LIMIT_WINDOW (1 to 1000000)' }),
  REDIS_URL: Type.Optional(Type.String({ pattern: '^rediss?://[^\\s]+$', description: 'a redis:// or rediss:// URL; rate limits are then counted in Redis, shared by every instance; unset means per process' })),
  REDIS_TIMEOUT_MS: Type.Integer({ minimum: 10, maximum: 10000, default: 500, description: 'how long a rate-limit check waits for Redis (connect and command), in milliseconds (10 to 10000); past it the process counts on its own' }),
  REDIS_KEY_PREFIX: Type.String({ pattern: '^[A-Za-z0-9:._-]{1,64}$', default: 'filegate:', description: 'the prefix of every key filegate writes to Redis, so deployments can share one server (letters, digits, : . _ -)' }),
  TRUST_PROXY: Type.String({ pattern: '^\\s*(true|false|[0-9]{1,2}|[0-9A-Fa-f:.]+(/[0-9]{1,3})?(\\s*,\\s*[0-9A-Fa-f:.]+(/[0-9]{1,3})?)*)\\s*$', default: 'false', description: 'whether X-Forwarded-For names the client: false, true (any peer), a number of proxy hops, or a comma list of proxy addresses or CIDRs' }),
  CLEANUP_INTERVAL: duration('how often the in-process orphan sweep runs, at most 7 d; 0 turns it off', '0'),
  CLEANUP_LOOKBACK: duration('with the date layout, how far past ORPHAN_TTL the orphan sweep looks, at least 1 s', '30d'),

  JWT_SECRET: Type.Optional(Type.String({ pattern: '^[^,]{32,}(,[^,]{32,})?$', description: 'the HS256 secret, at least 32 characters; during a rotation two, comma separated (new,old): tokens signed with either verify, npm run token signs with the first' })),
  JWT_PUBLIC_KEY: Type.Optional(Type.String({ pattern: '-----BEGIN PUBLIC KEY-----', description: 'a PEM public key (RS256 or ES256); \\n escapes are allowed' })),
  JWT_JWKS_URL: Type.Optional(Type.String({ pattern: '^https?://[^\\s]+$', description: 'the http(s) URL of your identity provider\'s JSON Web Key Set (RS256 and ES256 keys, each with a kid); needs JWT_ISSUER and JWT_AUDIENCE, and https in production' })),
  JWT_JWKS_REFRESH: duration('how often the key set is fetched again in the background so that removed keys stop verifying, 1 m to 1 d', '10m'),
  JWT_JWKS_MIN_REFETCH_INTERVAL: duration('the least time between two fetches of the key set caused by tokens naming an unknown kid, 1 s to 1 h', '30s'),
  JWT_ALLOW_PUBLIC_SECRET: flag('true lets NODE_ENV=production run with a JWT_SECRET published in this repository (docker-compose.yml, .env.example): for a local stack only', false),
  JWT_ISSUER: Type.Optional(Type.String({ minLength: 1, description: 'the required iss claim' })),
  JWT_AUDIENCE: Type.Optional(Type.String({ minLength: 1, description: 'the required aud claim' })),
  JWT_REQUIRE_EXP: flag('false accepts tokens without an exp claim (they then expire JWT_MAX_TOKEN_LIFETIME after their iat, or never without one)', true),
  JWT_MAX_TOKEN_LIFETIME: duration('the longest a token may be valid (exp - iat, or exp - now without iat), at most 365 d; 0 means no limit', '24h'),
  JWT_CLOCK_TOLERANCE: duration('how far clocks may disagree when exp, nbf and iat are checked, at most 5 m', '30s'),
  JWT_CACHE_SIZE: Type.Integer({ minimum: 0, maximum: 1000000, default: 10000, description: 'how many verified tokens to keep (each until its exp), 0 to 1000000; 0 verifies every request afresh' }),
  JWT_OWNER_CLAIM: Type.String({ pattern: '^[A-Za-z0-9_:.-]{1,64}$', default: 'sub', description: 'the claim that names the owner of a file' }),

  CORS_ORIGINS: Type.String({ pattern: '^\\s*(\\*|https?://[^\\s,/]+(\\s*,\\s*https?://[^\\s,/]+)*)?\\s*$', default: '', description: 'a comma list of origins (https://app.example.com) allowed to call the API from a browser, or *; empty allows none' }),
  LOAD_SHED_MAX_EVENT_LOOP_DELAY: duration('shed load (503 OVERLOADED) while the mean event-loop delay over the last second exceeds this; 0 turns the check off', '1s'),
  LOAD_SHED_MAX_EVENT_LOOP_UTILIZATION: Type.Number({ minimum: 0, maximum: 1, default: 0, description: 'shed load while the event loop was busy more than this share of the last second, 0 to 1; 0 turns the check off' }),
  LOAD_SHED_RETRY_AFTER: duration('the Retry-After of a shed request, 1 s to 1 h', '10s'),
  METRICS_PORT: Type.Optional(Type.Integer({ minimum: 0, maximum: 65535, description: 'the port of the /metrics listener (Prometheus text), 0 to 65535; unset means no metrics' })),
  METRICS_HOST: Type.Optional(Type.String({ minLength: 1, description: 'the address the /metrics listener binds; unset means HOST' })),
  DOCS_PERSIST_AUTHORIZATION: flag('true lets Swagger UI at /docs keep the token pasted into Authorize in the browser\'s localStorage across reloads (any script on the origin can read it there); false keeps it in the page only', false),
  READY_CACHE_MS: Type.Integer({ minimum: 0, maximum: 60000, default: 2000, description: 'how long /ready reuses its last S3 (and clamd) check, in milliseconds (0 to 60000); concurrent probes always share one check, so no caller makes filegate call S3 at its own rate' }),
  DEMO_PAGE: Type.Optional(Type.Boolean({ description: 'true or false: whether to serve the example upload page at /demo; unset means on unless NODE_ENV is production' })),

  WEBHOOK_URLS: Type.String({ pattern: '^\\s*(https?://[^\\s,]+(\\s*[,\\s]\\s*https?://[^\\s,]+)*)?\\s*$', default: '', description: 'http(s) URLs, separated by commas or spaces, that receive every event as a Standard Webhooks request; empty sends none' }),
  WEBHOOK_SECRET: Type.String({ pattern: '^\\s*(whsec_[A-Za-z0-9+/=]+(\\s+whsec_[A-Za-z0-9+/=]+)*)?\\s*$', default: '', description: 'one or more whsec_ secrets (base64 after whsec_, at least 16 bytes), separated by spaces; each signs every request (for rotation)' }),
  WEBHOOK_TIMEOUT_MS: Type.Integer({ minimum: 100, maximum: 120000, default: 15000, description: 'how long a webhook receiver may take to answer, in milliseconds (100 to 120000)' }),
  WEBHOOK_RETRY_SCHEDULE: Type.String({ pattern: '^\\s*[0-9]+(ms|s|m|h|d)?(\\s*,\\s*[0-9]+(ms|s|m|h|d)?)*\\s*$', default: '5s,5m,30m,2h,5h,10h,10h', description: 'the delays before each retry of a failed event, a comma list of durations (the Standard Webhooks schedule by default); the attempt after the last delay is the last' }),
  EVENTS_POLL_INTERVAL: duration('how often each dispatcher looks in the outbox for events due (retries, and those whose writer died), 100 ms to 1 h', '5s'),
  EVENTS_LEASE: duration('how long a dispatcher\'s claim on an event holds unrenewed before another may take it over (the holder renews it every third of it while the job runs); more than twice WEBHOOK_TIMEOUT_MS', '60s'),
  EVENTS_GRACE: duration('how old an outbox event must be before a poll takes it (younger ones are their writer\'s); at least twice S3_TIMEOUT_MS', '30s'),
  EVENTS_DEDUPE_WINDOW: duration('how long a consumer remembers the events it handled, so that a repeated change is not sent again; cleanup forgets older ones', '7d'),

  SCANNER: Type.Union([Type.Literal('none'), Type.Literal('clamav')], { default: 'none', description: 'none, or clamav: every confirmed file is streamed to clamd and served only once it is clean' }),
  CLAMD_HOST: Type.String({ minLength: 1, default: '127.0.0.1', description: 'the host clamd listens on (TCPAddr)' }),
  CLAMD_PORT: Type.Integer({ minimum: 1, maximum: 65535, default: 3310, description: 'the TCP port clamd listens on (TCPSocket), 1 to 65535' }),
  CLAMD_TIMEOUT_MS: Type.Integer({ minimum: 100, maximum: 600000, default: 60000, description: 'the longest silence from clamd during a scan before it is tried again later, in milliseconds' }),
  CLAMD_STREAM_MAX_LENGTH: Type.String({ pattern: '^[0-9]+(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)?$', default: '25MiB', description: 'clamd\'s StreamMaxLength (its default 25M is 25MiB), in bytes or with a unit as MAX_FILE_SIZE: a larger file is marked error (not scanned, never served) without being sent' }),
  SCAN_RETRY_SCHEDULE: Type.String({ pattern: '^\\s*[0-9]+(ms|s|m|h|d)?(\\s*,\\s*[0-9]+(ms|s|m|h|d)?)*\\s*$', default: '2s,5s,15s,30s,1m,2m,5m,10m,30m,1h,2h,4h,8h,12h,24h,24h,24h', description: 'the delays before each new attempt at a scan while clamd or S3 cannot be reached or clamd answers an error (the file stays pending); a scan with no verdict by its last attempt is marked error' }),
  VARIANTS: Type.String({ pattern: '^\\s*([a-z0-9-]{1,32}:[0-9]{1,4}(\\s*,\\s*[a-z0-9-]{1,32}:[0-9]{1,4})*)?\\s*$', default: '', description: 'WebP renditions of raster images as name:longest-side pairs, e.g. thumb:256,preview:1024; empty makes none' }),
  VARIANT_MAX_PIXELS: Type.Integer({ minimum: 1, maximum: 268402689, default: 40000000, description: 'images whose header declares more pixels get no variants (a decompression bomb is refused before decoding)' }),
})
export type Env = Static<typeof EnvSchema>

/** A fake secret for local development only: used (and accepted) only with the embedded store. */
export const DEVELOPMENT_JWT_SECRET = 'filegate-development-secret-do-not-use-in-production'
/** Secrets published in this repository, which anyone can sign tokens with: refused in production unless JWT_ALLOW_PUBLIC_SECRET. */
export const PUBLIC_JWT_SECRETS: readonly string[] = [
  DEVELOPMENT_JWT_SECRET,
  'compose-dev-secret-not-for-production-0123456789', // docker-compose.yml
  'fake-development-secret-at-least-32-characters', // .env.example
]

export interface LoadConfigOptions {
  /** False for tools that never verify a token (cleanup): no JWT key is then needed. Default true. */
  readonly requireJwtKey?: boolean
}

export interface Config {
  readonly production: boolean
  readonly port: number
  readonly host: string
  readonly logLevel: string
  readonly s3: {
    readonly bucket: string
    readonly region: string
    /** Undefined means AWS's own endpoint, or the embedded store in development. */
    readonly endpoint: string | undefined
    readonly publicEndpoint: string | undefined
    readonly forcePathStyle: boolean
    readonly timeoutMs: number
    /** `lean`: the hot object calls go over filegate's own pooled client; `sdk`: every call through the AWS SDK. */
    readonly client: 'lean' | 'sdk'
    readonly credentials: { readonly accessKeyId: string, readonly secretAccessKey: string, readonly sessionToken?: string } | undefined
  }
  readonly embedded: { readonly port: number, readonly dir: string }
  readonly uploads: {
    readonly maxFileSize: number
    /** Exact types and `type/*` patterns; empty allows every type. */
    readonly allowedContentTypes: readonly string[]
    readonly prefix: string
    readonly layout: 'date' | 'owner'
    readonly urlExpiresSeconds: number
    readonly orphanTtlSeconds: number
    /** Unfinished multipart uploads older than this are aborted by cleanup, and can no longer be completed. */
    readonly multipartTtlSeconds: number
    /** The most files one owner may keep; 0 means no limit. */
    readonly maxFilesPerOwner: number
  }
  /**
   * Per-owner limits of upload-url and confirm, each route counted on its own, and a per-address limit of anonymous
   * downloads; counted in Redis when `redis.url` is set, else per process.
   */
  readonly rateLimit: { readonly enabled: boolean, readonly max: number, readonly windowSeconds: number, readonly anonymousMax: number, readonly readMax: number, readonly readWindowSeconds: number }
  readonly redis: {
    /** Unset: no Redis; every process counts on its own. */
    readonly url: string | undefined
    /** Connect and command timeout; a check that waits longer is counted by the process instead. */
    readonly timeoutMs: number
    readonly keyPrefix: string
  }
  /** Fastify's trustProxy: whether (and from which peers) X-Forwarded-For is believed as the client address. */
  readonly trustProxy: boolean | number | readonly string[]
  readonly cleanup: {
    /** Seconds between in-process orphan sweeps; 0 means none. */
    readonly intervalSeconds: number
    /** With the date layout, the sweep lists only the days from ORPHAN_TTL (or --older-than) to this much further back. */
    readonly lookbackSeconds: number
  }
  readonly downloads: { readonly urlExpiresSeconds: number, readonly maxUrlExpiresSeconds: number }
  readonly jwt: {
    /** The HS256 secret that signs (npm run token, the development token): the first of `secrets`. */
    readonly secret: string | undefined
    /** Every HS256 secret that verifies: one, or two during a rotation (the new one first). */
    readonly secrets: readonly string[]
    readonly publicKey: string | undefined
    /** Keys come from this JSON Web Key Set (by the token's kid), fetched and cached; exclusive with secrets and publicKey. */
    readonly jwks: { readonly url: string, readonly refreshMs: number, readonly minRefetchIntervalMs: number } | undefined
    readonly issuer: string | undefined
    readonly audience: string | undefined
    readonly ownerClaim: string
    /** Refuse tokens without exp. */
    readonly requireExp: boolean
    /** The longest validity a token may claim, in seconds; 0 means no limit. */
    readonly maxLifetimeSeconds: number
    /** Allowed clock skew for exp, nbf and iat, in seconds. */
    readonly clockToleranceSeconds: number
    /** Verified tokens kept, keyed by the whole token, each no longer than its exp allows; 0 means none. */
    readonly cacheSize: number
  }
  /** Origins allowed to call the API from a browser; `*` allows any. */
  readonly corsOrigins: readonly string[]
  /** Serve the example upload page (examples/browser) at /demo. */
  readonly demoPage: boolean
  /** Swagger UI keeps the pasted token in localStorage (persistAuthorization); off by default. */
  readonly docs: { readonly persistAuthorization: boolean }
  /** /ready's S3 and clamd checks are reused this long after they answer (and always shared while one runs). */
  readonly readyCacheMs: number
  readonly events: {
    readonly webhookUrls: readonly string[]
    /** The whsec_ secrets, each as given. */
    readonly webhookSecrets: readonly string[]
    readonly webhookTimeoutMs: number
    /** Delays before each retry, in ms: attempts are one more than delays. */
    readonly retryDelaysMs: readonly number[]
    readonly pollIntervalMs: number
    readonly leaseMs: number
    readonly graceMs: number
    readonly dedupeWindowSeconds: number
  }
  /** The /metrics listener, on its own port so that it is not public; port undefined means no metrics at all. */
  readonly metrics: { readonly port: number | undefined, readonly host: string }
  /** Load shedding: past either threshold (0 is off), requests but /health are answered 503 OVERLOADED with Retry-After. */
  readonly loadShedding: { readonly maxEventLoopDelayMs: number, readonly maxEventLoopUtilization: number, readonly retryAfterSeconds: number }
  /** Virus scanning: off, or every confirmed file streamed to clamd before it is served. */
  readonly scanning: {
    readonly enabled: boolean
    readonly clamd: { readonly host: string, readonly port: number }
    readonly timeoutMs: number
    readonly maxBytes: number
    readonly retryDelaysMs: readonly number[]
  }
  /** WebP renditions of raster images (empty: none). */
  readonly variants: { readonly specs: readonly VariantSpec[], readonly maxPixels: number }
}

export class ConfigError extends Error {
  override name = 'ConfigError'
  constructor (readonly problems: readonly string[]) {
    super(`Invalid configuration:\n  ${problems.join('\n  ')}`)
  }
}

/** Variables whose values never appear in an error message. */
const SECRET_VARIABLES = new Set(['JWT_SECRET', 'JWT_PUBLIC_KEY', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'REDIS_URL', 'WEBHOOK_SECRET'])

const SEVEN_DAYS = 7 * 24 * 3600
const unitSeconds: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400 }
const unitBytes: Record<string, number> = { B: 1, KB: 1e3, MB: 1e6, GB: 1e9, TB: 1e12, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3, TiB: 1024 ** 4 }
/** The largest object S3 stores, and so the largest multipart upload. */
export const MAX_OBJECT_SIZE = 5 * 1024 ** 4
/** The most one POST upload (or one part) may carry. */
export const MAX_POST_SIZE = 5 * 1024 ** 3

/** Parses `90`, `90s`, `15m`, `24h`, `7d` into whole seconds. */
export function parseDurationSeconds (text: string): number {
  const match = /^([0-9]+)(ms|s|m|h|d)?$/.exec(text)
  if (match === null) throw new ConfigError([`"${text}" is not a duration`])
  return Math.ceil(Number(match[1]) * (unitSeconds[match[2] ?? 's'] ?? 1))
}

/** Parses `250ms`, `90`, `15m`... into milliseconds. */
export function parseDurationMs (text: string): number {
  const match = /^([0-9]+)(ms|s|m|h|d)?$/.exec(text.trim())
  if (match === null) throw new ConfigError([`"${text}" is not a duration`])
  return Math.round(Number(match[1]) * (unitSeconds[match[2] ?? 's'] ?? 1) * 1000)
}

/** The bytes of a whsec_ secret (base64 after the prefix). */
export function webhookSecretBytes (secret: string): Buffer {
  return Buffer.from(secret.slice('whsec_'.length), 'base64')
}

function parseBytes (text: string): number {
  const match = /^([0-9]+)(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)?$/.exec(text)
  if (match === null) throw new ConfigError([`"${text}" is not a size`])
  return Number(match[1]) * (unitBytes[match[2] ?? 'B'] ?? 1)
}

/** TRUST_PROXY's text as Fastify's trustProxy: a flag, a hop count, or the addresses of trusted proxies. */
function parseTrustProxy (text: string, problems: string[]): boolean | number | readonly string[] {
  const value = text.trim()
  if (value === 'true') return true
  if (value === 'false') return false
  if (/^[0-9]+$/.test(value)) return Number(value)
  const entries = value.split(',').map((entry) => entry.trim())
  for (const entry of entries) {
    const [address = '', bits] = entry.split('/')
    const family = isIP(address)
    if (family === 0 || (bits !== undefined && Number(bits) > (family === 4 ? 32 : 128))) problems.push(`TRUST_PROXY must list IP addresses or CIDRs ("${entry}" is neither)`)
  }
  return entries
}

/** Reads only the variables the schema names, so unrelated environment never matters. */
function pickKnown (source: Record<string, string | undefined>): Record<string, unknown> {
  const picked: Record<string, unknown> = {}
  for (const name of Object.keys(EnvSchema.properties)) {
    const value = source[name]
    if (value !== undefined && value !== '') picked[name] = value
  }
  // An empty ALLOWED_CONTENT_TYPES is meaningful (any type), so keep it.
  if (source.ALLOWED_CONTENT_TYPES !== undefined) picked.ALLOWED_CONTENT_TYPES = source.ALLOWED_CONTENT_TYPES
  return picked
}

/** The raw text must already look like the type: TypeBox's conversion would turn `true` or `80.5` into a port. */
function rawLooksRight (schema: { type?: unknown }, raw: string | undefined): boolean {
  if (raw === undefined || raw === '') return true
  if (schema.type === 'integer') return /^[0-9]+$/.test(raw)
  if (schema.type === 'boolean') return /^(true|false|1|0)$/i.test(raw)
  return true
}

/** Validates the environment and returns a frozen Config, or throws one ConfigError naming every bad variable. */
export function loadConfig (source: Record<string, string | undefined> = process.env, { requireJwtKey = true }: LoadConfigOptions = {}): Config {
  const picked = pickKnown(source)
  const env = Value.Convert(EnvSchema, Value.Default(EnvSchema, picked)) as Record<string, unknown>
  const problems: string[] = []
  // Each variable is checked on its own so that one message names every bad one.
  for (const [name, schema] of Object.entries(EnvSchema.properties)) {
    const value = env[name]
    const raw = source[name]
    if (value !== undefined && (!rawLooksRight(schema as { type?: unknown }, raw) || !Value.Check(schema, value))) {
      const got = SECRET_VARIABLES.has(name) ? `a value of ${raw?.length ?? 0} characters` : JSON.stringify(raw)
      problems.push(`${name} must be ${(schema as { description?: string }).description ?? 'valid'} (got ${got})`)
      // Fall back to the default so that the checks between variables still run and report too.
      delete picked[name]
    }
  }
  const repaired = problems.length === 0 ? env : Value.Convert(EnvSchema, Value.Default(EnvSchema, picked))
  try {
    if (!Value.Check(EnvSchema, repaired)) throw new ConfigError(['the environment does not match the schema'])
    const config = toConfig(repaired, requireJwtKey)
    if (problems.length > 0) throw new ConfigError(problems)
    return Object.freeze(config)
  } catch (error) {
    if (!(error instanceof ConfigError) || problems.length === 0) throw error
    throw new ConfigError([...problems, ...error.problems.filter((p) => !problems.includes(p))])
  }
}

function toConfig (env: Env, requireJwtKey: boolean): Config {
  const problems: string[] = []
  const production = env.NODE_ENV === 'production'
  const uploadExpires = parseDurationSeconds(env.UPLOAD_URL_EXPIRES)
  const downloadExpires = parseDurationSeconds(env.DOWNLOAD_URL_EXPIRES)
  const downloadMax = parseDurationSeconds(env.DOWNLOAD_URL_MAX_EXPIRES)
  const orphanTtl = parseDurationSeconds(env.ORPHAN_TTL)
  const multipartTtl = parseDurationSeconds(env.MULTIPART_TTL)
  const cleanupInterval = parseDurationSeconds(env.CLEANUP_INTERVAL)
  const cleanupLookback = parseDurationSeconds(env.CLEANUP_LOOKBACK)
  const maxFileSize = parseBytes(env.MAX_FILE_SIZE)
  const rateLimitWindow = parseDurationSeconds(env.RATE_LIMIT_WINDOW)
  const readRateLimitWindow = parseDurationSeconds(env.READ_RATE_LIMIT_WINDOW)
  const webhookUrls = env.WEBHOOK_URLS.split(/[\s,]+/).filter((u) => u !== '')
  const webhookSecrets = env.WEBHOOK_SECRET.split(/\s+/).filter((w) => w !== '')
  const retryDelaysMs = env.WEBHOOK_RETRY_SCHEDULE.split(',').map(parseDurationMs)
  const pollIntervalMs = parseDurationMs(env.EVENTS_POLL_INTERVAL)
  const leaseMs = parseDurationMs(env.EVENTS_LEASE)
  const graceMs = parseDurationMs(env.EVENTS_GRACE)
  const dedupeWindow = parseDurationSeconds(env.EVENTS_DEDUPE_WINDOW)
  const maxTokenLifetime = parseDurationSeconds(env.JWT_MAX_TOKEN_LIFETIME)
  const clockTolerance = parseDurationSeconds(env.JWT_CLOCK_TOLERANCE)
  const scanRetryDelaysMs = env.SCAN_RETRY_SCHEDULE.split(',').map(parseDurationMs)
  let variantSpecs: VariantSpec[] = []
  try {
    variantSpecs = parseVariants(env.VARIANTS)
  } catch (error) {
    problems.push(`VARIANTS: ${error instanceof Error ? error.message : String(error)}`)
  }

  if (uploadExpires < 1 || uploadExpires > SEVEN_DAYS) problems.push('UPLOAD_URL_EXPIRES must be between 1 s and 7 d')
  if (downloadMax < 1 || downloadMax > SEVEN_DAYS) problems.push('DOWNLOAD_URL_MAX_EXPIRES must be between 1 s and 7 d (the SigV4 limit)')
  if (downloadExpires < 1 || downloadExpires > downloadMax) problems.push('DOWNLOAD_URL_EXPIRES must be at least 1 s and at most DOWNLOAD_URL_MAX_EXPIRES')
  if (orphanTtl <= uploadExpires) problems.push('ORPHAN_TTL must be longer than UPLOAD_URL_EXPIRES, or live uploads would be deleted')
  if (cleanupInterval > SEVEN_DAYS) problems.push('CLEANUP_INTERVAL must be at most 7 d')
  if (cleanupLookback < 1) problems.push('CLEANUP_LOOKBACK must be at least 1 s')
  // 5 TiB is the largest object S3 stores; above 5 GiB (the most one POST may carry) only multipart uploads are offered.
  if (maxFileSize < 1 || maxFileSize > MAX_OBJECT_SIZE) problems.push('MAX_FILE_SIZE must be between 1 byte and 5 TiB')
  if (multipartTtl <= uploadExpires) problems.push('MULTIPART_TTL must be longer than UPLOAD_URL_EXPIRES, or part URLs would outlive their upload')
  if (rateLimitWindow < 1 || rateLimitWindow > 86400) problems.push('RATE_LIMIT_WINDOW must be between 1 s and 1 d')
  if (readRateLimitWindow < 1 || readRateLimitWindow > 86400) problems.push('READ_RATE_LIMIT_WINDOW must be between 1 s and 1 d')
  if (maxTokenLifetime > 365 * 86400) problems.push('JWT_MAX_TOKEN_LIFETIME must be at most 365 d (0 for no limit)')
  if (clockTolerance > 300) problems.push('JWT_CLOCK_TOLERANCE must be at most 5 m')
  const trustProxy = parseTrustProxy(env.TRUST_PROXY, problems)
  if ((env.AWS_ACCESS_KEY_ID === undefined) !== (env.AWS_SECRET_ACCESS_KEY === undefined)) {
    problems.push('AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set together')
  }
  const jwtKeySources = [env.JWT_SECRET, env.JWT_PUBLIC_KEY, env.JWT_JWKS_URL].filter((v) => v !== undefined).length
  if (jwtKeySources > 1) problems.push('JWT_SECRET, JWT_PUBLIC_KEY and JWT_JWKS_URL are exclusive: set one')
  const secrets = env.JWT_SECRET?.split(',') ?? []
  const jwksRefreshMs = parseDurationMs(env.JWT_JWKS_REFRESH)
  const jwksMinRefetchMs = parseDurationMs(env.JWT_JWKS_MIN_REFETCH_INTERVAL)
  if (env.JWT_JWKS_URL !== undefined) {
    // A provider's key set signs the tokens of all its clients: only iss and aud say a token was meant for filegate.
    if (env.JWT_ISSUER === undefined || env.JWT_AUDIENCE === undefined) problems.push('JWT_ISSUER and JWT_AUDIENCE must be set with JWT_JWKS_URL: the provider\'s keys also sign tokens meant for other services')
    if (production && !env.JWT_JWKS_URL.startsWith('https://')) problems.push('JWT_JWKS_URL must be an https URL in production: whoever can change the keys in transit can sign tokens')
    if (!URL.canParse(env.JWT_JWKS_URL)) problems.push('JWT_JWKS_URL is not a URL')
  }
  if (jwksRefreshMs < 60_000 || jwksRefreshMs > 86_400_000) problems.push('JWT_JWKS_REFRESH must be between 1 m and 1 d')
  if (jwksMinRefetchMs < 1000 || jwksMinRefetchMs > 3_600_000) problems.push('JWT_JWKS_MIN_REFETCH_INTERVAL must be between 1 s and 1 h')
  // The development secret is public: it may sign tokens only for the embedded store, which holds nothing real.
  const embedded = env.S3_ENDPOINT === undefined && !production
  const keyless = jwtKeySources === 0
  if (requireJwtKey && keyless && production) problems.push('JWT_SECRET, JWT_PUBLIC_KEY or JWT_JWKS_URL must be set in production')
  else if (requireJwtKey && keyless && !embedded) problems.push('JWT_SECRET (or JWT_PUBLIC_KEY or JWT_JWKS_URL) must be set when S3_ENDPOINT is: the development secret is used only with the embedded store')
  if (production && secrets.includes(DEVELOPMENT_JWT_SECRET)) problems.push('JWT_SECRET must not be the development secret in production')
  else if (!embedded && secrets.includes(DEVELOPMENT_JWT_SECRET)) problems.push('JWT_SECRET must not be the development secret when S3_ENDPOINT is set: it is public, so anyone could sign tokens')
  else if (production && secrets.some((s) => PUBLIC_JWT_SECRETS.includes(s)) && !env.JWT_ALLOW_PUBLIC_SECRET) {
    problems.push('JWT_SECRET is a secret published in this repository (docker-compose.yml or .env.example), so anyone could sign tokens: set your own, or JWT_ALLOW_PUBLIC_SECRET=true for a local stack')
  }
  for (const url of webhookUrls) if (!URL.canParse(url)) problems.push(`WEBHOOK_URLS holds "${url}", which is not a URL`)
  if (webhookUrls.length > 0 && webhookSecrets.length === 0) problems.push('WEBHOOK_SECRET must be set when WEBHOOK_URLS is: receivers verify every request with it')
  if (webhookSecrets.some((w) => webhookSecretBytes(w).length < 16)) problems.push('WEBHOOK_SECRET values must each hold at least 16 bytes (base64 after whsec_)')
  if (retryDelaysMs.length > 20) problems.push('WEBHOOK_RETRY_SCHEDULE must have at most 20 delays')
  if (pollIntervalMs < 100 || pollIntervalMs > 3_600_000) problems.push('EVENTS_POLL_INTERVAL must be between 100 ms and 1 h')
  if (leaseMs <= 2 * env.WEBHOOK_TIMEOUT_MS) problems.push('EVENTS_LEASE must be more than twice WEBHOOK_TIMEOUT_MS, or a slow delivery would outlive its claim')
  if (graceMs < 2 * env.S3_TIMEOUT_MS) problems.push('EVENTS_GRACE must be at least twice S3_TIMEOUT_MS, or a poll could send the event of a change that lost a race before its writer removes it')
  if (dedupeWindow < 3600) problems.push('EVENTS_DEDUPE_WINDOW must be at least 1 h')
  const shedDelayMs = parseDurationMs(env.LOAD_SHED_MAX_EVENT_LOOP_DELAY)
  const shedRetryAfter = parseDurationSeconds(env.LOAD_SHED_RETRY_AFTER)
  if (shedRetryAfter < 1 || shedRetryAfter > 3600) problems.push('LOAD_SHED_RETRY_AFTER must be between 1 s and 1 h')
  if (scanRetryDelaysMs.length > 50) problems.push('SCAN_RETRY_SCHEDULE must have at most 50 delays')
  if (problems.length > 0) throw new ConfigError(problems)

  return {
    production,
    port: env.PORT,
    host: env.HOST,
    logLevel: env.LOG_LEVEL,
    s3: {
      bucket: env.S3_BUCKET,
      region: env.S3_REGION,
      endpoint: env.S3_ENDPOINT?.replace(/\/$/, ''),
      publicEndpoint: env.S3_PUBLIC_ENDPOINT?.replace(/\/$/, ''),
      forcePathStyle: env.S3_FORCE_PATH_STYLE,
      timeoutMs: env.S3_TIMEOUT_MS,
      client: env.S3_CLIENT,
      credentials: env.AWS_ACCESS_KEY_ID !== undefined && env.AWS_SECRET_ACCESS_KEY !== undefined
        ? { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY, ...(env.AWS_SESSION_TOKEN !== undefined && { sessionToken: env.AWS_SESSION_TOKEN }) }
        : undefined,
    },
    embedded: { port: env.EMBEDDED_S3_PORT, dir: env.EMBEDDED_S3_DIR },
    uploads: {
      maxFileSize,
      allowedContentTypes: env.ALLOWED_CONTENT_TYPES.split(',').map((t) => t.trim()).filter((t) => t !== ''),
      prefix: env.UPLOAD_PREFIX,
      layout: env.UPLOAD_KEY_LAYOUT,
      urlExpiresSeconds: uploadExpires,
      orphanTtlSeconds: orphanTtl,
      multipartTtlSeconds: multipartTtl,
      maxFilesPerOwner: env.MAX_FILES_PER_OWNER,
    },
    rateLimit: { enabled: env.RATE_LIMIT_ENABLED, max: env.RATE_LIMIT_MAX, windowSeconds: rateLimitWindow, anonymousMax: env.RATE_LIMIT_ANONYMOUS_MAX, readMax: env.READ_RATE_LIMIT_MAX, readWindowSeconds: readRateLimitWindow },
    redis: { url: env.REDIS_URL, timeoutMs: env.REDIS_TIMEOUT_MS, keyPrefix: env.REDIS_KEY_PREFIX },
    trustProxy,
    cleanup: { intervalSeconds: cleanupInterval, lookbackSeconds: cleanupLookback },
    downloads: { urlExpiresSeconds: downloadExpires, maxUrlExpiresSeconds: downloadMax },
    jwt: {
      secret: secrets[0] ?? (embedded && keyless ? DEVELOPMENT_JWT_SECRET : undefined),
      secrets: secrets.length > 0 ? secrets : embedded && keyless ? [DEVELOPMENT_JWT_SECRET] : [],
      jwks: env.JWT_JWKS_URL === undefined ? undefined : { url: env.JWT_JWKS_URL, refreshMs: jwksRefreshMs, minRefetchIntervalMs: jwksMinRefetchMs },
      publicKey: env.JWT_PUBLIC_KEY?.replace(/\\n/g, '\n'),
      issuer: env.JWT_ISSUER,
      audience: env.JWT_AUDIENCE,
      ownerClaim: env.JWT_OWNER_CLAIM,
      requireExp: env.JWT_REQUIRE_EXP,
      maxLifetimeSeconds: maxTokenLifetime,
      clockToleranceSeconds: clockTolerance,
      cacheSize: env.JWT_CACHE_SIZE,
    },
    corsOrigins: env.CORS_ORIGINS.split(',').map((o) => o.trim().replace(/\/$/, '')).filter((o) => o !== ''),
    demoPage: env.DEMO_PAGE ?? !production,
    docs: { persistAuthorization: env.DOCS_PERSIST_AUTHORIZATION },
    readyCacheMs: env.READY_CACHE_MS,
    events: {
      webhookUrls,
      webhookSecrets,
      webhookTimeoutMs: env.WEBHOOK_TIMEOUT_MS,
      retryDelaysMs,
      pollIntervalMs,
      leaseMs,
      graceMs,
      dedupeWindowSeconds: dedupeWindow,
    },
    metrics: { port: env.METRICS_PORT, host: env.METRICS_HOST ?? env.HOST },
    loadShedding: { maxEventLoopDelayMs: shedDelayMs, maxEventLoopUtilization: env.LOAD_SHED_MAX_EVENT_LOOP_UTILIZATION, retryAfterSeconds: shedRetryAfter },
    scanning: {
      enabled: env.SCANNER === 'clamav',
      clamd: { host: env.CLAMD_HOST, port: env.CLAMD_PORT },
      timeoutMs: env.CLAMD_TIMEOUT_MS,
      maxBytes: parseBytes(env.CLAMD_STREAM_MAX_LENGTH),
      retryDelaysMs: scanRetryDelaysMs,
    },
    variants: { specs: variantSpecs, maxPixels: env.VARIANT_MAX_PIXELS },
  }
}

/** True when filegate must start its own development store: no endpoint, not production. */
export function usesEmbeddedStore (config: Config): boolean {
  return config.s3.endpoint === undefined && !config.production
}

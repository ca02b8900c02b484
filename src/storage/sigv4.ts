// SigV4 pieces shared by the presigner and the lean S3 client: credentials, cached signing keys, the object endpoint, header signing.
import crypto, { createHash, createHmac, createSecretKey, type KeyObject } from 'node:crypto'
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3'
import { getEndpointFromInstructions, toEndpointV1 } from '@smithy/core/endpoints'
import { extendedEncodeURIComponent } from '@smithy/core/protocols'
import { createScope, getSigningKey } from '@smithy/signature-v4'
import { StorageUnavailableError } from '../errors.js'

export interface Credentials { readonly accessKeyId: string, readonly secretAccessKey: string, readonly sessionToken?: string | undefined }

/** A signing key and what was derived with it, valid for one day, one region and one set of credentials. */
export interface SigningContext {
  readonly credentials: Credentials
  readonly shortDate: string
  /** The SigV4 signing key, as a KeyObject: cheaper to HMAC with than raw bytes. */
  readonly key: KeyObject
  /** `<access key>/<date>/<region>/<service>/aws4_request` */
  readonly credential: string
  readonly scope: string
}

/** Where object requests go, as the SDK's endpoint rules resolve it for the bucket (path-style or virtual-hosted). */
export interface ObjectEndpoint { readonly origin: string, readonly pathPrefix: string, readonly host: string, readonly region: string, readonly service: string }

export const ALGORITHM = 'AWS4-HMAC-SHA256'
export const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD'

/** SHA-256 in hex: one-shot `crypto.hash` (Node 20.12+) is twice as fast as a Hash object for a canonical request. */
export const sha256Hex: (text: string) => string = typeof crypto.hash === 'function'
  ? (text) => crypto.hash('sha256', text, 'hex')
  : (text) => createHash('sha256').update(text).digest('hex')

/** The SHA-256 of an empty payload, which GET, HEAD and DELETE sign. */
export const EMPTY_SHA256 = sha256Hex('')

/** `2026-11-25T16:50:24Z` for a whole second; the SDK drops milliseconds the same way. */
export const isoSecond = (second: number): string => `${new Date(second * 1000).toISOString().slice(0, 19)}Z`
/** `20261125T165024Z` */
export const amzDate = (second: number): string => isoSecond(second).replace(/[-:]/g, '')

export function sameCredentials (a: Credentials, b: Credentials): boolean {
  return a === b || (a.accessKeyId === b.accessKeyId && a.secretAccessKey === b.secretAccessKey && a.sessionToken === b.sessionToken)
}

/** The client's credentials: its provider caches them and refreshes them before they expire. None is a store filegate cannot use. */
export async function credentialsOf (config: S3Client['config']): Promise<Credentials> {
  let value: unknown
  try {
    value = await config.credentials()
  } catch (error) {
    throw Object.assign(new StorageUnavailableError(), { cause: error })
  }
  return validCredentials(value)
}

function validCredentials (value: unknown): Credentials {
  if (typeof value !== 'object' || value === null) throw new Error('The S3 credential provider returned no credentials')
  const { accessKeyId, secretAccessKey, sessionToken } = value as Record<string, unknown>
  if (typeof accessKeyId !== 'string' || typeof secretAccessKey !== 'string' || (sessionToken !== undefined && typeof sessionToken !== 'string')) {
    throw new Error('The S3 credential provider returned invalid credentials')
  }
  return value as Credentials
}

/** Derives the signing key with the SDK's own `getSigningKey`. */
export async function signingContext (config: S3Client['config'], credentials: Credentials, shortDate: string, region: string, service: string): Promise<SigningContext> {
  const key = createSecretKey(await getSigningKey(config.sha256, credentials, shortDate, region, service))
  const scope = createScope(shortDate, region, service)
  return { credentials, shortDate, key, scope, credential: `${credentials.accessKeyId}/${scope}` }
}

export const isCurrent = (context: SigningContext | undefined, credentials: Credentials, shortDate: string): context is SigningContext =>
  context !== undefined && context.shortDate === shortDate && sameCredentials(context.credentials, credentials)

type ResolvedEndpoint = Awaited<ReturnType<typeof getEndpointFromInstructions>>

/** Whether an endpoint is one plain SigV4 URL: no headers, query, credentials or fragment, and not SigV4a or S3 Express. */
function plainSigV4 (endpoint: ResolvedEndpoint): Record<string, unknown> | undefined {
  const plain = Object.keys(endpoint.headers ?? {}).length === 0 && endpoint.url.search === '' && endpoint.url.username === '' && endpoint.url.password === '' && endpoint.url.hash === ''
  const schemes: unknown = endpoint.properties?.authSchemes
  const first: unknown = Array.isArray(schemes) ? schemes[0] : undefined
  const scheme = typeof first === 'object' && first !== null ? first as Record<string, unknown> : {}
  return plain && scheme.name === 'sigv4' ? scheme : undefined
}

/** The endpoint of `command` on `bucket` as the SDK resolves it; undefined where only the SDK can sign (see plainSigV4). */
export async function resolveObjectEndpoint (config: S3Client['config'], bucket: string, command: Parameters<typeof getEndpointFromInstructions>[1] = GetObjectCommand): Promise<ObjectEndpoint | undefined> {
  const region = await config.region()
  const endpoint = await getEndpointFromInstructions({ Bucket: bucket, Key: 'k' }, command, config)
  const scheme = plainSigV4(endpoint)
  if (scheme === undefined) return undefined
  const v1 = toEndpointV1(endpoint)
  const host = `${v1.hostname}${v1.port !== undefined ? `:${v1.port}` : ''}`
  return {
    origin: `${v1.protocol.endsWith(':') ? v1.protocol : `${v1.protocol}:`}//${host}`,
    // The SDK joins the endpoint path and `/{Key+}` this way.
    pathPrefix: v1.path === '/' ? '' : v1.path,
    host,
    region: typeof scheme.signingRegion === 'string' ? scheme.signingRegion : region,
    service: typeof scheme.signingName === 'string' ? scheme.signingName : 's3',
  }
}

/** Whether the endpoint rules give `command` a plain SigV4 endpoint (the presigner's POST check). */
export async function isPlainSigV4 (config: S3Client['config'], bucket: string, command: Parameters<typeof getEndpointFromInstructions>[1]): Promise<{ url: string } | undefined> {
  const endpoint = await getEndpointFromInstructions({ Bucket: bucket, Key: 'k' }, command, config)
  if (plainSigV4(endpoint) === undefined) return undefined
  const { protocol, hostname, port, path } = toEndpointV1(endpoint)
  // The SDK's formatUrl for an endpoint without query, credentials or fragment.
  return { url: `${protocol.endsWith(':') ? protocol : `${protocol}:`}//${hostname}${port !== undefined ? `:${port}` : ''}${path.startsWith('/') ? path : `/${path}`}` }
}

/** The path of an object's URL as the SDK builds it: each key segment escaped, `/` kept. */
export const objectPath = (endpoint: ObjectEndpoint, key: string): string => `${endpoint.pathPrefix}/${key.split('/').map(extendedEncodeURIComponent).join('/')}`

export interface RequestToSign {
  readonly method: 'GET' | 'HEAD' | 'PUT' | 'DELETE'
  readonly key: string
  /** Headers to send and sign, names lowercase (range, content-type, if-match, if-none-match…). */
  readonly headers: Readonly<Record<string, string>>
  /** The payload's SHA-256 in hex; EMPTY_SHA256 for none. */
  readonly payloadHash: string
}

export interface SignedRequest { readonly url: string, readonly path: string, readonly headers: Record<string, string> }

export interface RequestSigner {
  /** The request's URL and every header to send, Authorization included; undefined where only the SDK can sign. */
  sign (request: RequestToSign): Promise<SignedRequest | undefined>
}

/**
 * Signs object requests with Authorization headers (SigV4, as the SDK's signer does), for a pooled HTTP client.
 * The endpoint is resolved once; the signing key is kept until the date or the credentials change; the credentials
 * come from the client's caching provider on every call, so rotated keys and session tokens are picked up.
 */
export function createRequestSigner (client: S3Client, bucket: string): RequestSigner {
  const config = client.config
  let endpoint: Promise<ObjectEndpoint | undefined> | undefined
  let resolved: { value: ObjectEndpoint | undefined } | undefined
  let context: SigningContext | undefined
  let lastSecond = Number.NaN
  let lastDate = ''

  function resolve (): Promise<ObjectEndpoint | undefined> {
    endpoint ??= resolveObjectEndpoint(config, bucket).then((value) => { resolved = { value }; return value })
    endpoint.catch(() => { endpoint = undefined })
    return endpoint
  }

  return {
    async sign ({ method, key, headers, payloadHash }) {
      const target = resolved !== undefined ? resolved.value : await resolve()
      if (target === undefined) return undefined
      const credentials = await credentialsOf(config)
      // As the SDK's request signer: the client's clock offset applies.
      const second = Math.floor((Date.now() + config.systemClockOffset) / 1000)
      if (second !== lastSecond) {
        lastDate = amzDate(second)
        lastSecond = second
      }
      const date = lastDate
      const shortDate = date.slice(0, 8)
      if (!isCurrent(context, credentials, shortDate)) context = await signingContext(config, credentials, shortDate, target.region, target.service)
      const signing = context

      const all: Record<string, string> = { ...headers, host: target.host, 'x-amz-content-sha256': payloadHash, 'x-amz-date': date }
      if (credentials.sessionToken) all['x-amz-security-token'] = credentials.sessionToken
      const names = Object.keys(all).sort()
      let canonicalHeaders = ''
      for (const name of names) canonicalHeaders += `${name}:${(all[name] ?? '').trim().replace(/\s+/g, ' ')}\n`
      const signedHeaders = names.join(';')
      const path = objectPath(target, key)
      const canonicalRequest = `${method}\n${path}\n\n${canonicalHeaders}\n${signedHeaders}\n${payloadHash}`
      const stringToSign = `${ALGORITHM}\n${date}\n${signing.scope}\n${sha256Hex(canonicalRequest)}`
      const signature = createHmac('sha256', signing.key).update(stringToSign).digest('hex')
      // undici sets the host header itself, from the origin.
      delete all.host
      all.authorization = `${ALGORITHM} Credential=${signing.credential}, SignedHeaders=${signedHeaders}, Signature=${signature}`
      return { url: `${target.origin}${path}`, path, headers: all }
    },
  }
}

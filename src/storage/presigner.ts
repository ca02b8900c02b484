// The presigner: POST policies, GET URLs and UploadPart URLs byte-identical to the SDK's presigners, signed with a cached SigV4 key.
import { createHmac } from 'node:crypto'
import { GetObjectCommand, PutObjectCommand, UploadPartCommand, type S3Client } from '@aws-sdk/client-s3'
import { escapeUri } from '@smithy/core/protocols'
import { MAX_PRESIGNED_TTL } from '@smithy/signature-v4'
import {
  ALGORITHM, amzDate, credentialsOf, isCurrent, isoSecond, isPlainSigV4, objectPath, resolveObjectEndpoint, sha256Hex, signingContext, UNSIGNED_PAYLOAD,
  type Credentials, type ObjectEndpoint, type SigningContext,
} from './sigv4.js'

/**
 * Why not call `createPresignedPost` and `getSignedUrl` per request: they copy the client's configuration,
 * resolve the endpoint rules, rebuild a middleware stack and a signer each time (about 46 and 255 µs).
 * Here the endpoint is resolved once with the SDK's own rules, the signing key is derived with the SDK's
 * `getSigningKey` and kept until the date or the credentials change, and each request costs one HMAC
 * (POST) or one SHA-256 and one HMAC (GET). test/storage/presigner.test.ts proves the output byte-identical.
 */

export interface PostInput {
  readonly key: string
  /** Form fields signed as exact-match conditions, in this order (Content-Type, x-amz-meta-*). */
  readonly fields: Readonly<Record<string, string>>
  /** The `content-length-range` condition. */
  readonly contentLength: readonly [min: number, max: number]
  readonly expiresSeconds: number
}

export interface PresignedPost { readonly url: string, readonly fields: Record<string, string> }

export interface GetInput {
  readonly key: string
  readonly responseContentDisposition?: string | undefined
  readonly responseContentType?: string | undefined
  readonly expiresSeconds: number
}

export interface UploadPartInput {
  readonly key: string
  readonly uploadId: string
  readonly partNumber: number
  /** Signed as the `content-length` header: S3 refuses a body of any other length. */
  readonly contentLength: number
  /** Base64 MD5 of the part, signed as the `content-md5` header: S3 refuses other bytes (400 BadDigest). */
  readonly contentMd5?: string | undefined
  readonly expiresSeconds: number
}

export interface Presigner {
  presignPost (input: PostInput): Promise<PresignedPost>
  presignGet (input: GetInput): Promise<string>
  /** A PUT URL for one part of a multipart upload; the caller sends `Content-Length` (and `Content-MD5`) as signed. */
  presignUploadPart (input: UploadPartInput): Promise<string>
}

/** The parts of a POST grant that change only with the signing context. */
interface PostContext extends SigningContext {
  /** The policy conditions that follow the caller's fields: bucket, algorithm, credential (the date comes next). */
  readonly conditionsAfterFields: string
  readonly tokenCondition: string
}

/** The parts of a GET URL that change only with the signing context, already URI-escaped. */
interface GetContext extends SigningContext {
  readonly credentialQuery: string
  readonly tokenQuery: string
}

interface PostEndpoint { readonly url: string, readonly region: string }

/**
 * A presigner for one client and bucket. Nothing is resolved until first use (the endpoint once, the
 * credentials through the client's own caching provider on every call, so rotated credentials and session
 * tokens are picked up), so building it costs nothing at start-up.
 */
export function createPresigner (client: S3Client, bucket: string): Presigner {
  const config = client.config
  interface Endpoints { readonly post: PostEndpoint | undefined, readonly get: ObjectEndpoint | undefined }
  let endpoints: Promise<Endpoints> | undefined
  // Kept outside the promise too, so that the hot path awaits only the credentials.
  let resolved: Endpoints | undefined
  let postContext: PostContext | undefined
  let getContext: GetContext | undefined
  // The date strings of the last second seen; most requests in a second share them.
  let lastSecond = Number.NaN
  let lastAmzDate = ''
  let lastExpirationSecond = Number.NaN
  let lastExpiration = ''

  function amzDateOf (second: number): string {
    if (second !== lastSecond) {
      lastAmzDate = amzDate(second)
      lastSecond = second
    }
    return lastAmzDate
  }

  function expirationOf (second: number): string {
    if (second !== lastExpirationSecond) {
      lastExpiration = isoSecond(second)
      lastExpirationSecond = second
    }
    return lastExpiration
  }

  /** The endpoints as the SDK's rules resolve them; undefined where the fast path does not apply (the SDK then signs). */
  function resolveEndpoints () {
    endpoints ??= (async () => {
      const region = await config.region()
      const [post, get] = await Promise.all([isPlainSigV4(config, bucket, PutObjectCommand), resolveObjectEndpoint(config, bucket, GetObjectCommand)])
      resolved = { post: post === undefined ? undefined : { url: post.url, region }, get }
      return resolved
    })()
    endpoints.catch(() => { endpoints = undefined })
    return endpoints
  }

  async function newPostContext (credentials: Credentials, shortDate: string, region: string): Promise<PostContext> {
    const base = await signingContext(config, credentials, shortDate, region, 's3')
    postContext = {
      ...base,
      conditionsAfterFields: `${JSON.stringify({ bucket })},${JSON.stringify({ 'X-Amz-Algorithm': ALGORITHM })},${JSON.stringify({ 'X-Amz-Credential': base.credential })}`,
      tokenCondition: credentials.sessionToken ? `,${JSON.stringify({ 'X-Amz-Security-Token': credentials.sessionToken })}` : '',
    }
    return postContext
  }

  async function newGetContext (credentials: Credentials, shortDate: string, endpoint: ObjectEndpoint): Promise<GetContext> {
    const base = await signingContext(config, credentials, shortDate, endpoint.region, endpoint.service)
    getContext = {
      ...base,
      credentialQuery: `&X-Amz-Credential=${escapeUri(base.credential)}`,
      tokenQuery: credentials.sessionToken ? `&X-Amz-Security-Token=${escapeUri(credentials.sessionToken)}` : '',
    }
    return getContext
  }

  /**
   * A presigned URL as getSignedUrl makes it. `headersBeforeHost` are the canonical `name:value\n` lines of the signed
   * headers that sort before `host`; `tail` is the query from X-Amz-SignedHeaders on, already in code-unit order.
   */
  async function signUrl (endpoint: ObjectEndpoint, method: string, key: string, expiresSeconds: number, headersBeforeHost: string, signedHeaders: string, tail: string): Promise<string> {
    if (expiresSeconds > MAX_PRESIGNED_TTL) throw new Error('Signature version 4 presigned URLs must have an expiration date less than one week in the future')
    const credentials = await credentialsOf(config)
    // As getSignedUrl: the signer's own clock, without the client's offset.
    const date = amzDateOf(Math.floor(Date.now() / 1000))
    const shortDate = date.slice(0, 8)
    const context = getContext !== undefined && isCurrent(getContext, credentials, shortDate) ? getContext : await newGetContext(credentials, shortDate, endpoint)

    const path = objectPath(endpoint, key)
    // Query parameters in code-unit order, which is the order of both the canonical query and the SDK's URL.
    const head = `X-Amz-Algorithm=${ALGORITHM}&X-Amz-Content-Sha256=${UNSIGNED_PAYLOAD}${context.credentialQuery}&X-Amz-Date=${date}&X-Amz-Expires=${expiresSeconds}${context.tokenQuery}`
    const canonicalRequest = `${method}\n${path}\n${head}&${tail}\n${headersBeforeHost}host:${endpoint.host}\n\n${signedHeaders}\n${UNSIGNED_PAYLOAD}`
    const stringToSign = `${ALGORITHM}\n${date}\n${context.scope}\n${sha256Hex(canonicalRequest)}`
    const signature = createHmac('sha256', context.key).update(stringToSign).digest('hex')
    return `${endpoint.origin}${path}?${head}&X-Amz-Signature=${signature}&${tail}`
  }

  return {
    async presignPost ({ key, fields, contentLength, expiresSeconds }) {
      const { post } = resolved ?? await resolveEndpoints()
      if (post === undefined || key.endsWith('${filename}')) {
        // Loaded only when needed: the SDK's presigners add about 0.1 s to start-up.
        const { createPresignedPost } = await import('@aws-sdk/s3-presigned-post')
        return await createPresignedPost(client, {
          Bucket: bucket, Key: key, Conditions: [['content-length-range', contentLength[0], contentLength[1]]], Fields: { ...fields }, Expires: expiresSeconds,
        })
      }
      const credentials = await credentialsOf(config)
      // As createPresignedPost: the client's clock offset applies, and milliseconds are dropped.
      const nowMs = Date.now() + config.systemClockOffset
      const second = Math.floor(nowMs / 1000)
      const date = amzDateOf(second)
      const shortDate = date.slice(0, 8)
      const context = postContext !== undefined && isCurrent(postContext, credentials, shortDate) ? postContext : await newPostContext(credentials, shortDate, post.region)

      const out: Record<string, string> = {}
      let conditions = JSON.stringify(['content-length-range', contentLength[0], contentLength[1]])
      for (const [name, value] of Object.entries(fields)) {
        out[name] = value
        conditions += `,{${JSON.stringify(name)}:${JSON.stringify(value)}}`
      }
      out.bucket = bucket
      out['X-Amz-Algorithm'] = ALGORITHM
      out['X-Amz-Credential'] = context.credential
      out['X-Amz-Date'] = date
      if (credentials.sessionToken) out['X-Amz-Security-Token'] = credentials.sessionToken
      const expiration = expirationOf(Math.floor((nowMs + expiresSeconds * 1000) / 1000))
      const policy = Buffer.from(
        `{"expiration":"${expiration}","conditions":[${conditions},${context.conditionsAfterFields},{"X-Amz-Date":"${date}"}${context.tokenCondition},${JSON.stringify({ key })}]}`,
        'utf8',
      ).toString('base64')
      out.key = key
      out.Policy = policy
      out['X-Amz-Signature'] = createHmac('sha256', context.key).update(policy).digest('hex')
      return { url: post.url, fields: out }
    },

    async presignGet ({ key, responseContentDisposition, responseContentType, expiresSeconds }) {
      const { get } = resolved ?? await resolveEndpoints()
      if (get === undefined) {
        const { getSignedUrl } = await import('@aws-sdk/s3-request-presigner')
        return await getSignedUrl(client, new GetObjectCommand({
          Bucket: bucket, Key: key, ResponseContentDisposition: responseContentDisposition, ResponseContentType: responseContentType,
        }), { expiresIn: expiresSeconds })
      }
      const tail = `X-Amz-SignedHeaders=host${responseContentDisposition !== undefined ? `&response-content-disposition=${escapeUri(responseContentDisposition)}` : ''}${responseContentType !== undefined ? `&response-content-type=${escapeUri(responseContentType)}` : ''}&x-id=GetObject`
      return await signUrl(get, 'GET', key, expiresSeconds, '', 'host', tail)
    },

    async presignUploadPart ({ key, uploadId, partNumber, contentLength, contentMd5, expiresSeconds }) {
      const { get } = resolved ?? await resolveEndpoints()
      if (get === undefined) {
        const { getSignedUrl } = await import('@aws-sdk/s3-request-presigner')
        return await getSignedUrl(client, new UploadPartCommand({
          Bucket: bucket, Key: key, UploadId: uploadId, PartNumber: partNumber, ContentLength: contentLength, ContentMD5: contentMd5,
        }), { expiresIn: expiresSeconds })
      }
      // The SDK signs every header the command sets: content-length, and content-md5 when given (names in order).
      const headers = `content-length:${contentLength}\n${contentMd5 !== undefined ? `content-md5:${contentMd5}\n` : ''}`
      const signed = contentMd5 !== undefined ? 'content-length;content-md5;host' : 'content-length;host'
      const tail = `X-Amz-SignedHeaders=${escapeUri(signed)}&partNumber=${partNumber}&uploadId=${escapeUri(uploadId)}&x-id=UploadPart`
      return await signUrl(get, 'PUT', key, expiresSeconds, headers, signed, tail)
    },
  }
}

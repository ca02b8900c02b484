// Multipart uploads in a few calls, for tests: create, sign, PUT parts straight to S3, complete, and what the bucket holds.
import { createHash } from 'node:crypto'
import { ListMultipartUploadsCommand, type S3Client } from '@aws-sdk/client-s3'
import type { FastifyInstance } from 'fastify'
import { sessionKeyFor } from '../../src/multipart/session-store.js'
import { bearer, listKeys, readObject } from '../helper.js'

export interface Created { readonly file_id: string, readonly key: string, readonly part_size: number, readonly part_count: number, readonly expires_in: number }
export interface SignedPart { readonly number: number, readonly url: string, readonly headers: Record<string, string>, readonly size: number }

export async function createMultipart (app: FastifyInstance, owner: string, body: { filename: string, size: number, content_type?: string, metadata?: Record<string, string> }): Promise<Created> {
  const res = await app.inject({ method: 'POST', url: '/files/multipart', headers: bearer(owner), payload: body })
  if (res.statusCode !== 201) throw new Error(`create answered ${res.statusCode}: ${res.body}`)
  return res.json<Created>()
}

export async function signParts (app: FastifyInstance, owner: string, id: string, parts: Array<{ number: number, md5?: string }>): Promise<SignedPart[]> {
  const res = await app.inject({ method: 'POST', url: `/files/multipart/${id}/parts`, headers: bearer(owner), payload: { parts } })
  if (res.statusCode !== 200) throw new Error(`signing answered ${res.statusCode}: ${res.body}`)
  return res.json<{ parts: SignedPart[] }>().parts
}

/** The bytes of part `number` (1-based) of `content` in parts of `partSize`. */
export function partBytes (content: Uint8Array, partSize: number, number: number): Uint8Array {
  return content.subarray((number - 1) * partSize, Math.min(number * partSize, content.length))
}

export const md5Base64 = (bytes: Uint8Array): string => createHash('md5').update(bytes).digest('base64')

export async function putPart (part: SignedPart, bytes: Uint8Array): Promise<{ status: number, text: string }> {
  const res = await fetch(part.url, { method: 'PUT', body: new Uint8Array(bytes), headers: part.headers })
  return { status: res.status, text: await res.text() }
}

/** Signs (with MD5s) and PUTs the given parts of `content` (all by default); throws unless S3 takes each. */
export async function uploadParts (app: FastifyInstance, owner: string, created: Created, content: Uint8Array, numbers?: number[]): Promise<void> {
  const wanted = numbers ?? Array.from({ length: created.part_count }, (_, i) => i + 1)
  const signed = await signParts(app, owner, created.file_id, wanted.map((number) => ({ number, md5: md5Base64(partBytes(content, created.part_size, number)) })))
  for (const part of signed) {
    const answer = await putPart(part, partBytes(content, created.part_size, part.number))
    if (answer.status !== 200) throw new Error(`S3 refused part ${part.number}: ${answer.status} ${answer.text}`)
  }
}

export async function complete (app: FastifyInstance, owner: string, id: string): Promise<{ statusCode: number, body: Record<string, unknown> }> {
  const res = await app.inject({ method: 'POST', url: `/files/multipart/${id}/complete`, headers: bearer(owner) })
  return { statusCode: res.statusCode, body: res.json<Record<string, unknown>>() }
}

/** S3's upload id, which filegate keeps to itself: read from the session object, for tests that go around filegate. */
export async function uploadIdOf (s3: S3Client, bucket: string, id: string): Promise<string> {
  const session = JSON.parse((await readObject(s3, bucket, sessionKeyFor(id))).toString('utf8')) as { upload_id: string }
  return session.upload_id
}

/** The unfinished S3 uploads in the bucket, by key. */
export async function s3Uploads (s3: S3Client, bucket: string): Promise<string[]> {
  const out = await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket }))
  return (out.Uploads ?? []).map((u) => u.Key ?? '')
}

/** Everything the bucket holds of one multipart upload: object, record, index entry, session, session index entry, S3 upload. */
export async function multipartTraces (s3: S3Client, bucket: string, created: Created): Promise<Record<string, boolean>> {
  const keys = await listKeys(s3, bucket)
  return {
    object: keys.includes(created.key),
    record: keys.includes(`_filegate/records/${created.file_id}.json`),
    indexEntry: keys.some((k) => k.startsWith('_filegate/owners/') && k.endsWith(created.file_id)),
    session: keys.includes(sessionKeyFor(created.file_id)),
    sessionIndexEntry: keys.some((k) => k.startsWith('_filegate/multipart-owners/') && k.endsWith(created.file_id)),
    s3Upload: (await s3Uploads(s3, bucket)).includes(created.key),
  }
}

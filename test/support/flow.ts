// The upload flow in a few calls, for tests about what happens around it: grant, the real POST to S3, confirm, and bucket checks.
import type { S3Client } from '@aws-sdk/client-s3'
import type { FastifyInstance } from 'fastify'
import { INTERNAL_PREFIX, ownerIndexKeyFor, recordKeyFor } from '../../src/storage/record-store.js'
import { servedKeyId } from '../../src/uploads/served-key.js'
import { bearer, listKeys, postToS3, readObject } from '../helper.js'

export interface Grant { readonly url: string, readonly key: string, readonly fields: Record<string, string>, readonly file_id: string }

/** Asks the app for a grant and uploads `body` to S3 with it; throws unless both succeed. */
export async function uploadFile (app: FastifyInstance, owner: string, body: string, filename = 'note.txt'): Promise<Grant> {
  const res = await app.inject({ method: 'POST', url: '/files/upload-url', headers: bearer(owner), payload: { filename } })
  if (res.statusCode !== 200) throw new Error(`upload-url answered ${res.statusCode}: ${res.body}`)
  const grant = res.json<Grant>()
  const posted = await postToS3(grant, body)
  if (posted.status !== 204) throw new Error(`S3 refused the upload: ${posted.status} ${await posted.text()}`)
  return grant
}

export async function confirm (app: FastifyInstance, owner: string, key: string): Promise<{ statusCode: number, body: Record<string, unknown> }> {
  const res = await app.inject({ method: 'POST', url: `/files/confirm/${key}`, headers: bearer(owner) })
  return { statusCode: res.statusCode, body: res.json<Record<string, unknown>>() }
}

/**
 * What the bucket holds for one file: its object (the upload, or the checked copy confirm serves), its record (not a
 * deleted file's tombstone) and its owner index entry.
 */
export interface FileTraces { readonly object: boolean, readonly record: boolean, readonly indexEntry: boolean }

export async function fileTraces (s3: S3Client, bucket: string, owner: string, grant: Grant): Promise<FileTraces> {
  const keys = new Set(await listKeys(s3, bucket))
  return {
    object: keys.has(grant.key) || [...keys].some((k) => servedKeyId(k) === grant.file_id),
    record: keys.has(recordKeyFor(grant.file_id)) && !(await isBuried(s3, bucket, grant.file_id)),
    indexEntry: keys.has(ownerIndexKeyFor(owner, grant.file_id)),
  }
}

/** Whether the file's record is a tombstone: the file was deleted. */
export async function isBuried (s3: S3Client, bucket: string, id: string): Promise<boolean> {
  const text = await readObject(s3, bucket, recordKeyFor(id)).then((body) => body.toString('utf8'), () => '{}')
  return 'deleted_at' in (JSON.parse(text) as object)
}

/** Every key but deleted files' tombstones and burial notes: what a bucket holds of files, records and index entries. */
export async function liveKeys (s3: S3Client, bucket: string): Promise<string[]> {
  const keys = await listKeys(s3, bucket)
  const live = await Promise.all(keys.map(async (key) => {
    if (key.startsWith(`${INTERNAL_PREFIX}burials/`)) return false
    const record = /^_filegate\/records\/(.+)\.json$/.exec(key)
    return record?.[1] === undefined || !(await isBuried(s3, bucket, record[1]))
  }))
  return keys.filter((_, i) => live[i])
}

/** The keys left for a deleted file: its tombstone and the notes of its burials, which cleanup removes in time. */
export async function burialTraces (s3: S3Client, bucket: string, id: string): Promise<{ readonly tombstone: boolean, readonly notes: number, readonly other: readonly string[] }> {
  const keys = await listKeys(s3, bucket)
  const notes = keys.filter((k) => k.startsWith(`${INTERNAL_PREFIX}burials/`) && k.endsWith(`-${id}`))
  return {
    tombstone: keys.includes(recordKeyFor(id)) && await isBuried(s3, bucket, id),
    notes: notes.length,
    other: keys.filter((k) => k !== recordKeyFor(id) && !notes.includes(k)),
  }
}

// The multipart sweep: aborts unfinished multipart uploads older than MULTIPART_TTL, with their sessions, so their parts stop costing storage.
import type { Config } from '../config.js'
import type { SessionStore } from '../multipart/session-store.js'
import type { ObjectStore, UnfinishedUpload, UnfinishedUploadPage } from '../storage/s3.js'
import { isNotImplemented } from '../storage/s3-errors.js'
import { keyLayouts, parseUploadKey } from '../uploads/key-layout.js'

export interface MultipartSweepOptions {
  readonly objects: ObjectStore
  readonly sessions: SessionStore
  readonly uploads: Pick<Config['uploads'], 'prefix' | 'layout'>
  /** Uploads created longer ago than this are aborted (MULTIPART_TTL). */
  readonly olderThanSeconds: number
  readonly dryRun: boolean
  readonly signal?: AbortSignal | undefined
  readonly now: () => number
  readonly pageSize: number
  /** Records a failure on one upload; the sweep goes on. */
  readonly fail: (key: string, error: unknown) => void
}

export interface MultipartSweepResult {
  /** Unfinished uploads aborted (or, in a dry run, that would be). */
  readonly aborted: number
  /** True when the sweep was stopped before it finished. */
  readonly stopped: boolean
  /** False when the store cannot list unfinished uploads (501), so only uploads with a session were looked at. */
  readonly listed: boolean
}

/**
 * Two passes. Sessions older than the age: the S3 upload is aborted, then the session removed (an upload completed
 * meanwhile keeps its object, which the orphan sweep handles once its session is gone). Then S3's own list of unfinished
 * uploads under the upload prefix: old ones that have no session (a create cut short before its session was written)
 * are aborted too, where the store can list them. Keys that are not filegate's are left alone.
 */
export async function sweepMultipartUploads (options: MultipartSweepOptions): Promise<MultipartSweepResult> {
  const { objects, sessions, uploads, olderThanSeconds, dryRun, signal, now, pageSize, fail } = options
  const cutoff = now() - olderThanSeconds * 1000
  const layout = keyLayouts[uploads.layout]
  const stopping = (): boolean => signal?.aborted === true
  let aborted = 0

  let token: string | undefined
  do {
    if (stopping()) return { aborted, stopped: true, listed: false }
    const page = await sessions.listCreatedBefore(cutoff, { limit: pageSize, token })
    for (const id of page.ids) {
      try {
        const session = await sessions.get(id)
        if (session === undefined) continue
        if (!dryRun) {
          await objects.abortMultipartUpload(session.key, session.upload_id)
          await sessions.remove(session)
        }
        aborted++
      } catch (error) {
        fail(`session ${id}`, error)
      }
    }
    token = page.nextToken
  } while (token !== undefined)

  let from: UnfinishedUploadPage['next']
  do {
    if (stopping()) return { aborted, stopped: true, listed: false }
    let page: UnfinishedUploadPage
    try {
      page = await objects.listMultipartUploads(uploads.prefix, { maxUploads: pageSize, from })
    } catch (error) {
      if (isNotImplemented(error)) return { aborted, stopped: false, listed: false }
      throw error
    }
    const old = page.uploads.filter((u: UnfinishedUpload) => u.initiated.getTime() < cutoff)
    for (const upload of old) {
      const parsed = parseUploadKey(upload.key, uploads.prefix, layout)
      if (!parsed.ok) continue
      try {
        // One with a session is the first pass's (in a dry run, already counted; otherwise young enough to keep).
        if (await sessions.exists(parsed.id)) continue
        if (!dryRun) await objects.abortMultipartUpload(upload.key, upload.uploadId)
        aborted++
      } catch (error) {
        fail(upload.key, error)
      }
    }
    from = page.next
  } while (from !== undefined)
  return { aborted, stopped: false, listed: true }
}

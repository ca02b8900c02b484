// The upload flow over HTTP against a running filegate process: grant, the real POST to S3, confirm.
import { bearer, postToS3 } from '../helper.js'

export interface HttpUpload { readonly fileId: string, readonly key: string, readonly status: number }

/** Grants, uploads `body` to S3 and confirms it through the process at `base`; the confirm's status. */
export async function uploadAndConfirm (base: string, owner: string, body: string): Promise<HttpUpload> {
  const granted = await fetch(`${base}/files/upload-url`, {
    method: 'POST', headers: { ...bearer(owner), 'content-type': 'application/json' }, body: JSON.stringify({ filename: 'note.txt' }),
  })
  if (granted.status !== 200) throw new Error(`upload-url answered ${granted.status}: ${await granted.text()}`)
  const grant = await granted.json() as { url: string, key: string, fields: Record<string, string>, file_id: string }
  const posted = await postToS3(grant, body)
  if (posted.status !== 204) throw new Error(`S3 refused the upload: ${posted.status}`)
  const confirmed = await fetch(`${base}/files/confirm/${grant.key}`, { method: 'POST', headers: bearer(owner) })
  await confirmed.arrayBuffer()
  return { fileId: grant.file_id, key: grant.key, status: confirmed.status }
}

// The Uppy client of the browser tests (bundled with esbuild, runs in Chromium): @uppy/aws-s3 posts a filegate grant's form, and upload-success confirms it.
import AwsS3, { type AwsBody } from '@uppy/aws-s3'
import Uppy, { type Meta } from '@uppy/core'

interface UploadGrant { url: string, key: string, fields: Record<string, string> }

export interface UppyUploadResult {
  /** The key Uppy reported in upload-success. */
  readonly key: string
  /** filegate's answer to confirm. */
  readonly record: unknown
  readonly confirmStatus: number
  /** Bytes uploaded, as Uppy's progress events reported them. */
  readonly progress: number[]
}

/** Uploads `file` with Uppy through filegate at `api`, then confirms it. */
export async function uploadWithUppy (api: string, token: string, file: File): Promise<UppyUploadResult> {
  const authorization = `Bearer ${token}`
  const uppy = new Uppy<Meta, AwsBody>({ autoProceed: false })
  uppy.use(AwsS3<Meta, AwsBody>, {
    // filegate offers single POST uploads only.
    shouldUseMultipart: false,
    // Uppy asks to sign this key; filegate chooses the real one, so the Uppy file id serves to find the file again.
    generateObjectKey: (uppyFile) => uppyFile.id,
    signRequest: async (request) => {
      if (request.method !== 'PUT') throw new Error(`filegate grants single uploads only, not ${request.method}`)
      const uppyFile = uppy.getFile(request.key)
      const response = await fetch(`${api}/files/upload-url`, {
        method: 'POST',
        headers: { authorization, 'content-type': 'application/json' },
        body: JSON.stringify({ filename: uppyFile.name ?? 'upload', content_type: uppyFile.type, size: uppyFile.size ?? undefined }),
      })
      if (!response.ok) throw new Error(`filegate refused the grant: ${await response.text()}`)
      const grant = await response.json() as UploadGrant
      // A POST policy: Uppy posts these fields, then the file, to the url.
      return { url: grant.url, fields: grant.fields }
    },
  })

  const progress: number[] = []
  uppy.on('upload-progress', (_file, state) => { progress.push(state.bytesUploaded) })
  const confirmations: Array<Promise<{ key: string, status: number, record: unknown }>> = []
  uppy.on('upload-success', (_file, response) => {
    const key = response.body?.key ?? ''
    const path = key.split('/').map(encodeURIComponent).join('/')
    confirmations.push(fetch(`${api}/files/confirm/${path}`, { method: 'POST', headers: { authorization } })
      .then(async (answer) => ({ key, status: answer.status, record: await answer.json() as unknown })))
  })

  uppy.addFile({ name: file.name, type: file.type, data: file, source: 'test' })
  const result = await uppy.upload()
  const failed = result?.failed ?? []
  if (failed.length > 0) throw new Error(`Uppy failed: ${failed.map((f) => f.error ?? 'unknown').join('; ')}`)
  const [confirmed] = await Promise.all(confirmations)
  if (confirmed === undefined) throw new Error('Uppy reported no upload-success')
  return { key: confirmed.key, record: confirmed.record, confirmStatus: confirmed.status, progress }
}

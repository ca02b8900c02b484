// The Uppy client of the browser tests (bundled with esbuild, runs in Chromium): @uppy/aws-s3 with filegate's adapter, multipart at Uppy's default threshold, confirmed on upload-success.
import AwsS3, { type AwsBody } from '@uppy/aws-s3'
import Uppy, { type Meta } from '@uppy/core'
import { filegateUppy } from '../../client/src/uppy.js'

export interface UppyUploadResult {
  /** The key Uppy reported in upload-success. */
  readonly key: string
  /** The location Uppy reported in upload-success. */
  readonly location: string
  /** filegate's answer to confirm. */
  readonly record: unknown
  readonly confirmStatus: number
  /** Bytes uploaded, as Uppy's progress events reported them. */
  readonly progress: number[]
}

/** Uploads `file` with Uppy through filegate at `api`, then confirms it (which a multipart upload's complete already did). */
export async function uploadWithUppy (api: string, token: string, file: File): Promise<UppyUploadResult> {
  const uppy = new Uppy<Meta, AwsBody>({ autoProceed: false })
  // Uppy's own default: files over 100 MiB in parts.
  uppy.use(AwsS3<Meta, AwsBody>, filegateUppy({ api, token, getFile: (id) => uppy.getFile(id) }))

  const progress: number[] = []
  uppy.on('upload-progress', (_file, state) => { progress.push(state.bytesUploaded) })
  const confirmations: Array<Promise<{ key: string, location: string, status: number, record: unknown }>> = []
  uppy.on('upload-success', (_file, response) => {
    const key = response.body?.key ?? ''
    const path = key.split('/').map(encodeURIComponent).join('/')
    confirmations.push(fetch(`${api}/files/confirm/${path}`, { method: 'POST', headers: { authorization: `Bearer ${token}` } })
      .then(async (answer) => ({ key, location: response.uploadURL ?? '', status: answer.status, record: await answer.json() as unknown })))
  })

  uppy.addFile({ name: file.name, type: file.type, data: file, source: 'test' })
  const result = await uppy.upload()
  const failed = result?.failed ?? []
  if (failed.length > 0) throw new Error(`Uppy failed: ${failed.map((f) => f.error ?? 'unknown').join('; ')}`)
  const [confirmed] = await Promise.all(confirmations)
  if (confirmed === undefined) throw new Error('Uppy reported no upload-success')
  return { key: confirmed.key, location: confirmed.location, record: confirmed.record, confirmStatus: confirmed.status, progress }
}

// Sending bytes to S3 with XMLHttpRequest, which (unlike fetch) reports upload progress; an abort cuts the request.
import { abortError } from './errors.js'

export interface TransferAnswer {
  /** 0 when nothing answered, or the browser hid the answer (S3 errors often come without CORS headers). */
  readonly status: number
  readonly body: string
}

export async function transfer (method: 'PUT' | 'POST', url: string, body: Blob | FormData, headers: Readonly<Record<string, string>>, onProgress: (loaded: number) => void, signal?: AbortSignal): Promise<TransferAnswer> {
  if (signal?.aborted === true) throw abortError()
  return await new Promise((resolve, reject) => {
    const request = new XMLHttpRequest()
    const onAbort = () => request.abort()
    request.open(method, url)
    for (const [name, value] of Object.entries(headers)) request.setRequestHeader(name, value)
    request.upload.addEventListener('progress', (event) => onProgress(event.loaded))
    const settle = (answer: TransferAnswer | undefined) => {
      signal?.removeEventListener('abort', onAbort)
      if (answer === undefined) reject(abortError())
      else resolve(answer)
    }
    request.addEventListener('load', () => settle({ status: request.status, body: request.responseText }))
    request.addEventListener('error', () => settle({ status: 0, body: '' }))
    request.addEventListener('timeout', () => settle({ status: 0, body: '' }))
    request.addEventListener('abort', () => settle(signal?.aborted === true ? undefined : { status: 0, body: '' }))
    signal?.addEventListener('abort', onAbort, { once: true })
    request.send(body)
  })
}

/** S3's `<Code>` and `<Message>` from an error answer the browser may read. */
export function storageErrorOf (answer: TransferAnswer): { readonly code: string, readonly message: string } {
  if (answer.body === '' || typeof DOMParser === 'undefined') return { code: '', message: '' }
  const xml = new DOMParser().parseFromString(answer.body, 'application/xml')
  return { code: xml.querySelector('Code')?.textContent ?? '', message: xml.querySelector('Message')?.textContent ?? '' }
}

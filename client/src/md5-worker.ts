// The MD5 worker: hashes the parts the page sends it, off the main thread. Built as its own file (filegate-md5-worker.js).
import { digestBlob } from './md5-digest.js'

interface Job { readonly id: number, readonly blob: Blob }

self.addEventListener('message', (event: MessageEvent<Job>) => {
  const { id, blob } = event.data
  digestBlob(blob).then(
    (md5) => self.postMessage({ id, md5 }),
    (error: unknown) => self.postMessage({ id, error: error instanceof Error ? error.message : String(error) }),
  )
})

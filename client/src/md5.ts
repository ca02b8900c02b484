// Part MD5s off the main thread: a small pool of workers (filegate-md5-worker.js), or the page itself where workers cannot start.
import { digestBlob, type Md5 } from './md5-digest.js'

export type { Md5 } from './md5-digest.js'

export interface Md5Hasher {
  digest (blob: Blob): Promise<Md5>
  /** Ends the workers. */
  close (): void
}

interface Pending { readonly resolve: (md5: Md5) => void, readonly reject: (error: Error) => void, readonly blob: Blob }

/** What a worker answers: the MD5, or why it failed. */
function isAnswer (data: unknown): data is { id: number, md5?: Md5, error?: string } {
  return typeof data === 'object' && data !== null && typeof (data as { id?: unknown }).id === 'number'
}

const yieldToPage = async (): Promise<void> => await new Promise((resolve) => setTimeout(resolve, 0))

/**
 * `workerUrl` null hashes on the page (in 4 MiB slices, yielding between them). A worker that fails to start (a missing
 * file, a Content-Security-Policy without it) sends its jobs, and every later one, to the page.
 */
export function createMd5Hasher (workerUrl: string | URL | null, poolSize: number): Md5Hasher {
  const idle: Worker[] = []
  const all: Worker[] = []
  const pending = new Map<number, Pending & { worker: Worker }>()
  const queue: Array<Pending & { id: number }> = []
  let broken = workerUrl === null || typeof Worker === 'undefined'
  let nextId = 0

  function onPage (job: Pending): void {
    digestBlob(job.blob, yieldToPage).then(job.resolve, job.reject)
  }

  function breakPool (): void {
    broken = true
    for (const worker of all) worker.terminate()
    for (const job of [...pending.values(), ...queue.splice(0)]) onPage(job)
    pending.clear()
  }

  function start (): Worker | undefined {
    if (all.length >= poolSize || workerUrl === null) return undefined
    let worker: Worker
    try {
      worker = new Worker(workerUrl)
    } catch {
      breakPool()
      return undefined
    }
    worker.addEventListener('error', breakPool)
    worker.addEventListener('message', (event: MessageEvent<unknown>) => {
      if (!isAnswer(event.data)) return
      const job = pending.get(event.data.id)
      if (job === undefined) return
      pending.delete(event.data.id)
      if (event.data.md5 !== undefined) job.resolve(event.data.md5)
      else job.reject(new Error(event.data.error ?? 'the MD5 worker failed'))
      next(worker)
    })
    all.push(worker)
    return worker
  }

  function next (worker: Worker): void {
    const job = queue.shift()
    if (job === undefined) {
      idle.push(worker)
      return
    }
    pending.set(job.id, { ...job, worker })
    worker.postMessage({ id: job.id, blob: job.blob })
  }

  return {
    async digest (blob) {
      return await new Promise<Md5>((resolve, reject) => {
        if (broken) {
          onPage({ resolve, reject, blob })
          return
        }
        queue.push({ id: nextId++, resolve, reject, blob })
        const worker = idle.pop() ?? start()
        if (worker !== undefined) next(worker)
      })
    },
    close () {
      for (const worker of all) worker.terminate()
      all.length = 0
      idle.length = 0
    },
  }
}

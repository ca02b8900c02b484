// Unit tests of the browser client's pure parts: progress that never goes back, backoff delays, and resume state that a broken storage cannot break.
import t from 'tap'
import { backoffDelay } from '../../client/src/backoff.js'
import { ProgressTracker, type Progress } from '../../client/src/progress.js'
import { createResumeStore, fingerprintOf } from '../../client/src/resume-store.js'

t.test('progress: resumed bytes count at once, parts in flight add up, and a retry starting over never moves it back', async (t) => {
  const seen: Progress[] = []
  const progress = new ProgressTracker(100, (p) => seen.push(p))
  progress.done(30)
  progress.sending(2, 10)
  progress.sending(3, 5)
  progress.sending(2, 4)
  progress.sending(2, 12)
  progress.finish(2, 20)
  progress.finish(3, 20)
  progress.finish(4, 30)
  t.same(seen.map((p) => p.loaded), [30, 40, 45, 47, 55, 70, 100], 'only ever forwards, ending at the total')
  t.ok(seen.every((p) => p.total === 100))
})

t.test('backoff: 0.5 s doubling to 10 s, with at most a quarter more at random', async (t) => {
  for (const [attempt, base] of [[1, 500], [2, 1000], [3, 2000], [5, 8000], [6, 10_000], [20, 10_000]] as const) {
    for (let i = 0; i < 50; i++) {
      const delay = backoffDelay(attempt)
      if (delay < base || delay > base * 1.25) t.fail(`attempt ${attempt}: ${delay} ms is outside ${base}–${base * 1.25}`)
    }
  }
  t.pass('every delay within its band')
})

t.test('resume state: kept by fingerprint, and a storage that throws (private mode, quota) is ignored', async (t) => {
  const file = Object.assign(new Blob(['0123456789']), { name: 'a.bin', lastModified: 1_700_000_000_000 })
  const items = new Map<string, string>()
  const storage = { getItem: (k: string) => items.get(k) ?? null, setItem: (k: string, v: string) => { items.set(k, v) }, removeItem: (k: string) => { items.delete(k) } } as unknown as Storage
  const store = createResumeStore(storage)
  const print = fingerprintOf('https://files.example.com', file, 'a.bin', 'application/octet-stream')
  t.not(print, fingerprintOf('https://files.example.com', Object.assign(new Blob(['0123456789']), { name: 'a.bin', lastModified: 1_700_000_000_001 }), 'a.bin', 'application/octet-stream'), 'a file changed since is another file')
  store.set(print, 'file-id')
  t.equal(store.get(print), 'file-id')
  store.delete(print)
  t.equal(store.get(print), undefined)
  const broken = createResumeStore({ getItem: () => { throw new Error('denied') }, setItem: () => { throw new Error('quota') }, removeItem: () => { throw new Error('denied') } } as unknown as Storage)
  broken.set(print, 'x')
  t.equal(broken.get(print), undefined, 'nothing thrown, nothing kept')
  t.equal(createResumeStore(null).get(print), undefined, 'no storage keeps nothing')
})

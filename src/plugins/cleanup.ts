// The in-process sweep: every CLEANUP_INTERVAL (off by default), one sweep at a time (orphans, stale multipart uploads, tombstones), stopped when the app closes.
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { sweepOrphans, type SweepSummary } from '../cleanup/orphan-sweeper.js'
import type { Config } from '../config.js'

export interface CleanupStatus {
  readonly running: boolean
  /** Sweeps started since the app was built. */
  readonly runs: number
  /** The last finished sweep. */
  readonly last: SweepSummary | undefined
}

export interface CleanupScheduler {
  /** Starts a sweep, or joins the one already running: never two at once. */
  runNow (): Promise<SweepSummary>
  status (): CleanupStatus
}

declare module 'fastify' {
  interface FastifyInstance {
    cleanup: CleanupScheduler
  }
}

export default fp(async function cleanup (app: FastifyInstance, { config }: { config: Config }) {
  const stopping = new AbortController()
  let running: Promise<SweepSummary> | undefined
  let runs = 0
  let last: SweepSummary | undefined
  let timer: NodeJS.Timeout | undefined

  function runNow (): Promise<SweepSummary> {
    running ??= (async () => {
      runs++
      try {
        last = await sweepOrphans({
          objects: app.storage.objects,
          records: app.storage.records,
          sessions: app.multipartSessions,
          uploads: config.uploads,
          olderThanSeconds: config.uploads.orphanTtlSeconds,
          lookbackSeconds: config.cleanup.lookbackSeconds,
          signal: stopping.signal,
          events: { outbox: app.events, jobs: app.events.jobs, dedupeWindowSeconds: config.events.dedupeWindowSeconds },
        })
        const { failures, ...counts } = last
        app.log.info({ cleanup: counts, failures: failures.length > 0 ? failures : undefined }, 'orphan sweep finished')
        return last
      } finally {
        running = undefined
      }
    })()
    return running
  }

  // The next sweep is scheduled when one finishes, so the timer alone never overlaps two.
  function schedule (): void {
    if (stopping.signal.aborted) return
    timer = setTimeout(() => {
      runNow().catch((err: unknown) => app.log.error({ err }, 'orphan sweep failed')).finally(schedule)
    }, config.cleanup.intervalSeconds * 1000)
    timer.unref()
  }

  app.decorate('cleanup', { runNow, status: () => ({ running: running !== undefined, runs, last }) })
  if (config.cleanup.intervalSeconds > 0) app.addHook('onReady', async () => schedule())
  // Registered after storage, so this runs before the S3 clients are destroyed.
  app.addHook('onClose', async () => {
    stopping.abort()
    clearTimeout(timer)
    await running?.catch(() => undefined)
  })
}, { name: 'cleanup', dependencies: ['storage', 'multipart', 'events'] })

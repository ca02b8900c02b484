// The Prometheus metrics of one filegate process: request and S3 latency histograms, business counters, Node's defaults.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client'

/** Seconds; from a fast in-process answer (a grant is signed in well under 1 ms) to an S3 call near its timeout. */
const HTTP_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
const S3_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]
/** Seconds from a change to its job's end: a fast path well under a second, a poll's few seconds, retries over hours. */
const JOB_LAG_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800, 7200, 86400]

/** How an S3 call ended: answered (found or not), timed out (STORAGE_TIMEOUT), or failed otherwise. */
export type S3Outcome = 'ok' | 'timeout' | 'error'

/** How one attempt of a pipeline job (a consumer on an outbox event) ended: see RunnerObserver. */
export type JobOutcome = 'done' | 'retried' | 'dead' | 'dropped'

/** What a confirm (POST or multipart complete) ended as, from its status. */
export type ConfirmOutcome = 'created' | 'repeated' | 'recorded' | 'rejected' | 'not_found' | 'refused' | 'error'

export interface Metrics {
  readonly registry: Registry
  /** One answered HTTP request: `route` is the route's pattern (never the raw URL), `(unmatched)` when none matched. */
  observeRequest (route: string, method: string, status: number, seconds: number): void
  /** One ObjectStore call. */
  observeS3 (operation: string, outcome: S3Outcome, seconds: number): void
  readonly grants: Counter<'kind'>
  readonly confirms: Counter<'outcome'>
  readonly downloadUrls: Counter
  readonly deletes: Counter
  readonly rateLimited: Counter<'route'>
  /** One job attempt's end, by consumer (webhook-<hash>, clamav-scan, variants); `lagSeconds` for a finished one. */
  observeJob (consumer: string, outcome: JobOutcome, lagSeconds?: number): void
  readonly scans: Counter<'verdict'>
  readonly variants: Counter<'outcome'>
  /** Rate-limit checks this process decided alone because Redis did not answer (REDIS_URL). */
  readonly rateLimitFallbacks: Counter
  /** Reports whether Redis is connected, read at each scrape (REDIS_URL). */
  watchRedis (connected: () => boolean): void
  /** Fetches of the JSON Web Key Set (JWT_JWKS_URL): ok, or failed (unreachable, not 2xx, no key set). */
  readonly jwksFetches: Counter<'outcome'>
  /** Reports how many signing keys are loaded from the key set, read at each scrape (JWT_JWKS_URL). */
  watchJwks (keys: () => number): void
  /** The Prometheus text of every metric. */
  scrape (): Promise<string>
}

/** A registry of its own (never prom-client's global one), so that several apps in one process (tests) stay apart. */
export function createMetrics (): Metrics {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry })

  const httpDuration = new Histogram({
    name: 'filegate_http_request_duration_seconds',
    help: 'Time to answer an HTTP request, by route pattern, method and status code',
    labelNames: ['route', 'method', 'status_code'] as const,
    buckets: HTTP_BUCKETS,
    registers: [registry],
  })
  const s3Duration = new Histogram({
    name: 'filegate_s3_request_duration_seconds',
    help: 'Time of one S3 operation (retries included), by operation and outcome (ok, timeout, error)',
    labelNames: ['operation', 'outcome'] as const,
    buckets: S3_BUCKETS,
    registers: [registry],
  })

  const jobs = new Counter({
    name: 'filegate_jobs_total',
    help: 'Pipeline job attempts by consumer (webhook-<hash of the URL>, clamav-scan, variants) and outcome: done (for a webhook, delivered), retried, dead (attempts exhausted, dead-lettered), dropped (done before)',
    labelNames: ['consumer', 'outcome'] as const,
    registers: [registry],
  })
  const jobLag = new Histogram({
    name: 'filegate_job_lag_seconds',
    help: 'Time from a change to the end of the job that finished it (a webhook delivered, a scan recorded), retries included, by consumer',
    labelNames: ['consumer'] as const,
    buckets: JOB_LAG_BUCKETS,
    registers: [registry],
  })

  // prom-client hashes the label object on every observation; a child per label set, found by one string key, is cheaper.
  const httpChildren = new Map<string, Histogram.Internal<'route' | 'method' | 'status_code'>>()
  const s3Children = new Map<string, Histogram.Internal<'operation' | 'outcome'>>()

  return {
    registry,
    observeRequest (route, method, status, seconds) {
      const key = `${method} ${status} ${route}`
      let child = httpChildren.get(key)
      if (child === undefined) {
        child = httpDuration.labels({ route, method, status_code: String(status) })
        httpChildren.set(key, child)
      }
      child.observe(seconds)
    },
    observeS3 (operation, outcome, seconds) {
      const key = `${operation} ${outcome}`
      let child = s3Children.get(key)
      if (child === undefined) {
        child = s3Duration.labels({ operation, outcome })
        s3Children.set(key, child)
      }
      child.observe(seconds)
    },
    grants: new Counter({ name: 'filegate_upload_grants_total', help: 'Upload grants issued, by kind (post: a presigned POST; multipart: a multipart upload created)', labelNames: ['kind'] as const, registers: [registry] }),
    confirms: new Counter({ name: 'filegate_confirms_total', help: 'Confirms (POST confirm and multipart complete) by outcome: created, repeated, recorded (the S3-style complete, which does not tell the two apart), rejected (422, deleted), not_found, refused (other 4xx), error (5xx)', labelNames: ['outcome'] as const, registers: [registry] }),
    downloadUrls: new Counter({ name: 'filegate_download_urls_total', help: 'Download URLs signed (one per file, batch requests included)', registers: [registry] }),
    deletes: new Counter({ name: 'filegate_deletes_total', help: 'Files deleted', registers: [registry] }),
    rateLimited: new Counter({ name: 'filegate_rate_limited_total', help: 'Requests answered 429 RATE_LIMITED, by route pattern', labelNames: ['route'] as const, registers: [registry] }),
    observeJob (consumer, outcome, lagSeconds) {
      jobs.inc({ consumer, outcome })
      if (lagSeconds !== undefined) jobLag.observe({ consumer }, lagSeconds)
    },
    scans: new Counter({ name: 'filegate_scans_total', help: 'Scan verdicts recorded (SCANNER=clamav): clean, infected, error (no verdict after every attempt, or over the stream limit)', labelNames: ['verdict'] as const, registers: [registry] }),
    variants: new Counter({ name: 'filegate_variants_total', help: 'Image renditions (VARIANTS): made, or failed (the image could not be rendered; the upload stands)', labelNames: ['outcome'] as const, registers: [registry] }),
    rateLimitFallbacks: new Counter({ name: 'filegate_rate_limit_redis_fallbacks_total', help: 'Rate-limit checks this process decided on its own because Redis was down, slow or answered wrongly (REDIS_URL): while it grows, limits are per instance', registers: [registry] }),
    watchRedis (connected) {
      // Made only with REDIS_URL, so that an instance without Redis shows no such series at all.
      new Gauge({
        name: 'filegate_redis_connected',
        help: '1 while the Redis client of the shared rate limits is connected, 0 while it is not',
        registers: [registry],
        collect () { this.set(connected() ? 1 : 0) },
      })
    },
    jwksFetches: new Counter({ name: 'filegate_jwks_fetches_total', help: 'Fetches of the JSON Web Key Set (JWT_JWKS_URL) by outcome: ok, or failed (while failed grows and ok does not, tokens naming a new kid get 503 KEY_SET_UNAVAILABLE)', labelNames: ['outcome'] as const, registers: [registry] }),
    watchJwks (keys) {
      // Made only with JWT_JWKS_URL, as the Redis gauge only with REDIS_URL.
      new Gauge({
        name: 'filegate_jwks_keys',
        help: 'Signing keys loaded from the JSON Web Key Set (JWT_JWKS_URL): RS256 and ES256 keys with a kid',
        registers: [registry],
        collect () { this.set(keys()) },
      })
    },
    scrape: async () => await registry.metrics(),
  }
}

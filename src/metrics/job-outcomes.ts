// The pipeline's jobs in the metrics: each attempt's end, heard through the job runner's observer hook.
import type { RunnerObserver } from '../events/job-runner.js'
import type { Metrics } from './registry.js'

/** An observer that counts every job attempt by consumer and outcome, and times finished ones from their change. */
export function jobMetricsObserver (metrics: Metrics): RunnerObserver {
  return {
    done: ({ consumer, lagMs }) => metrics.observeJob(consumer, 'done', Math.max(0, lagMs) / 1000),
    retried: ({ consumer }) => metrics.observeJob(consumer, 'retried'),
    dead: ({ consumer }) => metrics.observeJob(consumer, 'dead'),
    dropped: ({ consumer }) => metrics.observeJob(consumer, 'dropped'),
  }
}

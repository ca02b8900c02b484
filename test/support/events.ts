// Settings for events tests: short retries and polls, a grace the S3 timeout allows, quiet logs.
export const EVENTS_ENV = {
  RATE_LIMIT_ENABLED: 'false',
  LOG_LEVEL: 'silent',
  S3_TIMEOUT_MS: '5000',
  EVENTS_GRACE: '10s',
  EVENTS_POLL_INTERVAL: '200ms',
  WEBHOOK_RETRY_SCHEDULE: '100ms,100ms',
  // Short enough that a fresh event is delivered within the grace without a claim (the fast path production takes).
  WEBHOOK_TIMEOUT_MS: '5000',
}

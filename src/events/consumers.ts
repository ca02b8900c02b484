// The consumer registry: the consumers filegate's configuration asks for (one webhook consumer per WEBHOOK_URLS entry).
import type { Config } from '../config.js'
import type { Consumer } from './consumer.js'
import { webhookConsumer } from './webhook-consumer.js'

/**
 * The consumers the configuration names. Features with their own consumers (scanning, variants) register them
 * with `app.events.register(consumer)` from their plugin, before the app is ready.
 */
export function configuredConsumers (config: Config): Consumer[] {
  const { webhookUrls, webhookSecrets, webhookTimeoutMs, retryDelaysMs } = config.events
  return webhookUrls.map((url) => webhookConsumer({ url, secrets: webhookSecrets, timeoutMs: webhookTimeoutMs, retryDelaysMs }))
}

// Standard Webhooks signatures: `v1,<base64 HMAC-SHA256 of "id.timestamp.body">`, one per whsec_ secret, space-separated.
import { createHmac } from 'node:crypto'
import { webhookSecretBytes } from '../config.js'

/** A signer for the configured secrets (their keys decoded once). */
export function createWebhookSigner (secrets: readonly string[]): (id: string, timestamp: number, body: string) => string {
  const keys = secrets.map(webhookSecretBytes)
  return (id, timestamp, body) => keys
    .map((key) => `v1,${createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64')}`)
    .join(' ')
}

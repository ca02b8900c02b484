// The OpenAPI 3.1 `webhooks` section: the request filegate sends to WEBHOOK_URLS for each event type.
import type { OpenAPIV3_1 } from 'openapi-types'
import { EVENT_DESCRIPTIONS, EVENT_TYPES } from '../events/event-model.js'

const HEADERS = [
  { name: 'webhook-id', description: 'The event id, `<type>.<file id>.r<revision>.<12 hex>`: the same on every retry; deduplicate by it (delivery is at least once)' },
  { name: 'webhook-timestamp', description: 'When this attempt was made, in seconds since the epoch; part of the signed content' },
  { name: 'webhook-signature', description: 'One `v1,<base64 HMAC-SHA256 of "<webhook-id>.<webhook-timestamp>.<body>">` per configured whsec_ secret, separated by spaces' },
].map((h): OpenAPIV3_1.ParameterObject => ({ in: 'header', required: true, schema: { type: 'string' }, ...h }))

function webhookFor (type: string, description: string): OpenAPIV3_1.PathItemObject {
  return {
    post: {
      summary: `${type}`,
      operationId: `webhook_${type.replace(/[^a-z]+/g, '_')}`,
      // filegate sends no bearer token: the receiver authenticates the request by its webhook-signature.
      security: [],
      description: `${description} Sent as a Standard Webhooks request; verify it with any Standard Webhooks library and the configured secret. A 2xx answer is success; anything else (redirects are not followed) is retried on WEBHOOK_RETRY_SCHEDULE, honouring Retry-After on 429 and 503.`,
      tags: ['events'],
      parameters: HEADERS,
      requestBody: {
        required: true,
        content: {
          'application/json': {
            schema: {
              type: 'object',
              required: ['type', 'timestamp', 'data'],
              additionalProperties: false,
              properties: {
                type: { type: 'string', const: type, description: 'The event type' },
                timestamp: { type: 'string', format: 'date-time', description: 'When the change was made (ISO 8601, UTC)' },
                data: {
                  type: 'object',
                  required: ['file'],
                  properties: { file: { $ref: '#/components/schemas/FileRecord', description: 'The file record (after the change; as it was, for file.deleted)' } },
                },
              },
            },
          },
        },
      },
      responses: { '2XX': { description: 'Received; anything else is retried' } },
    },
  }
}

export const WEBHOOKS: Record<string, OpenAPIV3_1.PathItemObject> = Object.fromEntries(EVENT_TYPES.map((type) => [type, webhookFor(type, EVENT_DESCRIPTIONS[type])]))

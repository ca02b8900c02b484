// The business counters, read off each answered request's route pattern and status: no route or service code counts itself.
import type { ConfirmOutcome, Metrics } from './registry.js'

function confirmOutcome (status: number): ConfirmOutcome {
  if (status === 201) return 'created'
  if (status === 200) return 'repeated'
  if (status === 422) return 'rejected'
  if (status === 404) return 'not_found'
  return status >= 500 ? 'error' : 'refused'
}

/** Counts one answered request into the counter its route and status stand for, if any. */
export function countRouteOutcome (metrics: Metrics, method: string, route: string, status: number): void {
  if (status === 429) {
    metrics.rateLimited.inc({ route })
    return
  }
  switch (`${method} ${route}`) {
    case 'POST /files/upload-url':
      if (status === 200) metrics.grants.inc({ kind: 'post' })
      break
    case 'POST /files/multipart':
      if (status === 201) metrics.grants.inc({ kind: 'multipart' })
      break
    case 'POST /files/confirm/*':
    case 'POST /files/multipart/:id/complete':
      metrics.confirms.inc({ outcome: confirmOutcome(status) })
      break
    case 'POST /files/multipart/:id/s3/complete':
      // Its answer (S3's XML) is 200 whether the record was created now or before.
      metrics.confirms.inc({ outcome: status === 200 ? 'recorded' : confirmOutcome(status) })
      break
    case 'GET /files/download/:id':
      if (status === 200 || status === 302) metrics.downloadUrls.inc()
      break
    case 'DELETE /files/:id':
      if (status === 204) metrics.deletes.inc()
      break
    default:
      break
  }
}

// The upload service with the download URLs its batch calls sign counted (one per URL), which no route status can tell.
import type { UploadService } from '../uploads/upload-service.js'
import type { Metrics } from './registry.js'

/**
 * The same service; POST /files/download-urls and GET /files?with=download_url add each URL they sign to
 * filegate_download_urls_total. A single download URL is counted from its route's status (route-outcomes.ts).
 */
export function countBatchDownloadUrls (service: UploadService, metrics: Metrics): UploadService {
  return {
    ...service,
    async createDownloadUrls (request) {
      const grant = await service.createDownloadUrls(request)
      metrics.downloadUrls.inc(grant.items.length)
      return grant
    },
    async listFiles (owner, page) {
      const listed = await service.listFiles(owner, page)
      if (page.withDownloadUrls === true) metrics.downloadUrls.inc(listed.items.filter((item) => item.download_url !== undefined).length)
      return listed
    },
  }
}

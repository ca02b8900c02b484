// The recount of MAX_FILES_PER_OWNER's per-owner counts: each one rebuilt from its owner's index once no change is in flight.
import { createOwnerCounts, listCountedOwners } from '../storage/owner-counts.js'
import type { RecordStore } from '../storage/record-store.js'
import type { ObjectStore } from '../storage/s3.js'

export interface CountRepairSummary { readonly checked: number, readonly repaired: number, readonly busy: number, readonly errors: number }

/**
 * A count is only ever too high after a crash (a confirm that took a place and recorded nothing, a DELETE cut short),
 * or stale after MAX_FILES_PER_OWNER was off for a while (nothing keeps counts then). Each count untouched for
 * `quietMs` is compared with its owner's index and rewritten when they differ, conditionally on the version read.
 */
export async function repairOwnerCounts ({ objects, records, quietMs }: { objects: ObjectStore, records: RecordStore, quietMs: number }): Promise<CountRepairSummary> {
  const counts = createOwnerCounts({ objects, records })
  let checked = 0
  let repaired = 0
  let busy = 0
  let errors = 0
  let token: string | undefined
  do {
    const page = await listCountedOwners(objects, { limit: 1000, token })
    for (const owner of page.owners) {
      checked++
      try {
        const outcome = await counts.recount(owner, quietMs)
        if (outcome === 'repaired') repaired++
        if (outcome === 'busy') busy++
      } catch {
        errors++
      }
    }
    token = page.nextToken
  } while (token !== undefined)
  return { checked, repaired, busy, errors }
}

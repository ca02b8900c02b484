// An ObjectStore wrapper for fault tests: records every call, and fails, holds or follows chosen calls to the real store.
import { StorageUnavailableError } from '../../src/errors.js'
import type { ObjectStore } from '../../src/storage/s3.js'

/** One call: the ObjectStore method and its first argument (the key or prefix). */
export interface StoreCall { readonly op: string, readonly key: string }
export type CallMatch = (call: StoreCall) => boolean

interface Rule {
  readonly match: CallMatch
  /** Runs before the real call; may throw (a failure) or wait (a hold). */
  readonly before?: () => Promise<void>
  /** Runs after the real call succeeded. */
  readonly after?: () => Promise<void>
}

export interface FaultyStore {
  readonly store: ObjectStore
  readonly calls: StoreCall[]
  /** The next matching call fails with STORAGE_UNAVAILABLE, as a dropped connection would, without reaching S3. */
  failOnce (match: CallMatch): void
  /** The next matching call waits, before reaching S3, until `release()`; `reached` resolves once it waits. */
  holdOnce (match: CallMatch): { readonly reached: Promise<void>, release (): void }
  /** Runs `action` (kill the gateway, say) once the next matching call has succeeded, before its caller goes on. */
  afterOnce (match: CallMatch, action: () => Promise<void>): void
}

export const isOp = (op: string, keyPrefix = ''): CallMatch => (call) => call.op === op && call.key.startsWith(keyPrefix)

export function faultyStore (inner: ObjectStore): FaultyStore {
  const calls: StoreCall[] = []
  const rules: Rule[] = []

  function take (call: StoreCall): Rule | undefined {
    const index = rules.findIndex((r) => r.match(call))
    return index === -1 ? undefined : rules.splice(index, 1)[0]
  }

  // Every method of the real store, whatever methods it has, goes through the rules.
  const wrapped: Record<string, unknown> = {}
  for (const [op, method] of Object.entries(inner)) {
    if (typeof method !== 'function') continue
    wrapped[op] = async (...args: unknown[]): Promise<unknown> => {
      const call = { op, key: typeof args[0] === 'string' ? args[0] : '' }
      calls.push(call)
      const rule = take(call)
      await rule?.before?.()
      const result: unknown = await (method as (...a: unknown[]) => Promise<unknown>).apply(inner, args)
      await rule?.after?.()
      return result
    }
  }

  return {
    // Built from the real store's own methods, each wrapped with the same signature.
    store: wrapped as unknown as ObjectStore,
    calls,
    failOnce (match) {
      rules.push({ match, before: async () => { throw Object.assign(new StorageUnavailableError(), { cause: new Error('injected failure') }) } })
    },
    holdOnce (match) {
      let arrived!: () => void
      let release!: () => void
      const reached = new Promise<void>((resolve) => { arrived = resolve })
      const released = new Promise<void>((resolve) => { release = resolve })
      rules.push({ match, before: async () => { arrived(); await released } })
      return { reached, release }
    },
    afterOnce (match, action) {
      rules.push({ match, after: action })
    },
  }
}

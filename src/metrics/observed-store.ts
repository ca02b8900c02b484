// An ObjectStore that times each call it passes on: S3 latency by operation and outcome, whatever client does the calls.
import { StorageTimeoutError } from '../errors.js'
import type { ObjectStore } from '../storage/s3.js'
import type { S3Outcome } from './registry.js'

export type S3Observer = (operation: string, outcome: S3Outcome, seconds: number) => void

function outcomeOf (error: unknown): S3Outcome {
  return error instanceof StorageTimeoutError ? 'timeout' : 'error'
}

/**
 * The same store, each method timed (the operation is the method's name). A Proxy rather than a list of methods, so
 * that a method added to ObjectStore later is observed too. A call that answers "not found" or "changed" is `ok`: S3
 * answered; `error` and `timeout` are calls that threw.
 */
export function observeObjectStore (store: ObjectStore, observe: S3Observer): ObjectStore {
  const wrapped = new Map<PropertyKey, unknown>()
  return new Proxy(store, {
    get (target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver)
      if (typeof value !== 'function' || typeof property !== 'string') return value
      let timed = wrapped.get(property)
      if (timed === undefined) {
        const method = value as (...args: unknown[]) => unknown
        timed = async function (this: unknown, ...args: unknown[]): Promise<unknown> {
          const start = performance.now()
          try {
            const result = await method.apply(target, args)
            observe(property, 'ok', (performance.now() - start) / 1000)
            return result
          } catch (error) {
            observe(property, outcomeOf(error), (performance.now() - start) / 1000)
            throw error
          }
        }
        wrapped.set(property, timed)
      }
      return timed
    },
  })
}

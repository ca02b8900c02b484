// Budgets shared by several routes. @fastify/rate-limit gives every route its own store (its own LRU, or its own Redis
// namespace) and only appends a route's groupId to the key, so routes with the same groupId would still count apart:
// here they get one store, built once for the group.
import type { FastifyRateLimitOptions, FastifyRateLimitStore, FastifyRateLimitStoreCtor } from '@fastify/rate-limit'

type ChildOptions = Parameters<FastifyRateLimitStore['child']>[0]

/** A store class whose routes with the same `groupId` share one child store of `make`'s; other routes get their own as usual. */
export function withGroups (make: (options: FastifyRateLimitOptions) => FastifyRateLimitStore): FastifyRateLimitStoreCtor {
  return class GroupedStore implements FastifyRateLimitStore {
    private readonly base: FastifyRateLimitStore
    private readonly groups = new Map<string, FastifyRateLimitStore>()

    constructor (options: FastifyRateLimitOptions) {
      this.base = make(options)
    }

    incr (...args: Parameters<FastifyRateLimitStore['incr']>): void {
      this.base.incr(...args)
    }

    child (routeOptions: ChildOptions): FastifyRateLimitStore {
      const { groupId } = routeOptions as { groupId?: unknown }
      if (typeof groupId !== 'string') return this.base.child(routeOptions)
      let store = this.groups.get(groupId)
      if (store === undefined) {
        // The Redis store names its namespace after routeInfo's method and url: the group's, not the first route's.
        store = this.base.child({ ...routeOptions, routeInfo: { method: 'GROUP', url: `:${groupId}` } } as unknown as ChildOptions)
        this.groups.set(groupId, store)
      }
      return store
    }
  }
}

// Rate-limit counters shared by every instance in Redis, counted by this process instead while Redis does not answer.
import type { FastifyRateLimitStore, FastifyRateLimitStoreCtor } from '@fastify/rate-limit'
import LocalStore from '@fastify/rate-limit/store/LocalStore.js'
import RedisStore from '@fastify/rate-limit/store/RedisStore.js'
import type { FastifyBaseLogger } from 'fastify'
import type { Redis } from 'ioredis'
import Type from 'typebox'
import { Compile } from 'typebox/compile'

/** What the store's Lua script answers, checked before it decides a request: a count and the window's remaining ms. */
const isCount = Compile(Type.Object({ current: Type.Integer({ minimum: 1 }), ttl: Type.Integer() }))

/** After a failed call, this process counts on its own for this long before it asks Redis again. */
export const REDIS_RETRY_AFTER_MS = 1000

type Incr = FastifyRateLimitStore['incr']
type Child = FastifyRateLimitStore['child']

/** Whether Redis is used, and what happens when it fails: one log line per outage, a counter of local decisions. */
export class RedisLink {
  /** Checks decided by this process because Redis was down, slow or answered nonsense. */
  fallbacks = 0
  private skipUntil = 0
  private down = false
  private readonly fallbackListeners: Array<() => void> = []

  constructor (readonly client: Redis, readonly keyPrefix: string, private readonly log: FastifyBaseLogger) {
    client.on('ready', () => this.answered())
  }

  /** Redis answered (a check, or a new connection): the outage, if there was one, is over. */
  answered (): void {
    if (this.down) this.log.info('Redis answers again: rate limits are shared by every instance again')
    this.down = false
    this.skipUntil = 0
  }

  /** Resolves once connected, or after `timeoutMs` whatever the state. */
  async connected (timeoutMs: number): Promise<void> {
    if (this.client.status === 'ready') return
    await new Promise<void>((resolve) => {
      const done = () => { clearTimeout(timer); this.client.off('ready', done); resolve() }
      const timer = setTimeout(done, timeoutMs)
      this.client.once('ready', done)
    })
  }

  /** Connected, and no call failed in the last REDIS_RETRY_AFTER_MS: ask Redis. */
  usable (): boolean {
    return this.client.status === 'ready' && Date.now() >= this.skipUntil
  }

  /** Called on each check decided locally (metrics count them). */
  onFallback (listener: () => void): void {
    this.fallbackListeners.push(listener)
  }

  /** Whether the client is connected now. */
  get connectedNow (): boolean {
    return this.client.status === 'ready'
  }

  private fellBack (): void {
    this.fallbacks++
    for (const listener of this.fallbackListeners) listener()
  }

  /** A check Redis did not answer in time (or answered wrongly): counted locally, and Redis rests a moment. */
  failed (error: Error): void {
    this.fellBack()
    this.skipUntil = Date.now() + REDIS_RETRY_AFTER_MS
    this.lost(error)
  }

  /** The connection failed (the client's error event): logged once per outage; the client reconnects by itself. */
  lost (error: Error): void {
    if (!this.down) {
      this.down = true
      this.log.warn({ err: error }, 'Redis does not answer: each instance counts rate limits on its own until it does')
    }
  }

  /** Counted locally without asking Redis (not connected): an outage too, logged once. */
  skipped (): void {
    this.fellBack()
    if (!this.down) {
      this.down = true
      this.log.warn({ status: this.client.status }, 'Redis is not connected: each instance counts rate limits on its own until it is')
    }
  }
}

class FallbackStore implements FastifyRateLimitStore {
  constructor (private readonly shared: FastifyRateLimitStore, private readonly local: FastifyRateLimitStore, private readonly link: RedisLink) {}

  incr (key: string, callback: Parameters<Incr>[1], timeWindow: number, max: number): void {
    if (!this.link.usable()) {
      if (this.link.client.status !== 'ready') this.link.skipped()
      this.local.incr(key, callback, timeWindow, max)
      return
    }
    this.shared.incr(key, (error, result) => {
      if (error === null && isCount.Check(result)) {
        this.link.answered()
        callback(null, result)
        return
      }
      this.link.failed(error ?? new Error(`Redis answered a rate-limit check with ${JSON.stringify(result)}`))
      this.local.incr(key, callback, timeWindow, max)
    }, timeWindow, max)
  }

  child (routeOptions: Parameters<Child>[0]): FastifyRateLimitStore {
    return new FallbackStore(this.shared.child(routeOptions), this.local.child(routeOptions), this.link)
  }
}

/**
 * A store class for @fastify/rate-limit: the plugin's own Redis store under `namespace`, and the plugin's own
 * per-process store (an LRU of `cache` keys) for every check Redis cannot answer within its timeout.
 */
export function sharedCounterStore (link: RedisLink, namespace: string, cache: number): FastifyRateLimitStoreCtor {
  return class SharedCounterStore extends FallbackStore {
    constructor () {
      super(new RedisStore(false, false, link.client, namespace), new LocalStore(false, false, cache), link)
    }
  }
}

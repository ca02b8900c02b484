// Every S3 request an app's own clients make, named by SDK command: the SDK's (a middleware) and the lean client's
// (undici's diagnostics channels). Used to count round trips and to see what a request wrote.
import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import type { FastifyInstance } from 'fastify'
import type { Test } from 'tap'

export interface S3Call { readonly command: string, readonly key: string, readonly start: number, end: number }

/** The SDK command a request of the lean client stands for. */
const LEAN_COMMANDS: Readonly<Record<string, string>> = { GET: 'GetObjectCommand', HEAD: 'HeadObjectCommand', PUT: 'PutObjectCommand', DELETE: 'DeleteObjectCommand' }

/**
 * Records every HTTP attempt the app's S3 clients make: the SDK's (the deserialize step runs once per attempt, retries
 * included) and the lean client's (undici announces each request on its diagnostics channels), named by SDK command.
 */
export function countS3Calls (app: FastifyInstance, endpoint: string, bucket: string, t: Test): { calls: S3Call[], during: (fn: () => Promise<unknown>) => Promise<S3Call[]> } {
  const calls: S3Call[] = []
  const pending = new Map<object, S3Call>()
  const origin = new URL(endpoint).origin
  const onCreate = (message: unknown) => {
    const { request } = message as { request: { origin?: unknown, method?: unknown, path?: unknown, headers?: unknown } }
    if (String(request.origin) !== origin || typeof request.path !== 'string' || typeof request.method !== 'string') return
    const prefix = `/${bucket}/`
    const key = request.path.startsWith(prefix) ? request.path.slice(prefix.length).split('/').map(decodeURIComponent).join('/') : ''
    // A PUT with x-amz-copy-source is a server-side copy (undici keeps the headers as a string or an array).
    const copy = request.method === 'PUT' && /x-amz-copy-source/i.test(String(request.headers))
    const call: S3Call = { command: copy ? 'CopyObjectCommand' : LEAN_COMMANDS[request.method] ?? request.method, key, start: performance.now(), end: Number.POSITIVE_INFINITY }
    calls.push(call)
    pending.set(request, call)
  }
  const onEnd = (message: unknown) => {
    const { request } = message as { request: object }
    const call = pending.get(request)
    if (call === undefined) return
    call.end = performance.now()
    pending.delete(request)
  }
  subscribe('undici:request:create', onCreate)
  subscribe('undici:request:trailers', onEnd)
  subscribe('undici:request:error', onEnd)
  t.teardown(() => {
    unsubscribe('undici:request:create', onCreate)
    unsubscribe('undici:request:trailers', onEnd)
    unsubscribe('undici:request:error', onEnd)
  })
  app.storage.clients.internal.middlewareStack.add((next, context) => async (args) => {
    const input = args.input as { Key?: unknown, Delete?: { Objects?: Array<{ Key?: unknown }> } }
    // A DeleteObjects is named by its keys, space-separated.
    const key = typeof input.Key === 'string' ? input.Key : (input.Delete?.Objects ?? []).map((o) => String(o.Key)).join(' ')
    const call: S3Call = { command: context.commandName ?? '?', key, start: performance.now(), end: Number.POSITIVE_INFINITY }
    calls.push(call)
    try {
      return await next(args)
    } finally {
      call.end = performance.now()
    }
  }, { step: 'deserialize', name: 'testS3CallCounter' })
  return {
    calls,
    async during (fn) {
      const from = calls.length
      await fn()
      return calls.slice(from)
    },
  }
}

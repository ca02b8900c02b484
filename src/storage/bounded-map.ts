// Runs an async function over many items with at most a fixed number in flight, keeping the results in order.

/**
 * `fn` over `items`, at most `limit` calls at once, results in the items' order; rejects with the first failure (calls
 * already started run to their end, none is started after it). Many record reads then share the pooled S3 client
 * with other requests instead of taking all of its connections at once.
 */
export async function mapBounded<T, R> (items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length)
  let next = 0
  let failed = false
  async function worker (): Promise<void> {
    while (!failed && next < items.length) {
      const index = next++
      try {
        results[index] = await fn(items[index] as T, index)
      } catch (error) {
        failed = true
        throw error
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(Math.max(1, limit), items.length) }, worker))
  return results
}

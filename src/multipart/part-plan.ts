// Part planning, with no Node imports (the browser client bundles it): how a file is cut into parts, and what S3 must hold at complete.

const MiB = 1024 * 1024
/** S3's smallest part (all but the last). */
export const MIN_PART_SIZE = 5 * MiB
/** S3's largest part. */
export const MAX_PART_SIZE = 5 * 1024 * MiB
/** S3's most parts in one upload. */
export const MAX_PARTS = 10_000
/** The part size of files up to 80,000 MiB: large enough that a part costs few requests, small enough to retry cheaply. */
export const DEFAULT_PART_SIZE = 8 * MiB

export interface PartPlan {
  readonly size: number
  readonly partSize: number
  readonly partCount: number
}

/**
 * The plan for a file of `size` bytes (1 to 5 TiB): 8 MiB parts, or for files too large for 10,000 of them the
 * smallest whole number of MiB that fits. The browser client's Uppy adapter computes the same plan before it asks.
 */
export function planParts (size: number): PartPlan {
  if (!Number.isSafeInteger(size) || size < 1) throw new RangeError(`a multipart upload has at least 1 byte (got ${size})`)
  const partSize = Math.max(DEFAULT_PART_SIZE, Math.ceil(size / MAX_PARTS / MiB) * MiB)
  if (partSize > MAX_PART_SIZE) throw new RangeError(`${size} bytes do not fit in ${MAX_PARTS} parts of at most ${MAX_PART_SIZE} bytes`)
  return { size, partSize, partCount: Math.ceil(size / partSize) }
}

/** The exact size of part `number` (1-based): the part size, or what is left for the last one. */
export function partSizeOf (plan: PartPlan, number: number): number {
  if (!Number.isInteger(number) || number < 1 || number > plan.partCount) throw new RangeError(`part ${number} is outside 1..${plan.partCount}`)
  return number < plan.partCount ? plan.partSize : plan.size - plan.partSize * (plan.partCount - 1)
}

export interface PartProblems {
  /** Part numbers of the plan that S3 does not hold, ascending. */
  readonly missing: readonly number[]
  /** Parts S3 holds whose size is not the planned one. */
  readonly wrongSize: ReadonlyArray<{ readonly number: number, readonly size: number, readonly expected: number }>
}

/** Compares the parts S3 holds with the plan; parts numbered beyond the plan are not part of the file and are ignored. */
export function findPartProblems (plan: PartPlan, stored: ReadonlyArray<{ readonly number: number, readonly size: number }>): PartProblems {
  const byNumber = new Map(stored.map((part) => [part.number, part.size]))
  const missing: number[] = []
  const wrongSize: Array<{ number: number, size: number, expected: number }> = []
  for (let number = 1; number <= plan.partCount; number++) {
    const size = byNumber.get(number)
    const expected = partSizeOf(plan, number)
    if (size === undefined) missing.push(number)
    else if (size !== expected) wrongSize.push({ number, size, expected })
  }
  return { missing, wrongSize }
}

/** `3, 5 and 7`, or the first twenty and how many more. */
export function listNumbers (numbers: readonly number[]): string {
  const shown = numbers.slice(0, 20).map(String)
  if (numbers.length > 20) return `${shown.join(', ')} and ${numbers.length - 20} more`
  return shown.length <= 1 ? shown.join('') : `${shown.slice(0, -1).join(', ')} and ${shown.at(-1) ?? ''}`
}

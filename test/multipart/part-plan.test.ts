// Unit tests of part planning and the multipart ETag: sizes S3 accepts, exact part sizes, and what complete checks.
import { createHash } from 'node:crypto'
import fc from 'fast-check'
import t from 'tap'
import { multipartEtag } from '../../src/multipart/multipart-etag.js'
import { DEFAULT_PART_SIZE, findPartProblems, listNumbers, MAX_PART_SIZE, MAX_PARTS, MIN_PART_SIZE, partSizeOf, planParts } from '../../src/multipart/part-plan.js'

const MiB = 1024 * 1024
const TiB = 1024 ** 4

t.test('known sizes get the expected plans', async (t) => {
  t.same(planParts(1), { size: 1, partSize: 8 * MiB, partCount: 1 }, 'one byte: one part')
  t.same(planParts(8 * MiB), { size: 8 * MiB, partSize: 8 * MiB, partCount: 1 })
  t.same(planParts(8 * MiB + 1), { size: 8 * MiB + 1, partSize: 8 * MiB, partCount: 2 })
  t.same(planParts(256 * MiB), { size: 256 * MiB, partSize: 8 * MiB, partCount: 32 })
  t.same(planParts(10_000 * 8 * MiB), { size: 80_000 * MiB, partSize: 8 * MiB, partCount: 10_000 }, 'the largest file in 8 MiB parts')
  t.same(planParts(10_000 * 8 * MiB + 1), { size: 80_000 * MiB + 1, partSize: 9 * MiB, partCount: 8889 }, 'one byte more: 9 MiB parts')
  t.same(planParts(5 * TiB), { size: 5 * TiB, partSize: 525 * MiB, partCount: 9987 }, '5 TiB in 525 MiB parts')
  t.throws(() => planParts(0), RangeError)
  t.throws(() => planParts(1.5), RangeError)
})

t.test('every plan fits S3: parts of 5 MiB to 5 GiB, at most 10,000, adding up to the size', async (t) => {
  fc.assert(fc.property(fc.integer({ min: 1, max: 5 * TiB }), (size) => {
    const plan = planParts(size)
    const last = partSizeOf(plan, plan.partCount)
    return plan.partSize >= MIN_PART_SIZE && plan.partSize <= MAX_PART_SIZE && plan.partSize % MiB === 0 &&
      plan.partCount >= 1 && plan.partCount <= MAX_PARTS && last >= 1 && last <= plan.partSize &&
      plan.partSize * (plan.partCount - 1) + last === size
  }), { numRuns: 2000 })
  t.pass('2000 random sizes from 1 byte to 5 TiB')
  t.equal(planParts(123 * MiB).partSize, DEFAULT_PART_SIZE, 'files up to 80,000 MiB use the default part size')
})

t.test('part sizes: all but the last are the part size; numbers outside the plan are refused', async (t) => {
  const plan = planParts(20 * MiB + 5)
  t.same([1, 2, 3].map((n) => partSizeOf(plan, n)), [8 * MiB, 8 * MiB, 4 * MiB + 5])
  t.throws(() => partSizeOf(plan, 0), RangeError)
  t.throws(() => partSizeOf(plan, 4), /outside 1\.\.3/)
})

t.test('findPartProblems names missing parts and wrong sizes, and ignores parts beyond the plan', async (t) => {
  const plan = planParts(20 * MiB + 5)
  t.same(findPartProblems(plan, [{ number: 1, size: 8 * MiB }, { number: 2, size: 8 * MiB }, { number: 3, size: 4 * MiB + 5 }]), { missing: [], wrongSize: [] }, 'all present and exact')
  t.same(findPartProblems(plan, [{ number: 3, size: 4 * MiB + 5 }, { number: 9, size: 1 }]), { missing: [1, 2], wrongSize: [] }, 'missing, and part 9 ignored')
  t.same(findPartProblems(plan, [{ number: 1, size: 8 * MiB }, { number: 2, size: 8 * MiB - 1 }, { number: 3, size: 4 * MiB + 6 }]).wrongSize,
    [{ number: 2, size: 8 * MiB - 1, expected: 8 * MiB }, { number: 3, size: 4 * MiB + 6, expected: 4 * MiB + 5 }])
  t.equal(listNumbers([7]), '7')
  t.equal(listNumbers([3, 5, 7]), '3, 5 and 7')
  t.equal(listNumbers(Array.from({ length: 25 }, (_, i) => i + 1)), `${Array.from({ length: 20 }, (_, i) => i + 1).join(', ')} and 5 more`)
})

t.test('the multipart ETag is md5(binary part MD5s)-N, and undefined where part ETags are not plain MD5s', async (t) => {
  const parts = ['first part', 'second part', 'third'].map((text) => createHash('md5').update(text).digest())
  const expected = `${createHash('md5').update(Buffer.concat(parts)).digest('hex')}-3`
  t.equal(multipartEtag(parts.map((p) => p.toString('hex'))), expected)
  t.equal(multipartEtag([]), undefined, 'no parts')
  t.equal(multipartEtag(['0123456789abcdef0123456789abcdef', 'not-an-md5']), undefined, 'an SSE-KMS style ETag')
  t.equal(multipartEtag(['0123456789ABCDEF0123456789ABCDEF']), undefined, 'stores give lowercase hex')
})

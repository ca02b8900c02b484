// docs/production.md's IAM policy against the code: every S3 operation src/ sends or presigns needs an action the policy grants, and the policy grants nothing else.
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import * as s3 from '@aws-sdk/client-s3'
import t from 'tap'
import Type from 'typebox'
import { Value } from 'typebox/value'
import { loadConfig } from '../../src/config.js'
import { INTERNAL_PREFIX } from '../../src/storage/record-store.js'

const root = fileURLToPath(new URL('../../', import.meta.url))

/**
 * The IAM action each S3 operation needs (AWS's "Actions, resources, and condition keys for Amazon S3"). An operation
 * that the code starts to use and this table lacks fails the test, so it is added here and to the policy together.
 */
const ACTIONS_FOR: Readonly<Record<string, readonly string[]>> = {
  PostObject: ['s3:PutObject'],
  PutObject: ['s3:PutObject'],
  GetObject: ['s3:GetObject'],
  HeadObject: ['s3:GetObject'],
  DeleteObject: ['s3:DeleteObject'],
  DeleteObjects: ['s3:DeleteObject'],
  CopyObject: ['s3:GetObject', 's3:PutObject'],
  HeadBucket: ['s3:ListBucket'],
  ListObjectsV2: ['s3:ListBucket'],
  ListObjects: ['s3:ListBucket'],
  CreateMultipartUpload: ['s3:PutObject'],
  UploadPart: ['s3:PutObject'],
  CompleteMultipartUpload: ['s3:PutObject'],
  AbortMultipartUpload: ['s3:AbortMultipartUpload'],
  ListParts: ['s3:ListMultipartUploadParts'],
  ListMultipartUploads: ['s3:ListBucketMultipartUploads'],
  GetObjectTagging: ['s3:GetObjectTagging'],
  PutObjectTagging: ['s3:PutObjectTagging'],
}
/** Actions on the bucket itself; every other action is on objects. */
const BUCKET_ACTIONS = new Set(['s3:ListBucket', 's3:ListBucketMultipartUploads'])

async function sourceFiles (directory: string): Promise<string[]> {
  const entries = await readdir(directory, { withFileTypes: true, recursive: true })
  return entries.filter((e) => e.isFile() && e.name.endsWith('.ts')).map((e) => join(e.parentPath, e.name))
}

/**
 * The S3 operations the code uses: every `<Operation>Command` of the AWS SDK that src/ names (sent, or presigned by
 * the presigner), and a presigned POST wherever the code signs one.
 */
async function operationsInCode (): Promise<Map<string, string[]>> {
  const sdkCommands = new Set(Object.keys(s3).filter((name) => name.endsWith('Command') && name !== 'Command'))
  const found = new Map<string, string[]>()
  const note = (operation: string, file: string) => found.set(operation, [...(found.get(operation) ?? []), file])
  for (const file of await sourceFiles(join(root, 'src'))) {
    const text = await readFile(file, 'utf8')
    const relative = file.slice(root.length)
    for (const [, name] of text.matchAll(/\b([A-Z][A-Za-z0-9]*Command)\b/g)) {
      if (name !== undefined && sdkCommands.has(name)) note(name.slice(0, -'Command'.length), relative)
    }
    if (/\bcreatePresignedPost\b|\bpresignPost\s*\(/.test(text)) note('PostObject', relative)
  }
  return found
}

const Statement = Type.Object({
  Effect: Type.Literal('Allow'),
  Action: Type.Union([Type.String(), Type.Array(Type.String())]),
  Resource: Type.Union([Type.String(), Type.Array(Type.String())]),
})
const Policy = Type.Object({ Version: Type.Literal('2012-10-17'), Statement: Type.Array(Statement) })

const guide = await readFile(join(root, 'docs/production.md'), 'utf8')
const policyText = /^## IAM policy\n[\s\S]*?^```json\n([\s\S]*?)^```$/m.exec(guide)?.[1]

t.test('the IAM policy grants exactly the actions the code needs', async (t) => {
  t.ok(policyText, 'docs/production.md has a json block under "## IAM policy"')
  const policy: unknown = JSON.parse(policyText ?? '{}')
  t.ok(Value.Check(Policy, policy), 'it is an IAM policy of Allow statements')
  if (!Value.Check(Policy, policy)) return

  const operations = await operationsInCode()
  t.ok(operations.size >= 10, `the code's S3 operations were found: ${[...operations.keys()].join(', ')}`)
  const needed = new Map<string, string[]>()
  for (const [operation, files] of operations) {
    const actions = ACTIONS_FOR[operation]
    t.ok(actions, `${operation} (in ${[...new Set(files)].join(', ')}) has a known IAM action; add it to ACTIONS_FOR and the policy`)
    for (const action of actions ?? []) needed.set(action, [...(needed.get(action) ?? []), operation])
  }

  const granted = new Map<string, string[]>()
  for (const statement of policy.Statement) {
    const resources = [statement.Resource].flat()
    for (const action of [statement.Action].flat()) granted.set(action, [...(granted.get(action) ?? []), ...resources])
  }
  for (const [action, why] of needed) t.ok(granted.has(action), `the policy grants ${action} (for ${[...new Set(why)].join(', ')})`)
  for (const action of granted.keys()) t.ok(needed.has(action), `${action} is needed by the code (least privilege)`)

  const bucketArn = 'arn:aws:s3:::my-filegate-bucket'
  const uploadPrefix = loadConfig({}).uploads.prefix
  for (const [action, resources] of granted) {
    if (BUCKET_ACTIONS.has(action)) {
      t.same(resources, [bucketArn], `${action} is granted on the bucket`)
    } else {
      t.same([...resources].sort(), [`${bucketArn}/${INTERNAL_PREFIX}*`, `${bucketArn}/${uploadPrefix}*`].sort(),
        `${action} is granted on the upload prefix and ${INTERNAL_PREFIX} only`)
    }
  }
})

t.test('the table beside the policy names every action the policy grants', (t) => {
  const table = /^\| IAM action \|[\s\S]*?\n\n/m.exec(guide)?.[0] ?? ''
  const policy: unknown = JSON.parse(policyText ?? '{}')
  if (!Value.Check(Policy, policy)) return t.fail('no policy')
  for (const action of policy.Statement.flatMap((s) => [s.Action].flat())) t.match(table, `| \`${action}\` |`, `${action} is explained`)
  t.end()
})

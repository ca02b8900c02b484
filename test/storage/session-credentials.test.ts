// Temporary credentials from STS (a session token) on a real store, and credentials rotated under a running client.
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3'
import { SignatureV4 } from '@smithy/signature-v4'
import t from 'tap'
import { createObjectStore, type S3Clients } from '../../src/storage/s3.js'
import { createS3Http } from '../../src/storage/s3-http.js'
import { uniqueBucketName } from '../helper.js'
import { startOwnRgw, type OwnRgw } from '../support/own-rgw.js'

interface Credentials { readonly accessKeyId: string, readonly secretAccessKey: string, readonly sessionToken?: string }

/** AssumeRole on the RGW's STS endpoint, signed by the RGW user; the temporary credentials it answers. */
async function assumeRole (rgw: OwnRgw, sha256: S3Client['config']['sha256'], session: string): Promise<Credentials> {
  const url = new URL(rgw.endpoint)
  const body = new URLSearchParams({ Action: 'AssumeRole', RoleArn: 'arn:aws:iam:::role/filegate', RoleSessionName: session, DurationSeconds: '900', Version: '2011-06-15' }).toString()
  const signer = new SignatureV4({ service: 'sts', region: rgw.region, credentials: { accessKeyId: rgw.accessKeyId, secretAccessKey: rgw.secretAccessKey }, sha256 })
  const signed = await signer.sign({
    method: 'POST', protocol: url.protocol, hostname: url.hostname, port: Number(url.port), path: '/', query: {},
    headers: { host: url.host, 'content-type': 'application/x-www-form-urlencoded' }, body,
  })
  const res = await fetch(`${rgw.endpoint}/`, { method: 'POST', headers: signed.headers, body })
  const xml = await res.text()
  const tag = (name: string) => new RegExp(`<${name}>([^<]+)</${name}>`).exec(xml)?.[1]
  const [accessKeyId, secretAccessKey, sessionToken] = [tag('AccessKeyId'), tag('SecretAccessKey'), tag('SessionToken')]
  if (res.status !== 200 || accessKeyId === undefined || secretAccessKey === undefined || sessionToken === undefined) throw new Error(`AssumeRole answered ${res.status}: ${xml}`)
  return { accessKeyId, secretAccessKey, sessionToken }
}

t.test('session-token credentials work, and rotated credentials are picked up without a restart', async (t) => {
  const rgw = await startOwnRgw(t, { stsKey: 'filegatestskey16' })
  const policy = (statement: Record<string, unknown>) => JSON.stringify({ Version: '2012-10-17', Statement: [statement] })
  await rgw.admin('role', 'create', '--role-name=filegate', `--assume-role-policy-doc=${policy({ Effect: 'Allow', Principal: { AWS: ['arn:aws:iam:::user/filegate-test'] }, Action: ['sts:AssumeRole'] })}`)
  await rgw.admin('role-policy', 'put', '--role-name=filegate', '--policy-name=s3', `--policy-doc=${policy({ Effect: 'Allow', Action: ['s3:*'], Resource: ['arn:aws:s3:::*'] })}`)

  // The SDK's own hash for the signer of the STS call.
  const { sha256 } = new S3Client({ region: rgw.region }).config
  const first = await assumeRole(rgw, sha256, 'first')
  const second = await assumeRole(rgw, sha256, 'second')
  t.ok(first.sessionToken !== undefined && first.accessKeyId !== second.accessKeyId, 'STS issued two sets of temporary credentials with session tokens')

  // What the credential provider answers now; it is asked on every call (an expiry a minute away makes the SDK ask again).
  let current: Credentials = first
  const client = new S3Client({
    endpoint: rgw.endpoint, region: rgw.region, forcePathStyle: true, requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED',
    credentials: async () => ({ ...current, expiration: new Date(Date.now() + 60_000) }),
  })
  t.teardown(() => client.destroy())
  const bucket = uniqueBucketName()
  await client.send(new CreateBucketCommand({ Bucket: bucket }))

  for (const kind of ['lean', 'sdk'] as const) {
    const http = kind === 'lean' ? createS3Http({ client, bucket, timeoutMs: 5000 }) : undefined
    t.teardown(() => http?.destroy())
    const clients: S3Clients = { bucket, internal: client, public: client, timeoutMs: 5000, http }
    const objects = createObjectStore(clients)
    const key = `${kind}/note.txt`

    current = first
    t.equal(await objects.put(key, 'with a session token', { contentType: 'text/plain', createOnly: true }), 'created', `${kind}: a create-only PUT with the session token`)
    t.equal(await objects.getText(key), 'with a session token', `${kind}: a GET`)
    t.equal((await objects.head(key))?.size, 20, `${kind}: a HEAD`)

    current = { accessKeyId: first.accessKeyId, secretAccessKey: first.secretAccessKey }
    await t.rejects(objects.getText(key), { code: 'STORAGE_UNAVAILABLE' }, `${kind}: the same temporary keys without their token are refused: the token is sent and checked`)

    current = { accessKeyId: rgw.accessKeyId, secretAccessKey: 'a-secret-that-was-rotated-away' }
    await t.rejects(objects.head(key), { code: 'STORAGE_UNAVAILABLE' }, `${kind}: outdated credentials are refused`)

    current = second
    t.equal(await objects.getText(key), 'with a session token', `${kind}: rotated credentials (another session) are used at once, no restart`)
    t.equal(await objects.replace(key, 'rotated', { contentType: 'text/plain', ifMatch: (await objects.head(key))?.etag ?? '' }), 'replaced', `${kind}: a conditional PUT with them (Ceph 16 takes the bare ETag)`)
    await objects.delete(key)
    t.equal(await objects.head(key), undefined, `${kind}: a DELETE with them`)
  }
})

// What `rgw.sh start` prints: TEST_S3_* lines, read into the store they describe.

export interface RgwStore {
  readonly endpoint: string
  readonly accessKeyId: string
  readonly secretAccessKey: string
  readonly region: string
}

/** The TEST_S3_* variables in rgw.sh's output, as environment entries. */
export function rgwVariables (stdout: string): Map<string, string> {
  const vars = new Map<string, string>()
  for (const line of stdout.split('\n')) {
    const match = /^(TEST_S3_[A-Z_]+)=(.*)$/.exec(line.trim())
    if (match?.[1] !== undefined && match[2] !== undefined) vars.set(match[1], match[2])
  }
  return vars
}

export function parseRgwOutput (stdout: string): RgwStore {
  const vars = rgwVariables(stdout)
  const get = (name: string) => {
    const value = vars.get(name)
    if (value === undefined) throw new Error(`rgw.sh start printed no ${name}`)
    return value
  }
  return {
    endpoint: get('TEST_S3_ENDPOINT'),
    accessKeyId: get('TEST_S3_ACCESS_KEY_ID'),
    secretAccessKey: get('TEST_S3_SECRET_ACCESS_KEY'),
    region: get('TEST_S3_REGION'),
  }
}

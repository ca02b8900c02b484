// The part of s3rver 3.7 (an untyped package) that the embedded development store uses.
declare module 's3rver' {
  interface S3rverOptions {
    address?: string
    port?: number
    silent?: boolean
    directory?: string
    resetOnClose?: boolean
    allowMismatchedSignatures?: boolean
    vhostBuckets?: boolean
    configureBuckets?: Array<{ name: string, configs: Array<string | Buffer> }>
  }
  export default class S3rver {
    constructor (options?: S3rverOptions)
    run (): Promise<{ address: string, port: number }>
    close (): Promise<void>
  }
}

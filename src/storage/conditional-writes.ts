// Conditional writes: whether the store honours If-None-Match and how it takes If-Match, each found out once by a probe.
import { newFileId } from '../uploads/file-id.js'
import type { ObjectStore } from './s3.js'

const PROBES_PREFIX = '_filegate/probes/'
/** An ETag no object has, for the probe. */
const NO_SUCH_ETAG = '00000000000000000000000000000000'

/** How a store takes If-Match on a write: AWS and MinIO the quoted ETag, Ceph RGW 16 the bare one, s3rver not at all. */
export type IfMatchForm = 'quoted' | 'bare' | 'unsupported'

export interface ConditionalWrites {
  /** Whether a create-only PUT (If-None-Match: *) refuses to overwrite; s3rver ignores it. */
  createOnly (): Promise<boolean>
  /** How the store takes If-Match on a PUT. */
  ifMatchForm (): Promise<IfMatchForm>
  /** The If-Match value for an ETag (as ObjectStore reports it, unquoted) in the store's form. */
  ifMatch (form: Exclude<IfMatchForm, 'unsupported'>, etag: string): string
  /** The If-Match probe's answer if this process has asked for it, without starting it. */
  knownIfMatchForm (): Promise<IfMatchForm> | undefined
  /** Starts the create-only probe, if it has not run, so that a first write need not wait for it. */
  prepare (): void
}

export function createConditionalWrites (objects: ObjectStore): ConditionalWrites {
  let createOnly: Promise<boolean> | undefined
  let ifMatchForm: Promise<IfMatchForm> | undefined

  /** Writes a probe twice, create-only: a store that honours If-None-Match refuses the second. */
  function probeCreateOnly (): Promise<boolean> {
    createOnly ??= (async () => {
      const probe = `${PROBES_PREFIX}${newFileId()}`
      await objects.put(probe, '1', { contentType: 'text/plain', createOnly: true })
      const second = await objects.put(probe, '2', { contentType: 'text/plain', createOnly: true })
      await objects.delete(probe)
      return second === 'exists'
    })()
    // A failed probe is forgotten, and run again by the write that needs it.
    createOnly.catch(() => { createOnly = undefined })
    return createOnly
  }

  /** Rewrites a probe with a wrong and then the right ETag, quoted and bare. */
  function probeIfMatch (): Promise<IfMatchForm> {
    ifMatchForm ??= (async () => {
      const probe = `${PROBES_PREFIX}${newFileId()}`
      try {
        await objects.put(probe, '1', { contentType: 'text/plain' })
        const head = await objects.head(probe)
        const replace = async (ifMatch: string) => await objects.replace(probe, '2', { contentType: 'text/plain', ifMatch })
        if (head === undefined || await replace(`"${NO_SUCH_ETAG}"`) === 'replaced') return 'unsupported'
        if (await replace(`"${head.etag}"`) === 'replaced') return 'quoted'
        if (await replace(head.etag) === 'replaced') return 'bare'
        return 'unsupported'
      } finally {
        await objects.delete(probe)
      }
    })()
    ifMatchForm.catch(() => { ifMatchForm = undefined })
    return ifMatchForm
  }

  return {
    createOnly: probeCreateOnly,
    ifMatchForm: probeIfMatch,
    ifMatch: (form, etag) => form === 'quoted' ? `"${etag}"` : etag,
    knownIfMatchForm: () => ifMatchForm,
    prepare () {
      probeCreateOnly().catch(() => undefined)
    },
  }
}

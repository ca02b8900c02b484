// Resume state in localStorage: which unfinished upload a file was being sent to. A hint only: the server's answer decides.

export interface ResumeStore {
  get (fingerprint: string): string | undefined
  set (fingerprint: string, fileId: string): void
  delete (fingerprint: string): void
}

const PREFIX = 'filegate-upload:'

/** The same file chosen again (name, size, last change, type) for the same filegate. */
export function fingerprintOf (api: string, file: Blob & { readonly name?: string, readonly lastModified?: number }, filename: string, contentType: string): string {
  return JSON.stringify([api, filename, file.size, file.lastModified ?? 0, contentType])
}

/** `storage` null keeps nothing (no resume after a reload); a storage that refuses (private mode, quota) is ignored. */
export function createResumeStore (storage: Storage | null): ResumeStore {
  const safely = <T> (action: () => T, fallback: T): T => {
    try {
      return action()
    } catch {
      return fallback
    }
  }
  return {
    get: (fingerprint) => safely(() => storage?.getItem(PREFIX + fingerprint) ?? undefined, undefined),
    set: (fingerprint, fileId) => safely(() => storage?.setItem(PREFIX + fingerprint, fileId), undefined),
    delete: (fingerprint) => safely(() => storage?.removeItem(PREFIX + fingerprint), undefined),
  }
}

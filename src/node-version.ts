// The Node.js versions filegate supports and recommends, and the one start-up line it prints on an older one.

/** The version the image runs and the README recommends. */
export const RECOMMENDED_NODE_MAJOR = 22

/**
 * One line for the log when Node.js is older than recommended, or undefined. It replaces the AWS SDK's own
 * seven-line warning, which says the same (see quietAwsSdkNodeWarning).
 */
export function nodeVersionNotice (version: string): string | undefined {
  const major = Number.parseInt(version.replace(/^v/, ''), 10)
  if (!Number.isInteger(major) || major >= RECOMMENDED_NODE_MAJOR) return undefined
  return `Node.js ${version.replace(/^v/, '')} is supported, but Node.js ${RECOMMENDED_NODE_MAJOR} is recommended: ` +
    `Node.js ${major} gets no more security fixes, and AWS SDK releases after January 2027 require ${RECOMMENDED_NODE_MAJOR}.`
}

/**
 * Once filegate has said the above, the AWS SDK need not: it reads this variable when its first client is made.
 * A value the operator set is left as it is.
 */
export function quietAwsSdkNodeWarning (env: NodeJS.ProcessEnv): void {
  env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true'
}

/** For the commands (cleanup, events, openapi): the notice on stderr, once, in place of the AWS SDK's warning. */
export function announceNodeVersionToStderr (): void {
  const notice = nodeVersionNotice(process.version)
  if (notice === undefined) return
  process.stderr.write(`${notice}\n`)
  quietAwsSdkNodeWarning(process.env)
}

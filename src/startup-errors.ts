// Start-up failures a person can fix, as one line that says what to do, instead of a stack.

/** What was being started: its name for a person, where it listens, and the variable that moves it. */
export interface Listener {
  readonly name: string
  readonly host: string
  readonly port: number
  readonly variable: string
}

const errnoCode = (error: unknown): string | undefined =>
  typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string' ? error.code : undefined

/** One line for a failure to listen that the configuration can fix, or undefined for anything else. */
export function listenFailureMessage (error: unknown, listener: Listener): string | undefined {
  const { name, host, port, variable } = listener
  switch (errnoCode(error)) {
    case 'EADDRINUSE':
      return `${name}: port ${port} on ${host} is already in use (another npm start, or another program). Stop it, or set ${variable} to a free port, e.g. ${variable}=${port + 1}.`
    case 'EACCES':
      return `${name}: no permission to listen on port ${port} on ${host}; ports below 1024 need privileges. Set ${variable} to 1024 or above (3000 behind a proxy).`
    case 'EADDRNOTAVAIL':
      return `${name}: ${host} is not an address of this machine. Set HOST to 127.0.0.1, or to 0.0.0.0 in a container.`
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `${name}: HOST ${host} does not resolve to an address. Set HOST to 127.0.0.1, or to 0.0.0.0 in a container.`
    default:
      return undefined
  }
}

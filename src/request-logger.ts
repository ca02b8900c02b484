// Request loggers made on first use: most requests log only their completion line, which needs no per-request child.
import type { FastifyBaseLogger } from 'fastify'
import type { Bindings, ChildLoggerOptions, LogFn } from 'pino'

/** Whatever a pino log method was given; passed on unchanged. */
type LogArgs = unknown[]

/**
 * Stands for `parent.child(bindings, options)` and makes that child the first time it logs or is asked for one.
 * pino builds a child's bindings (through its redaction) when the child is made, a tenth of a request's CPU,
 * while only errors and refusals write through request.log.
 */
class LazyRequestLogger implements FastifyBaseLogger {
  readonly #parent: FastifyBaseLogger
  readonly #bindings: Bindings
  readonly #options: ChildLoggerOptions
  #logger: FastifyBaseLogger | undefined

  constructor (parent: FastifyBaseLogger, bindings: Bindings, options: ChildLoggerOptions) {
    this.#parent = parent
    this.#bindings = bindings
    this.#options = options
  }

  #made (): FastifyBaseLogger {
    this.#logger ??= this.#parent.child(this.#bindings, this.#options)
    return this.#logger
  }

  // The route's own level (Fastify passes it as an option) answers without making the child.
  get level (): string { return this.#logger?.level ?? this.#options.level ?? this.#parent.level }
  set level (level: string) { this.#made().level = level }

  // Methods, not arrow properties, so a request that never logs allocates nothing but this object.
  fatal (...args: LogArgs): void { this.#made().fatal(...(args as Parameters<LogFn>)) }
  error (...args: LogArgs): void { this.#made().error(...(args as Parameters<LogFn>)) }
  warn (...args: LogArgs): void { this.#made().warn(...(args as Parameters<LogFn>)) }
  info (...args: LogArgs): void { this.#made().info(...(args as Parameters<LogFn>)) }
  debug (...args: LogArgs): void { this.#made().debug(...(args as Parameters<LogFn>)) }
  trace (...args: LogArgs): void { this.#made().trace(...(args as Parameters<LogFn>)) }
  silent (): void {}

  child (bindings: Bindings, options?: ChildLoggerOptions): FastifyBaseLogger {
    return this.#made().child(bindings, options)
  }
}

/** Fastify's `childLoggerFactory`: the request logger, made lazily. */
export function lazyRequestLogger (parent: FastifyBaseLogger, bindings: Bindings, options: ChildLoggerOptions): FastifyBaseLogger {
  return new LazyRequestLogger(parent, bindings, options)
}

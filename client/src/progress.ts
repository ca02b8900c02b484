// Upload progress that never goes back: bytes of finished parts plus the furthest point each part in flight has reached.

export interface Progress {
  readonly loaded: number
  readonly total: number
}

export class ProgressTracker {
  private finished = 0
  private readonly inFlight = new Map<number, number>()
  private reported = -1

  constructor (private readonly total: number, private readonly onProgress: ((progress: Progress) => void) | undefined) {}

  /** Bytes already stored before this run (a resumed upload's parts). */
  done (bytes: number): void {
    this.finished += bytes
    this.report()
  }

  /** Part `number` has sent `loaded` bytes; a retry starting over does not move the figure back. */
  sending (number: number, loaded: number): void {
    this.inFlight.set(number, Math.max(this.inFlight.get(number) ?? 0, loaded))
    this.report()
  }

  finish (number: number, size: number): void {
    this.inFlight.delete(number)
    this.finished += size
    this.report()
  }

  private report (): void {
    let loaded = this.finished
    for (const bytes of this.inFlight.values()) loaded += bytes
    loaded = Math.min(this.total, loaded)
    if (loaded <= this.reported) return
    this.reported = loaded
    this.onProgress?.({ loaded, total: this.total })
  }
}

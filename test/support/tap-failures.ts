// Collects the failed checks of a TAP stream with the subtests they sit in and their YAML details, so the
// test command can repeat them next to its summary line: CI keeps only the end of a long log.

const MAX_DETAIL_LINES = 40

interface Failure {
  readonly path: readonly string[]
  readonly line: string
  readonly detail: string[]
}

export class TapFailures {
  private readonly subtests: string[] = []
  // How many failures had been recorded when each open subtest began.
  private readonly failuresBefore: number[] = []
  private readonly failures: Failure[] = []
  private partial = ''
  // The failure whose YAML block comes next; without one, the block of a repeated line is skipped.
  private collecting: { failure: Failure | undefined, indent: number, inBlock: boolean } | undefined

  push (chunk: string): void {
    const lines = (this.partial + chunk).split('\n')
    this.partial = lines.pop() ?? ''
    for (const line of lines) this.line(line)
  }

  get count (): number {
    return this.failures.length
  }

  report (): string {
    if (this.partial !== '') this.push('\n')
    return this.failures.map(({ path, line, detail }) =>
      [[...path, line].join(' › '), ...detail].join('\n')).join('\n\n')
  }

  private line (raw: string): void {
    const indent = raw.length - raw.trimStart().length
    const text = raw.trim()
    if (this.collecting !== undefined && this.detail(indent, raw, text)) return
    const subtest = /^# Subtest: (.*)$/.exec(text)
    if (subtest?.[1] !== undefined) {
      const depth = Math.floor(indent / 4)
      this.subtests.length = depth
      this.failuresBefore.length = depth
      this.subtests[depth] = subtest[1]
      this.failuresBefore[depth] = this.failures.length
      return
    }
    const failed = /^not ok \d+(?: - (.*?))?(?: # time=[\d.]+m?s)?$/.exec(text)
    if (failed === null) return
    const depth = Math.floor(indent / 4)
    // The line that closes a failed subtest repeats its name: it adds nothing when a check inside it
    // failed, and is the only trace of a file that crashed or timed out.
    const closesSubtest = failed[1] !== undefined && failed[1] === this.subtests[depth]
    if (closesSubtest && this.failures.length > (this.failuresBefore[depth] ?? 0)) {
      this.collecting = { failure: undefined, indent, inBlock: false }
      return
    }
    const failure: Failure = { path: this.subtests.slice(0, depth), line: text, detail: [] }
    this.failures.push(failure)
    this.collecting = { failure, indent, inBlock: false }
  }

  // Takes the YAML block (`---` … `...`) that follows a failure; returns false at the first line outside it.
  private detail (indent: number, raw: string, text: string): boolean {
    const collecting = this.collecting
    if (collecting === undefined) return false
    if (!collecting.inBlock) {
      if (text === '---' && indent > collecting.indent) {
        collecting.inBlock = true
        return true
      }
      this.collecting = undefined
      return false
    }
    if (text === '...' && indent <= collecting.indent + 2) {
      this.collecting = undefined
      return true
    }
    const detail = collecting.failure?.detail
    if (detail === undefined) return true
    if (detail.length < MAX_DETAIL_LINES) detail.push(`  ${raw.slice(Math.min(indent, collecting.indent + 2))}`)
    else if (detail.length === MAX_DETAIL_LINES) detail.push('  …')
    return true
  }
}

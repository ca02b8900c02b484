// The benchmark's one table: figures as median (min–max) over the rounds, and ratios taken within each round.
export const median = (values: readonly number[]): number => {
  const sorted = [...values].filter((v) => Number.isFinite(v)).sort((a, b) => a - b)
  if (sorted.length === 0) return Number.NaN
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[mid] ?? Number.NaN : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2
}

/** Round-by-round ratios (a[i] / b[i]), so that a slow moment of a shared machine weighs on both sides alike. */
export const pairedRatios = (a: readonly number[], b: readonly number[]): number[] => a.map((v, i) => v / (b[i] ?? Number.NaN))

const compact = (n: number): string => {
  if (!Number.isFinite(n)) return '–'
  if (n >= 100) return Math.round(n).toLocaleString('en-US')
  if (n >= 10) return n.toFixed(1)
  return n.toFixed(2)
}

export const spread = (values: readonly number[]): string => {
  const finite = values.filter((v) => Number.isFinite(v))
  if (finite.length === 0) return '–'
  return `${compact(median(finite))} (${compact(Math.min(...finite))}–${compact(Math.max(...finite))})`
}

export const mb = (bytes: number): string => Number.isFinite(bytes) ? `${(bytes / 1024 / 1024).toFixed(0)} MB` : '–'
export const ms = (value: number): string => Number.isFinite(value) ? `${value < 10 ? value.toFixed(1) : Math.round(value)} ms` : '–'
export const ratio = (values: readonly number[], of: string): string => {
  const m = median(values)
  return Number.isFinite(m) ? `${m.toFixed(m < 0.1 ? 3 : 2)}× ${of}` : '–'
}

export type Row = readonly string[]

/** A plain-text table (also valid Markdown), columns padded to their widest cell. */
export function renderTable (header: Row, rows: readonly Row[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)))
  const line = (cells: Row) => `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |`
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n')
}

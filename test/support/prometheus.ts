// Reads Prometheus text (what /metrics answers) into samples, and fetches it from a metrics listener.
import type { FastifyInstance } from 'fastify'

export interface Sample { readonly name: string, readonly labels: Readonly<Record<string, string>>, readonly value: number }

const SAMPLE_LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$/
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*,?/g

/** Every sample of the text exposition format; throws on a line that is neither a comment nor a sample. */
export function parsePrometheusText (text: string): Sample[] {
  const samples: Sample[] = []
  for (const line of text.split('\n')) {
    if (line.trim() === '' || line.startsWith('#')) continue
    const match = SAMPLE_LINE.exec(line)
    if (match === null) throw new Error(`not a Prometheus sample line: ${line}`)
    const [, name = '', rawLabels = '', rawValue = ''] = match
    const labels: Record<string, string> = {}
    for (const [, label = '', value = ''] of rawLabels.matchAll(LABEL)) labels[label] = value.replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\')
    const value = rawValue === '+Inf' ? Number.POSITIVE_INFINITY : rawValue === '-Inf' ? Number.NEGATIVE_INFINITY : Number(rawValue)
    if (Number.isNaN(value) && rawValue.toLowerCase() !== 'nan') throw new Error(`not a sample value: ${line}`)
    samples.push({ name, labels, value })
  }
  return samples
}

/** The sum of the samples named `name` whose labels include `labels`. */
export function sumOf (samples: readonly Sample[], name: string, labels: Readonly<Record<string, string>> = {}): number {
  return samples
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((sum, s) => sum + s.value, 0)
}

/** The base URL of an app's /metrics listener (METRICS_PORT). */
export function metricsBase (app: FastifyInstance): string {
  const address = app.metricsServer?.address()
  if (address === null || address === undefined || typeof address === 'string') throw new Error('the metrics listener is not listening')
  return `http://127.0.0.1:${address.port}`
}

export async function scrape (base: string): Promise<Sample[]> {
  const res = await fetch(`${base}/metrics`)
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`)
  return parsePrometheusText(await res.text())
}

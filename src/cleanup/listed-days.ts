// The sentence cleanup's summary carries about the days it listed: which, and why today (or an older day) is not among them.
import { datePathFor } from '../uploads/key-layout.js'

const DAY_MS = 86_400_000

/** `90s`, `15m`, `24h`, `30d`: the largest unit that divides the seconds (days from two on, as ORPHAN_TTL's default is 24h). */
export function formatDuration (seconds: number): string {
  if (seconds >= 2 * 86_400 && seconds % 86_400 === 0) return `${seconds / 86_400}d`
  for (const [unit, size] of [['h', 3600], ['m', 60]] as const) if (seconds % size === 0) return `${seconds / size}${unit}`
  return `${seconds}s`
}

export interface ListedDaysInput {
  /** The summary's `days` (null when the layout is not by date). */
  readonly days: { readonly from: string, readonly to: string } | null
  /** The sweep's clock. */
  readonly now: number
  readonly prefix: string
  readonly olderThanSeconds: number
  readonly lookbackSeconds: number
}

/**
 * Uploads sit under the UTC day their grant was issued, and only an upload older than the orphan age can be an
 * orphan, so the newest day listed is the day of now minus that age: today only when the age is shorter than the
 * time since midnight UTC.
 */
export function explainListedDays ({ days, now, prefix, olderThanSeconds, lookbackSeconds }: ListedDaysInput): string {
  if (days === null) return `The key layout is not by date (UPLOAD_KEY_LAYOUT=owner): the whole prefix ${prefix} was listed.`
  const age = `${formatDuration(olderThanSeconds)} (--older-than, by default ORPHAN_TTL)`
  const listed = `Listed the uploads granted on the UTC days ${days.from} to ${days.to}.`
  const older = `Days before ${days.from} are beyond the look-back of ${formatDuration(lookbackSeconds)} (--lookback, by default CLEANUP_LOOKBACK).`
  const today = datePathFor(now)
  if (days.to === today) return `${listed} Today (${today}) is among them because the orphan age, ${age}, is shorter than the time since 00:00 UTC; only its uploads older than that can go. ${older}`
  const firstEligible = new Date(Math.floor(now / DAY_MS) * DAY_MS + olderThanSeconds * 1000).toISOString().replace(/:\d\d\.\d{3}Z$/, ' UTC').replace('T', ' ')
  const between = days.to === datePathFor(now - DAY_MS) ? '' : `, nor is any day after ${days.to}`
  return `${listed} Today (${today}) is not among them${between}: an upload granted after ${days.to} is younger than the orphan ` +
    `age, ${age}, so it cannot be an orphan yet (the first of today's can be one from ${firstEligible}). ${older}`
}

// The figures of a load run: latency histograms (HdrHistogram, hdr-histogram-js: fixed memory whatever the
// count, three significant digits from 1 µs to an hour) and the percentiles a datasheet quotes. Histograms
// travel between processes in HdrHistogram's compressed encoding and are merged by adding them, so that
// several processes (or machines), each with a slice of the UEs, give one set of percentiles.
import { build, decodeFromCompressedBase64, encodeIntoCompressedBase64, type Histogram } from 'hdr-histogram-js';

/**
 * Wall-clock time, ms with sub-millisecond precision (performance.timeOrigin + performance.now()): the clock
 * every thread and process of a machine shares, and a capture's timestamps too.
 */
export const wallClock = (): number => performance.timeOrigin + performance.now();

export interface Percentiles { p50: number; p90: number; p99: number; p999: number; max: number; count: number }

/** A histogram of microseconds, up to an hour. */
export const histogram = (): Histogram => build({ lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: 3 });

/** Milliseconds recorded as microseconds (at least 1). */
export const recordMs = (h: Histogram, ms: number): void => h.recordValue(Math.min(3_600_000_000, Math.max(1, Math.round(ms * 1000))));

/** Percentiles in ms (two decimals) of a histogram of microseconds. */
export function percentiles(h: Histogram): Percentiles {
  const ms = (us: number) => Math.round(us / 10) / 100;
  return { p50: ms(h.getValueAtPercentile(50)), p90: ms(h.getValueAtPercentile(90)), p99: ms(h.getValueAtPercentile(99)), p999: ms(h.getValueAtPercentile(99.9)), max: ms(h.maxValue), count: h.totalCount };
}

export const encodeHistogram = (h: Histogram): string => encodeIntoCompressedBase64(h);

/** The sum of encoded histograms (an empty one for none). */
export function mergeHistograms(encoded: readonly string[]): Histogram {
  const sum = histogram();
  for (const e of encoded) {
    const h = decodeFromCompressedBase64(e);
    sum.add(h);
    h.destroy();
  }
  return sum;
}

/** Counts by name, summed. */
export function addCounts(into: Record<string, number>, from: Record<string, number>): Record<string, number> {
  for (const [k, v] of Object.entries(from)) into[k] = (into[k] ?? 0) + v;
  return into;
}

export interface Evidence {
  check: string;
  /** The UE (its B-TID) the failure was seen at, its address, and when (wall clock, epoch ms). */
  ue: string;
  address?: string;
  at?: number;
  message: string;
  expected?: unknown;
  actual?: unknown;
  /** The packets of that UE around the failure (`load --capture`): a pcap file beside the capture. */
  pcap?: string;
}

/** Where and when a failure was seen: the UE's address and the wall-clock time (epoch ms). */
export interface Seen { address: string; at: number }

type Finding = { check: string; message: string; expected?: unknown; actual?: unknown };

/**
 * Conformance failures of a run counted by check, the first `perCheck` of each kept as evidence; and the
 * evidence of lost ACKs (an ACK the BM-SC did not take), kept the same way but counted apart (lostAcks),
 * since a tester that ran late can make a copy look late.
 */
export class FailureTally {
  readonly counts: Record<string, number> = {};
  readonly evidence: Evidence[] = [];
  readonly #kept: Record<string, number> = {};
  constructor(readonly perCheck: number) {}

  add(ue: string, f: Finding, seen?: Seen): void {
    this.counts[f.check] = (this.counts[f.check] ?? 0) + 1;
    this.keep(ue, f, seen);
  }

  /** Evidence only (not counted as a conformance failure): the first `perCheck` of each check. */
  keep(ue: string, f: Finding, seen?: Seen): void {
    const n = (this.#kept[f.check] ?? 0) + 1;
    this.#kept[f.check] = n;
    if (n > this.perCheck) return;
    this.evidence.push({
      check: f.check, ue, ...(seen ? { address: seen.address, at: Math.round(seen.at * 1000) / 1000 } : {}), message: f.message,
      ...(f.expected !== undefined ? { expected: f.expected } : {}), ...(f.actual !== undefined ? { actual: f.actual } : {}),
    });
  }
}

/** Evidence lists merged, keeping the first `perCheck` of each check. */
export function mergeEvidence(lists: readonly Evidence[][], perCheck: number): Evidence[] {
  const out: Evidence[] = [];
  const kept: Record<string, number> = {};
  for (const list of lists) {
    for (const e of list) {
      if ((kept[e.check] ?? 0) >= perCheck) continue;
      kept[e.check] = (kept[e.check] ?? 0) + 1;
      out.push(e);
    }
  }
  return out;
}

// One summary from the summaries of several load processes run side by side (each with a slice of the UE
// population, `--first-ue`; on one machine or several): counts add up, throughput adds up (the processes
// ran at the same time), percentiles come from the sum of their histograms, not from averaging
// percentiles. The per-second figures add up too; a second's p50 and p99 are the highest of the processes'
// (their per-second histograms are not kept), which the merged summary says.
import { addCounts, mergeEvidence, mergeHistograms, percentiles, encodeHistogram } from './stats.ts';
import { STARVED_LAG_MS, type LoadSummary, type SecondSample } from './run.ts';

export class MergeError extends Error {}

/** One second of processes (or threads) run side by side: counts added, p50 and p99 the highest of them. */
export function addSecond(a: SecondSample, b: SecondSample): SecondSample {
  return {
    second: a.second, offered: a.offered + b.offered, completed: a.completed + b.completed, errors: a.errors + b.errors,
    failures: a.failures + b.failures, p50Ms: Math.max(a.p50Ms, b.p50Ms), p99Ms: Math.max(a.p99Ms, b.p99Ms),
  };
}

export function mergeLoadSummaries(parts: LoadSummary[], evidencePerCheck = 3): LoadSummary & { merged: { processes: number; perSecondPercentiles: 'highest of the processes' } } {
  if (parts.length === 0) throw new MergeError('nothing to merge');
  const first = parts[0]!;
  for (const p of parts) {
    if (!p.histograms) throw new MergeError('a summary without its histograms (written by an older version?)');
    if (p.scenario !== first.scenario || p.mode !== first.mode) throw new MergeError(`summaries of different runs: ${first.scenario} ${first.mode} and ${p.scenario} ${p.mode}`);
  }
  const merged = (pick: (h: LoadSummary['histograms']) => string) => {
    const h = mergeHistograms(parts.map((p) => pick(p.histograms)));
    const out = { percentiles: percentiles(h), encoded: encodeHistogram(h), p99us: h.getValueAtPercentile(99) };
    h.destroy();
    return out;
  };
  const latency = merged((h) => h.latency);
  const challenge = merged((h) => h.challenge);
  const ok = merged((h) => h.ok);
  const delivery = merged((h) => h.delivery);
  const lag = merged((h) => h.schedulerLag);
  const sum = (f: (p: LoadSummary) => number) => parts.reduce((n, p) => n + f(p), 0);
  const seconds: SecondSample[] = [];
  for (const p of parts) p.seconds.forEach((s, i) => { seconds[i] = seconds[i] ? addSecond(seconds[i]!, s) : { ...s, second: i + 1 }; });
  const warm = parts.filter((p) => p.warmup);
  return {
    scenario: first.scenario, ues: sum((p) => p.ues), mode: first.mode,
    ...(first.rate !== undefined ? { rate: sum((p) => p.rate ?? 0) } : {}),
    ...(first.concurrency !== undefined ? { concurrency: sum((p) => p.concurrency ?? 0) } : {}),
    durationS: Math.max(...parts.map((p) => p.durationS)),
    ...(warm.length ? { warmup: { seconds: Math.max(...warm.map((p) => p.warmup!.seconds)), offered: warm.reduce((n, p) => n + p.warmup!.offered, 0), completed: warm.reduce((n, p) => n + p.warmup!.completed, 0), errors: warm.reduce((n, p) => n + p.warmup!.errors, 0) } } : {}),
    offered: sum((p) => p.offered), completed: sum((p) => p.completed),
    completedPerSecond: Math.round(sum((p) => p.completedPerSecond) * 10) / 10,
    latencyMs: latency.percentiles,
    phasesMs: { challenge: challenge.percentiles, ok: ok.percentiles, delivery: delivery.percentiles },
    errors: parts.reduce((acc, p) => addCounts(acc, p.errors), {} as Record<string, number>),
    conformanceFailures: parts.reduce((acc, p) => addCounts(acc, p.conformanceFailures), {} as Record<string, number>),
    evidence: mergeEvidence(parts.map((p) => p.evidence), evidencePerCheck),
    lostAcks: sum((p) => p.lostAcks), retransmissions: sum((p) => p.retransmissions ?? 0), abandonedDeliveries: sum((p) => p.abandonedDeliveries), noIdleUe: sum((p) => p.noIdleUe),
    schedulerLagMs: lag.percentiles, testerStarved: parts.some((p) => p.testerStarved) || lag.p99us / 1000 > STARVED_LAG_MS,
    seconds,
    histograms: { latency: latency.encoded, challenge: challenge.encoded, ok: ok.encoded, delivery: delivery.encoded, schedulerLag: lag.encoded },
    merged: { processes: parts.length, perSecondPercentiles: 'highest of the processes' },
  };
}

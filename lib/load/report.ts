// The outputs of a load run beside its summary: the per-second (or per-100 ms) figures as CSV, an HTML report
// with plots, and an Allure result carrying the summary, so that a load run sits beside the conformance
// report. The plots are SVG drawn here, inline in one HTML file that needs no script and no network
// (a lab attaches it to a certification report as it is); every text in them goes through lib/report's
// escaping element builder. The latency plots come from the run's HdrHistogram (its percentiles, not
// averaged samples).
import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { el, raw, render, type MarkupNode } from '../report/index.ts';
import type { LoadSummary } from './run.ts';
import type { MtkSummary, PushSummary } from './push.ts';
import { mergeHistograms } from './stats.ts';
import { mapVerdict } from '../suite/status-map.ts';

export type Sut = { name: string; faults: string[] };
export type AnySummary = (LoadSummary | PushSummary | MtkSummary) & { sut: Sut; bmscOutstandingAcks?: number };

/** A push-group or pull-group summary: a new MSK to every UE of a group, pushed or pulled after a trigger. */
export const isGroupSummary = (s: AnySummary): s is Extract<AnySummary, { deliveriesPer100Ms: number[] }> => s.scenario === 'push-group' || s.scenario === 'pull-group';

/**
 * passed: no conformance failure, no error, no lost ACK. failed: a conformance failure (a wrong MAC or
 * counter is the BM-SC's whatever the tester's load), or errors and lost ACKs while the tester kept up.
 * inconclusive: no conformance failure, but errors or lost ACKs while the tester itself ran late
 * (testerStarved): the time-outs may be its own, so they are not held against the BM-SC.
 */
export function loadVerdict(s: AnySummary): 'passed' | 'failed' | 'inconclusive' {
  if (Object.keys(s.conformanceFailures).length > 0) return 'failed';
  if (Object.keys(s.errors).length === 0 && s.lostAcks === 0) return 'passed';
  return s.testerStarved ? 'inconclusive' : 'failed';
}

export function loadCsv(s: AnySummary): string {
  if (isGroupSummary(s)) {
    let total = 0;
    return `from_ms,to_ms,delivered,delivered_total\n${s.deliveriesPer100Ms.map((n, i) => [i * 100, (i + 1) * 100, n, (total += n)].join(',')).join('\n')}\n`;
  }
  if (s.scenario === 'mtk-update') {
    return `update,mtk_id,triggered_ms,delivered,all_delivered_ms\n${s.perUpdate.map((u, i) => [i + 1, u.mtkId, u.atMs, u.delivered, u.allDeliveredMs ?? ''].join(',')).join('\n')}\n`;
  }
  return `second,offered,completed,errors,failures,p50_ms,p99_ms\n${s.seconds.map((x) => [x.second, x.offered, x.completed, x.errors, x.failures, x.p50Ms, x.p99Ms].join(',')).join('\n')}\n`;
}

export interface LoadOutputs { csv?: string; html?: string; allureResults?: string }

export function writeLoadOutputs(s: AnySummary, out: LoadOutputs): void {
  if (out.csv) writeFileSync(out.csv, loadCsv(s));
  const html = out.html || out.allureResults ? loadReportHtml(s) : undefined;
  if (out.html) writeFileSync(out.html, html!);
  if (out.allureResults) writeAllureLoadResult(s, out.allureResults, html!);
}

// ---- plots ---------------------------------------------------------------------------------------------------

interface Series { name: string; colour: string; points: [number, number][] }
const W = 640;
const H = 240;
const M = { left: 56, right: 16, top: 28, bottom: 36 };

function niceMax(v: number): number {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const f of [1, 2, 2.5, 5, 10]) if (f * p >= v) return f * p;
  return 10 * p;
}

/** A line (or step) chart; `xTicks` names the x positions to label, `logX` draws x on a log10 scale. */
function chart(title: string, xLabel: string, yLabel: string, series: Series[], options: { xTicks?: [number, string][]; bars?: boolean } = {}): MarkupNode {
  const xs = series.flatMap((s) => s.points.map((p) => p[0]));
  const ys = series.flatMap((s) => s.points.map((p) => p[1]));
  const xMin = Math.min(0, ...xs);
  const xMax = Math.max(xMin + 1, ...xs);
  const yMax = niceMax(Math.max(0, ...ys));
  const px = (x: number) => M.left + ((x - xMin) / (xMax - xMin)) * (W - M.left - M.right);
  const py = (y: number) => H - M.bottom - (y / yMax) * (H - M.top - M.bottom);
  const grid = [0, 0.25, 0.5, 0.75, 1].map((f) => [
    el('line', { x1: M.left, x2: W - M.right, y1: py(f * yMax), y2: py(f * yMax), stroke: '#ddd' }),
    el('text', { 'x': M.left - 6, 'y': py(f * yMax) + 4, 'text-anchor': 'end', 'font-size': 11 }, [fmt(f * yMax)]),
  ]);
  const ticks = options.xTicks ?? [0, 0.25, 0.5, 0.75, 1].map((f) => [xMin + f * (xMax - xMin), fmt(xMin + f * (xMax - xMin))] as [number, string]);
  const xAxis = ticks.map(([x, label]) => el('text', { 'x': px(x), 'y': H - M.bottom + 14, 'text-anchor': 'middle', 'font-size': 11 }, [label]));
  const drawn = series.map((s) => {
    if (options.bars) {
      const step = s.points.length > 1 ? px(s.points[1]![0]) - px(s.points[0]![0]) : 8;
      return s.points.map(([x, y]) => el('rect', { x: px(x), y: py(y), width: Math.max(1, step - 1), height: H - M.bottom - py(y), fill: s.colour }));
    }
    return el('polyline', { 'fill': 'none', 'stroke': s.colour, 'stroke-width': 1.5, 'points': s.points.map(([x, y]) => `${px(x).toFixed(1)},${py(y).toFixed(1)}`).join(' ') });
  });
  const legend = series.map((s, i) => [
    el('rect', { x: W - M.right - 150, y: 8 + i * 14, width: 10, height: 10, fill: s.colour }),
    el('text', { 'x': W - M.right - 136, 'y': 17 + i * 14, 'font-size': 11 }, [s.name]),
  ]);
  return el('svg', { 'xmlns': 'http://www.w3.org/2000/svg', 'viewBox': `0 0 ${W} ${H}`, 'width': W, 'height': H, 'font-family': 'sans-serif', 'role': 'img', 'aria-label': title }, [
    el('text', { 'x': M.left, 'y': 16, 'font-size': 13, 'font-weight': 'bold' }, [title]),
    ...grid.flat(), ...xAxis, ...drawn.flat(), ...legend.flat(),
    el('line', { x1: M.left, x2: M.left, y1: M.top, y2: H - M.bottom, stroke: '#888' }),
    el('text', { 'x': (W + M.left) / 2, 'y': H - 6, 'text-anchor': 'middle', 'font-size': 11 }, [xLabel]),
    el('text', { 'x': 12, 'y': (H - M.bottom + M.top) / 2, 'font-size': 11, 'transform': `rotate(-90 12 ${(H - M.bottom + M.top) / 2})`, 'text-anchor': 'middle' }, [yLabel]),
  ]);
}

const fmt = (v: number): string => (Math.abs(v) >= 100 || Number.isInteger(v) ? String(Math.round(v)) : v.toFixed(v < 1 ? 2 : 1));

/** Latency against percentile on the usual HdrHistogram scale: x = log10(1 / (1 - p)), 90 % at 1, 99 % at 2. */
function percentilePlot(title: string, encoded: string): MarkupNode {
  const h = mergeHistograms([encoded]);
  const points: [number, number][] = [];
  if (h.totalCount > 0) {
    for (let x = 0; x <= 4.0001; x += 0.05) {
      const p = 100 * (1 - 10 ** -x);
      points.push([x, h.getValueAtPercentile(Math.min(p, 99.9999)) / 1000]);
    }
  }
  h.destroy();
  return chart(title, 'percentile', 'ms', [{ name: 'latency', colour: '#1f77b4', points }], { xTicks: [[0, '0%'], [1, '90%'], [2, '99%'], [3, '99.9%'], [4, '99.99%']] });
}

/** A frequency histogram on log-spaced latency bins, read from the HdrHistogram's percentiles in 0.1 % steps. */
function latencyHistogram(title: string, encoded: string): MarkupNode {
  const h = mergeHistograms([encoded]);
  const bins = new Map<number, number>();
  if (h.totalCount > 0) {
    const per = h.totalCount / 1000;
    for (let i = 1; i <= 1000; i++) {
      const ms = h.getValueAtPercentile(Math.min(99.9999, i / 10)) / 1000;
      const bin = Math.floor(Math.log10(Math.max(ms, 0.01)) * 10); // 10 bins per decade
      bins.set(bin, (bins.get(bin) ?? 0) + per);
    }
  }
  h.destroy();
  const keys = [...bins.keys()];
  const lo = keys.length ? Math.min(...keys) : 0;
  const hi = keys.length ? Math.max(...keys) : 1;
  const points: [number, number][] = [];
  for (let b = lo; b <= hi; b++) points.push([b, Math.round(bins.get(b) ?? 0)]);
  const ticks: [number, string][] = [];
  for (let b = Math.floor(lo / 10) * 10; b <= hi + 1; b += 10) ticks.push([b, `${fmt(10 ** (b / 10))} ms`]);
  return chart(title, 'latency (log scale, 10 bins a decade)', 'procedures', [{ name: 'count', colour: '#2ca02c', points }], { bars: true, xTicks: ticks });
}

// ---- the HTML report -----------------------------------------------------------------------------------------

/** The row of a run of UE slices that says how late they ran (the tester's own lag). */
const slicesLag = (s: { testerLoopDelayMs: { p99: number; max: number }; testerStarved: boolean }): [string, string] =>
  ['UE slices\' event-loop delay (the tester\'s own)', `p99 ${s.testerLoopDelayMs.p99} ms, max ${s.testerLoopDelayMs.max} ms${s.testerStarved ? ' — the tester ran late: its time-outs are partly its own' : ''}`];

export function loadReportHtml(s: AnySummary): string {
  const verdict = loadVerdict(s);
  const table = (rows: [string, string | number][]) => el('table', {}, rows.map(([k, v]) => el('tr', {}, [el('th', {}, [k]), el('td', {}, [String(v)])])));
  const pct = (p: { p50: number; p90: number; p99: number; p999: number; max: number }) => `p50 ${p.p50} · p90 ${p.p90} · p99 ${p.p99} · p99.9 ${p.p999} · max ${p.max} ms`;
  const counts = (o: Record<string, number>) => (Object.keys(o).length ? Object.entries(o).map(([k, v]) => `${k} ${v}`).join(', ') : 'none');
  const plots: MarkupNode[] = [];
  let rows: [string, string | number][];
  if (isGroupSummary(s)) {
    let total = 0;
    const cumulative = s.deliveriesPer100Ms.map((n, i) => [(i + 1) / 10, (total += n)] as [number, number]);
    plots.push(chart(`UEs with the new MSK, after the ${s.scenario === 'pull-group' ? 'triggers' : 'push'}`, 'seconds after the BM-SC was asked', 'UEs', [{ name: 'delivered', colour: '#1f77b4', points: [[0, 0], ...cumulative] }]));
    plots.push(chart('deliveries per 100 ms', 'seconds after the BM-SC was asked', 'UEs', [{ name: 'delivered', colour: '#ff7f0e', points: s.deliveriesPer100Ms.map((n, i) => [i / 10, n]) }], { bars: true }));
    rows = [
      ['scenario', s.scenario === 'pull-group' ? 'pull-group: a new MSK announced to every UE of a key group by a solicited-pull trigger, each UE requesting it (TS 33.246 §6.3.2.1, §6.3.1)' : 'push-group: a new MSK pushed to every UE of a key group (TS 33.246 §6.3.2.1)'],
      ['UEs', `${s.ues} subscribed, ${s.unsubscribedUes} not subscribed`],
      ['delivered', `${s.delivered} of ${s.ues}${s.allDeliveredMs !== undefined ? `, all in ${(s.allDeliveredMs / 1000).toFixed(2)} s` : ''}`],
      ['acknowledged', `${s.acknowledged} of ${s.ues}${s.allAcknowledgedMs !== undefined ? `, all in ${(s.allAcknowledgedMs / 1000).toFixed(2)} s (${s.completedPerSecond} UEs/s)` : ''}`],
      ['delivery after the push', pct(s.latencyMs)],
      ['messages / ACKs sent / retransmissions / lost ACKs', `${s.messages} / ${s.acksSent} / ${s.retransmissions} / ${s.lostAcks}`],
      slicesLag(s),
      ...(s.pull ? [['triggers taken / MSK requests granted', `${s.pull.triggers} / ${s.pull.granted}`], ['200 OK after the trigger', pct(s.pull.okMs)]] as [string, string][] : []),
    ];
  } else if (s.scenario === 'mtk-update') {
    plots.push(chart('time until every UE had the new MTK, per update', 'seconds after the first update', 'ms', [
      { name: 'all UEs', colour: '#1f77b4', points: s.perUpdate.filter((u) => u.allDeliveredMs !== undefined).map((u) => [u.atMs / 1000, u.allDeliveredMs!]) },
    ]));
    plots.push(chart('UEs that took each update\'s MTK', 'seconds after the first update', 'UEs', [
      { name: 'delivered', colour: '#2ca02c', points: s.perUpdate.map((u) => [u.atMs / 1000, u.delivered]) },
    ]));
    rows = [
      ['scenario', 'mtk-update: MTK updates to every UE of a key group (TS 33.246 §6.3.3), after a push of its MSK (§6.3.2.1)'],
      ['UEs', `${s.ues} subscribed, ${s.unsubscribedUes} not subscribed`],
      ['push of the MSK', `${s.push.acknowledged} of ${s.ues} acknowledged${s.push.allAcknowledgedMs !== undefined ? ` in ${(s.push.allAcknowledgedMs / 1000).toFixed(2)} s` : ''}`],
      ['updates', `${s.updates} (${s.rate}/s for ${s.durationS} s)`],
      ['new MTKs taken', `${s.delivered} of ${s.expected} (${s.completedPerSecond}/s)`],
      ['each UE\'s new MTK after the update', pct(s.latencyMs)],
      ['an update to every UE', pct(s.fanOutMs)],
      ['MTK messages / repeats', `${s.mtkMessages} / ${s.repeats}`],
      ['retransmissions / lost ACKs (the push)', `${s.retransmissions} / ${s.lostAcks}`],
      slicesLag(s),
    ];
  } else {
    plots.push(chart('throughput', 'second', 'procedures / s', [
      { name: 'offered', colour: '#aaa', points: s.seconds.map((x) => [x.second, x.offered]) },
      { name: 'completed', colour: '#1f77b4', points: s.seconds.map((x) => [x.second, x.completed]) },
      { name: 'errors', colour: '#d62728', points: s.seconds.map((x) => [x.second, x.errors]) },
    ]));
    plots.push(chart(`latency per second${'merged' in s ? ' (highest of the processes)' : ''}`, 'second', 'ms', [
      { name: 'p50', colour: '#2ca02c', points: s.seconds.map((x) => [x.second, x.p50Ms]) },
      { name: 'p99', colour: '#ff7f0e', points: s.seconds.map((x) => [x.second, x.p99Ms]) },
    ]));
    plots.push(percentilePlot('latency by percentile (whole run)', s.histograms.latency));
    plots.push(latencyHistogram('latency histogram (whole run)', s.histograms.latency));
    rows = [
      ['scenario', s.scenario],
      ['load', `${s.mode === 'open-loop' ? `${s.rate}/s offered (open loop)` : `${s.concurrency} in flight (closed loop)`}, ${s.durationS} s, ${s.ues} UEs${s.warmup ? `, after a ${s.warmup.seconds} s warm-up` : ''}`],
      ['procedures', `${s.offered} offered, ${s.completed} completed (${s.completedPerSecond}/s)`],
      ['latency', pct(s.latencyMs)],
      ['401 challenge', pct(s.phasesMs.challenge)],
      ['200 OK', pct(s.phasesMs.ok)],
      ['MIKEY delivery', pct(s.phasesMs.delivery)],
      ['retransmissions received / lost ACKs', `${s.retransmissions} / ${s.lostAcks}`],
      ['scheduler lag (the tester\'s own)', `p99 ${s.schedulerLagMs.p99} ms${s.testerStarved ? ' — the tester could not keep its schedule: figures partly its own starvation' : ''}`],
    ];
  }
  rows.push(['errors', counts(s.errors)], ['conformance failures', counts(s.conformanceFailures)]);
  const evidence = s.evidence.length
    ? el('table', {}, [el('tr', {}, ['check', 'UE', 'where and when', 'message', 'expected', 'actual', 'packets'].map((h) => el('th', {}, [h]))),
      ...s.evidence.map((e) => el('tr', {}, [e.check, e.ue, `${e.address ?? ''}${e.at ? ` ${new Date(e.at).toISOString()}` : ''}`, e.message, JSON.stringify(e.expected ?? ''), JSON.stringify(e.actual ?? ''), e.pcap ?? ''].map((c) => el('td', {}, [c]))))])
    : el('p', {}, ['none']);
  const doc = el('html', { lang: 'en' }, [
    el('head', {}, [el('meta', { charset: 'utf-8' }), el('title', {}, [`mbms-conform load: ${s.scenario}`]),
      el('style', {}, [raw('body{font-family:sans-serif;margin:2em;max-width:1000px}th{text-align:left;padding-right:1em;vertical-align:top}td{padding-right:1em}.passed{color:#2a7}.failed{color:#c33}.inconclusive{color:#c80}svg{display:block;margin:1em 0}')])]),
    el('body', {}, [
      el('h1', {}, [`mbms-conform load: ${s.scenario} — `, el('span', { class: verdict }, [verdict])]),
      el('p', {}, [`Against the ${s.sut.name}${s.sut.faults.length ? ` with faults ${s.sut.faults.join(', ')}` : ''}. Every message judged as in the conformance runs; passed means no conformance failure, no error and no lost ACK; inconclusive, errors or lost ACKs only while the tester itself ran late.`]),
      table(rows), el('h2', {}, ['plots']), plots, el('h2', {}, ['evidence (the first of each failing check)']), evidence,
    ]),
  ]);
  return `<!DOCTYPE html>\n${render(doc, 'html')}\n`;
}

/** An Allure result for the load run (its verdict, figures as parameters, the summary and the report attached). */
export function writeAllureLoadResult(s: AnySummary, dir: string, html: string): string {
  mkdirSync(dir, { recursive: true });
  const uuid = randomUUID();
  const attach = (name: string, type: string, ext: string, content: string) => {
    const source = `${randomUUID()}-attachment.${ext}`;
    writeFileSync(join(dir, source), content);
    return { name, source, type };
  };
  const verdict = loadVerdict(s);
  const now = Date.now();
  const parameters = isGroupSummary(s)
    ? [['UEs', s.ues], ['all acknowledged (ms)', s.allAcknowledgedMs ?? 'not all'], ['delivery p99 (ms)', s.latencyMs.p99], ['lost ACKs', s.lostAcks]]
    : s.scenario === 'mtk-update'
      ? [['UEs', s.ues], ['updates', `${s.updates} (${s.rate}/s)`], ['new MTKs taken', `${s.delivered} of ${s.expected}`], ['MTK p99 (ms)', s.latencyMs.p99], ['update to every UE, max (ms)', s.fanOutMs.max]]
      : [['offered', s.mode === 'open-loop' ? `${s.rate}/s` : `${s.concurrency} in flight`], ['completed per second', s.completedPerSecond], ['p50 (ms)', s.latencyMs.p50], ['p99 (ms)', s.latencyMs.p99], ['lost ACKs', s.lostAcks]];
  const failures = Object.entries(s.conformanceFailures).map(([k, v]) => `${k} ${v}`).join(', ');
  const errors = Object.entries(s.errors).map(([k, v]) => `${k} ${v}`).join(', ');
  const doc = {
    uuid, historyId: `load:${s.scenario}`, name: `load: ${s.scenario}`, fullName: `mbms-conform load ${s.scenario}`,
    // The Allure status of the verdict, from the one verdict-to-status map of the conformance cases
    status: mapVerdict(verdict === 'passed' ? 'PASS' : verdict === 'failed' ? 'FAIL' : 'INCONC').allureIntended, stage: 'finished', start: now, stop: now,
    ...(verdict !== 'passed' ? { statusDetails: { message: [failures && `conformance failures: ${failures}`, errors && `errors: ${errors}`, s.lostAcks ? `lost ACKs: ${s.lostAcks}` : '', verdict === 'inconclusive' ? 'the tester ran late (testerStarved): the errors may be its own' : ''].filter(Boolean).join('; ') } } : {}),
    labels: [{ name: 'parentSuite', value: 'load' }, { name: 'suite', value: s.scenario }, { name: 'feature', value: 'load' }],
    parameters: parameters.map(([name, value]) => ({ name: String(name), value: String(value) })),
    attachments: [attach('load summary', 'application/json', 'json', `${JSON.stringify(s, null, 2)}\n`), attach('load report', 'text/html', 'html', html), attach('figures (CSV)', 'text/csv', 'csv', loadCsv(s))],
  };
  const path = join(dir, `${uuid}-result.json`);
  writeFileSync(path, `${JSON.stringify(doc, null, 2)}\n`);
  return path;
}

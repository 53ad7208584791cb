// Ladder (sequence) diagram of one case: the UE and BM-SC lanes, every HTTP request/response
// and MIKEY message as an arrow between them, tester notes on the lane of the tester, timings
// relative to the first event, and the failing step and events in red. Drawn by the project
// (no diagram library) from the TraceEvent timeline, with the escaping element builder.
import { el, render, type Child, type MarkupNode } from './markup.ts';
import type { Actor, MikeyEvent, StepResult, SutRole, TraceEvent } from './types.ts';

export interface LadderRoles {
  /** The role of the system under test; the tester plays the other one. */
  sut: SutRole;
  sutName?: string;
  testerName?: string;
}

export interface LadderOptions {
  roles: LadderRoles;
  /** Trace event ids to mark in red (the evidence of FAIL/ERROR findings). */
  failingEvents?: number[];
  /** Steps of the case: draws a separator with the step title before its first event; a non-PASS step is red. */
  steps?: Pick<StepResult, 'index' | 'title' | 'verdict' | 'events'>[];
  title?: string;
}

type Lane = 'ue' | 'bmsc';

const FAIL_COLOR = '#c62828';
const INK = '#263238';
const MUTED = '#607d8b';
const LANE_X: Record<Lane, number> = { ue: 290, bmsc: 790 };
const WIDTH = 1000;
const HEADER_BOTTOM = 86;
const ROW = 46;
const STEP_ROW = 26;
const LABEL_MAX = 68;

function laneOf(actor: Actor, sut: SutRole): Lane {
  if (actor === 'ue' || actor === 'bmsc') return actor;
  const tester: Lane = sut === 'bmsc' ? 'ue' : 'bmsc';
  return actor === 'sut' ? sut : tester;
}
const otherLane = (lane: Lane): Lane => (lane === 'ue' ? 'bmsc' : 'ue');

function truncate(text: string, max = LABEL_MAX): string {
  const oneLine = text.replace(/\s+/g, ' ');
  return oneLine.length <= max ? oneLine : `${oneLine.slice(0, max - 1)}…`;
}

/** "+12.345 ms" below one second, "+1.234 s" above: timings relative to the first event. */
export function formatOffset(ms: number): string {
  return ms < 1000 ? `+${ms.toFixed(3)} ms` : `+${(ms / 1000).toFixed(3)} s`;
}

const endpoint = (e: { address: string; port: number }): string => (e.address.includes(':') ? `[${e.address}]:${e.port}` : `${e.address}:${e.port}`);

interface MikeyView { hdr?: { dataType?: number; v?: boolean; csbId?: number }; payloads?: { type?: string; tsValue?: bigint | number | string; keyIds?: { idType?: number; value?: Uint8Array }[] }[] }

const idValue = (bytes: Uint8Array | undefined): bigint => {
  let n = 0n;
  for (const b of bytes ?? []) n = (n << 8n) | BigInt(b);
  return n;
};

/**
 * What a MIKEY message is, read from its header and EXT Key IDs (protocol §1, §4.2):
 * data type 1 = verification message (ACK), 6 = error; data type 0 with all key IDs zero =
 * solicited-pull trigger (protocol §1.3), with a non-zero MTK ID = MTK message, else MSK message.
 */
export function mikeyKind(event: Pick<MikeyEvent, 'message' | 'decodeError'>): string {
  const m = event.message as MikeyView | undefined;
  if (!m?.hdr) return event.decodeError ? 'MIKEY (undecodable)' : 'MIKEY';
  if (m.hdr.dataType === 1) return 'MIKEY ACK';
  if (m.hdr.dataType === 6) return 'MIKEY ERR';
  if (m.hdr.dataType !== 0) return `MIKEY type ${m.hdr.dataType}`;
  const keyIds = (m.payloads ?? []).flatMap((p) => (p.type === 'EXT' ? p.keyIds ?? [] : []));
  const msk = keyIds.find((k) => k.idType === 1);
  const mtk = keyIds.find((k) => k.idType === 2);
  if (keyIds.length > 0 && keyIds.filter((k) => k.idType !== 0).every((k) => idValue(k.value) === 0n)) return 'MIKEY trigger';
  if (mtk && idValue(mtk.value) !== 0n) return 'MIKEY MTK';
  if (msk) return 'MIKEY MSK';
  return 'MIKEY';
}

function mikeyLabel(event: MikeyEvent): string {
  const m = event.message as MikeyView | undefined;
  const parts = [mikeyKind(event)];
  if (m?.hdr) {
    parts.push(`V=${m.hdr.v ? 1 : 0}`);
    const t = (m.payloads ?? []).find((p) => p.type === 'T');
    if (t?.tsValue !== undefined) parts.push(`ctr=${String(t.tsValue)}`);
    if (m.hdr.csbId !== undefined) parts.push(`CSB=0x${(m.hdr.csbId >>> 0).toString(16).padStart(8, '0')}`);
  } else if (event.decodeError) {
    parts.push(`decode error at ${event.decodeError.offset}: ${event.decodeError.reason}`);
  }
  parts.push(`${event.bytes.length} B`);
  return parts.join('  ');
}

const header = (headers: [string, string][], name: string): string | undefined =>
  headers.find(([k]) => k.toLowerCase() === name)?.[1];

/** The one-line label of an event (method and target, status, MIKEY kind with V flag and counter). */
export function eventLabel(event: TraceEvent): string {
  switch (event.kind) {
    case 'http-request': {
      const auth = header(event.headers, 'authorization') ? ' (Digest)' : '';
      return `${event.method} ${event.target}${auth}`;
    }
    case 'http-response': {
      const extra = event.status === 401 && header(event.headers, 'www-authenticate') ? ' challenge' : header(event.headers, 'authentication-info') ? ' rspauth' : '';
      return `${event.status} ${event.reason}${extra}`;
    }
    case 'mikey':
      return mikeyLabel(event);
    case 'note':
      return event.text;
  }
}

function eventDetail(event: TraceEvent): string {
  const frames = event.frames.length ? `frame${event.frames.length > 1 ? 's' : ''} ${event.frames.join(',')}` : 'no frame';
  return `#${event.id}  ${frames}  ${endpoint(event.src)} → ${endpoint(event.dst)}`;
}

function arrowHead(x: number, y: number, dir: 1 | -1, color: string): MarkupNode {
  const back = x - dir * 10;
  return el('polygon', { points: `${x},${y} ${back},${y - 5} ${back},${y + 5}`, fill: color });
}

/** Renders the ladder diagram as a standalone SVG document (UTF-8, no external resources). */
export function ladderSvg(trace: readonly TraceEvent[], opts: LadderOptions): string {
  const failing = new Set(opts.failingEvents ?? []);
  const events = [...trace].sort((a, b) => a.time - b.time || a.id - b.id);
  const t0 = events[0]?.time ?? 0;
  const stepOf = new Map<number, Pick<StepResult, 'index' | 'title' | 'verdict' | 'events'>>();
  for (const step of opts.steps ?? []) for (const id of step.events) if (!stepOf.has(id)) stepOf.set(id, step);

  const sutLane: Lane = opts.roles.sut;
  const laneTitle = (lane: Lane): string => `${lane === 'ue' ? 'UE' : 'BM-SC'} — ${lane === sutLane ? 'SUT' : 'tester'}`;
  const laneName = (lane: Lane): string | undefined => (lane === sutLane ? opts.roles.sutName : opts.roles.testerName);
  const laneEndpoint = (lane: Lane): string | undefined => {
    const sent = events.find((e) => e.kind !== 'note' && laneOf(e.actor, sutLane) === lane);
    return sent ? sent.src.address : undefined;
  };

  const rows: Child[] = [];
  let y = HEADER_BOTTOM + 22;
  let currentStep: number | undefined;
  for (const event of events) {
    const step = stepOf.get(event.id);
    if (step && step.index !== currentStep) {
      currentStep = step.index;
      const bad = step.verdict !== 'PASS' && step.verdict !== 'NOT-APPLICABLE';
      const color = bad ? FAIL_COLOR : MUTED;
      rows.push(el('g', { class: bad ? 'step failing' : 'step', 'data-step': step.index }, [
        el('line', { x1: 10, y1: y - 4, x2: WIDTH - 10, y2: y - 4, stroke: color, 'stroke-dasharray': '4 4', 'stroke-width': bad ? 1.5 : 1 }),
        el('text', { x: 14, y: y + 12, fill: color, 'font-size': 12, 'font-weight': bad ? 'bold' : 'normal' }, `Step ${step.index}: ${truncate(step.title, 90)}${bad ? `  [${step.verdict}]` : ''}`),
      ]));
      y += STEP_ROW;
    }
    y += ROW / 2;
    const isFailing = failing.has(event.id);
    const color = isFailing ? FAIL_COLOR : INK;
    const label = eventLabel(event);
    const from = laneOf(event.actor, sutLane);
    const time = el('text', { x: 14, y: y + 4, fill: isFailing ? FAIL_COLOR : MUTED, 'font-size': 11, class: 'time' }, formatOffset(event.time - t0));
    const title = el('title', {}, `${label}\n${eventDetail(event)}`);
    const attrs = { class: isFailing ? 'event failing' : 'event', 'data-event-id': event.id, 'data-kind': event.kind, 'data-from': from };
    if (event.kind === 'note') {
      const x = LANE_X[from];
      const text = truncate(label, 48);
      const w = Math.min(440, 16 + text.length * 6.6);
      rows.push(el('g', attrs, [
        title, time,
        el('rect', { x: x - w / 2, y: y - 13, width: w, height: 22, rx: 3, fill: '#fffde7', stroke: isFailing ? FAIL_COLOR : '#c0a000' }),
        el('text', { x, y: y + 3, 'text-anchor': 'middle', fill: color, 'font-size': 11 }, text),
      ]));
    } else {
      const to = otherLane(from);
      const x1 = LANE_X[from];
      const x2 = LANE_X[to];
      const dir: 1 | -1 = x2 > x1 ? 1 : -1;
      const mid = (x1 + x2) / 2;
      rows.push(el('g', attrs, [
        title, time,
        el('line', { x1, y1: y, x2: x2 - dir * 9, y2: y, stroke: color, 'stroke-width': isFailing ? 2.5 : 1.5, 'stroke-dasharray': event.kind === 'mikey' ? '6 3' : null, class: 'arrow' }),
        arrowHead(x2, y, dir, color),
        el('text', { x: mid, y: y - 7, 'text-anchor': 'middle', fill: color, 'font-size': 12, 'font-weight': isFailing ? 'bold' : 'normal', class: 'label' }, `${isFailing ? '✗ ' : ''}${truncate(label)}`),
        el('text', { x: mid, y: y + 15, 'text-anchor': 'middle', fill: isFailing ? FAIL_COLOR : MUTED, 'font-size': 10, class: 'detail' }, truncate(eventDetail(event), 80)),
      ]));
    }
    y += ROW / 2;
  }
  if (events.length === 0) {
    rows.push(el('text', { x: WIDTH / 2, y: y + 10, 'text-anchor': 'middle', fill: MUTED, 'font-size': 12 }, 'no protocol event was recorded'));
    y += ROW;
  }
  const height = y + 24;

  const lanes = (['ue', 'bmsc'] as const).map((lane) => {
    const x = LANE_X[lane];
    // Under the box: who plays the lane and where it sent from (the name may be long: a SUT name
    // with its injected faults), truncated to the lane's width; the full text is in the tooltip.
    const under = [laneName(lane), laneEndpoint(lane)].filter(Boolean).join(' · ');
    return el('g', { class: 'lane', 'data-role': lane, 'data-sut': lane === sutLane ? 'true' : 'false' }, [
      el('title', {}, [laneTitle(lane), under].filter(Boolean).join('\n')),
      el('rect', { x: x - 150, y: 20, width: 300, height: 34, rx: 4, fill: lane === sutLane ? '#e3f2fd' : '#f1f8e9', stroke: INK }),
      el('text', { x, y: 42, 'text-anchor': 'middle', 'font-size': 13, 'font-weight': 'bold', fill: INK }, laneTitle(lane)),
      under ? el('text', { x, y: 70, 'text-anchor': 'middle', 'font-size': 11, fill: MUTED }, truncate(under, 64)) : null,
      el('line', { x1: x, y1: 54, x2: x, y2: height - 12, stroke: '#90a4ae', 'stroke-width': 1 }),
    ]);
  });

  const svg = el('svg', {
    xmlns: 'http://www.w3.org/2000/svg', width: WIDTH, height, viewBox: `0 0 ${WIDTH} ${height}`,
    'font-family': 'DejaVu Sans Mono, Menlo, Consolas, monospace', role: 'img',
    'aria-label': opts.title ?? 'Ladder diagram of the protocol exchange',
  }, [
    el('title', {}, opts.title ?? 'Ladder diagram'),
    el('rect', { x: 0, y: 0, width: WIDTH, height, fill: '#ffffff' }),
    lanes,
    rows,
  ]);
  return `<?xml version="1.0" encoding="UTF-8"?>\n${render(svg, 'xml')}\n`;
}

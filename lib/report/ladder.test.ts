import { test, expect } from '@playwright/test';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { ladderSvg, mikeyKind } from './ladder.ts';
import { sampleTrace } from './test-cases.ts';
import type { TraceEvent } from './types.ts';
import type { MikeyMessage, Payload } from '../mikey/index.ts';

interface Node { [k: string]: unknown }
const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@_', isArray: (name) => name === 'g' || name === 'text' || name === 'line' || name === 'polygon' || name === 'rect' });

function parse(svg: string): Node {
  expect(XMLValidator.validate(svg)).toBe(true);
  return (parser.parse(svg) as { svg: Node }).svg;
}
const groups = (svg: Node): Node[] => (svg.g as Node[]) ?? [];
const byClass = (svg: Node, cls: string): Node[] => groups(svg).filter((g) => String(g['@_class']).split(' ').includes(cls));
const texts = (g: Node): string[] => ((g.text as unknown[]) ?? []).map((t) => (typeof t === 'object' ? String((t as Node)['#text'] ?? '') : String(t)));

test('two lanes, UE and BM-SC, the SUT one marked', () => {
  const svg = parse(ladderSvg(sampleTrace(), { roles: { sut: 'bmsc', sutName: 'acme-bmsc' } }));
  const lanes = byClass(svg, 'lane');
  expect(lanes.map((l) => l['@_data-role'])).toEqual(['ue', 'bmsc']);
  expect(lanes.map((l) => l['@_data-sut'])).toEqual(['false', 'true']);
  expect(texts(lanes[1]!).join(' ')).toContain('BM-SC — SUT');
  expect(texts(lanes[1]!).join(' ')).toContain('acme-bmsc · 127.0.0.2');
  expect(texts(lanes[0]!).join(' ')).toContain('UE — tester');
});

test('one arrow per HTTP/MIKEY event, pointing from sender lane to receiver lane, labelled', () => {
  const trace = sampleTrace();
  const svg = parse(ladderSvg(trace, { roles: { sut: 'bmsc' } }));
  const events = byClass(svg, 'event');
  expect(events.map((e) => Number(e['@_data-event-id']))).toEqual([1, 2, 3, 4, 5]);
  const arrows = events.filter((e) => e['@_data-kind'] !== 'note');
  expect(arrows).toHaveLength(4);
  const laneX = Object.fromEntries(byClass(svg, 'lane').map((l) => [l['@_data-role'], Number(((l.line as Node[])[0]!)['@_x1'])]));
  for (const a of arrows) {
    const line = (a.line as Node[])[0]!;
    const head = ((a.polygon as Node[])[0]!['@_points'] as string).split(' ')[0]!.split(',').map(Number);
    const from = a['@_data-from'] as string;
    const to = from === 'ue' ? 'bmsc' : 'ue';
    expect(Number(line['@_x1'])).toBe(laneX[from]);
    expect(head[0]).toBe(laneX[to]);
  }
  // tester = UE when the BM-SC is under test: the request goes UE -> BM-SC, the 401 back.
  expect(events[0]!['@_data-from']).toBe('ue');
  expect(events[1]!['@_data-from']).toBe('bmsc');
  expect(texts(events[0]!).join('|')).toContain('POST /keymanagement?requesttype=msk-request');
  expect(texts(events[1]!).join('|')).toContain('401 Unauthorized challenge');
  expect(texts(events[3]!).join('|')).toMatch(/MIKEY MSK\s+V=1\s+ctr=7/);
  expect(texts(events[4]!).join('|')).toMatch(/MIKEY ACK\s+V=0\s+ctr=7/);
  // timings relative to the first event
  expect(texts(events[0]!)).toContain('+0.000 ms');
  expect(texts(events[4]!)).toContain('+20.250 ms');
});

test('the lanes swap when the UE is under test', () => {
  const svg = parse(ladderSvg(sampleTrace(), { roles: { sut: 'ue' } }));
  const events = byClass(svg, 'event');
  // actor 'tester' is now the BM-SC
  expect(events[0]!['@_data-from']).toBe('bmsc');
  expect(byClass(svg, 'lane').find((l) => l['@_data-sut'] === 'true')!['@_data-role']).toBe('ue');
});

test('failing events and the failing step are marked in red, others are not', () => {
  const svg = parse(ladderSvg(sampleTrace(), {
    roles: { sut: 'bmsc' }, failingEvents: [4],
    steps: [{ index: 1, title: 'request', verdict: 'PASS', events: [1, 2, 3] }, { index: 2, title: 'receive MSK', verdict: 'FAIL', events: [4, 5] }],
  }));
  const failing = byClass(svg, 'failing').filter((g) => g['@_data-event-id'] !== undefined);
  expect(failing.map((g) => g['@_data-event-id'])).toEqual(['4']);
  expect((failing[0]!.line as Node[])[0]!['@_stroke']).toBe('#c62828');
  const ok = byClass(svg, 'event').find((g) => g['@_data-event-id'] === '5')!;
  expect((ok.line as Node[])[0]!['@_stroke']).not.toBe('#c62828');
  const steps = byClass(svg, 'step');
  expect(steps.map((s) => s['@_data-step'])).toEqual(['1', '2']);
  expect(String(steps[1]!['@_class'])).toContain('failing');
  expect(texts(steps[1]!).join('')).toContain('[FAIL]');
  expect(String(steps[0]!['@_class'])).not.toContain('failing');
});

test('untrusted text from the SUT is escaped, not interpreted', () => {
  const trace = sampleTrace();
  const evil = '/x"><script>alert(1)</script>&amp;\u0001';
  (trace[0] as Extract<TraceEvent, { kind: 'http-request' }>).target = evil;
  (trace[1] as Extract<TraceEvent, { kind: 'http-response' }>).reason = "O'Reilly <b>";
  const raw = ladderSvg(trace, { roles: { sut: 'bmsc', sutName: '<img src=x>' } });
  expect(raw).not.toContain('<script>');
  expect(raw).not.toContain('<img');
  const svg = parse(raw);
  const first = byClass(svg, 'event')[0]!;
  expect(texts(first).join('|')).toContain('<script>alert(1)</script>&amp;');
});

test('MIKEY kinds: MSK, MTK, trigger, ACK, undecodable', () => {
  const ext = (ids: [number, number[]][]): Payload => ({ type: 'EXT', extType: 3, keyIds: ids.map(([idType, v]) => ({ idType, value: Buffer.from(v) })) });
  const msg = (dataType: number, payloads: Payload[]): { message: MikeyMessage } => ({ message: { hdr: { dataType, v: false, csbId: 1 }, payloads } });
  expect(mikeyKind(msg(0, [ext([[0, [0, 0xf1, 0x10]], [1, [0, 1, 0, 2]]])]))).toBe('MIKEY MSK');
  expect(mikeyKind(msg(0, [ext([[0, [0, 0xf1, 0x10]], [1, [0, 1, 0, 2]], [2, [0, 5]]])]))).toBe('MIKEY MTK');
  expect(mikeyKind(msg(0, [ext([[0, [0, 0xf1, 0x10]], [1, [0, 0, 0, 0]], [2, [0, 0]]])]))).toBe('MIKEY trigger');
  expect(mikeyKind(msg(1, []))).toBe('MIKEY ACK');
  expect(mikeyKind({ decodeError: { offset: 3, payload: 'HDR', reason: 'short' } })).toBe('MIKEY (undecodable)');
});

test('an empty trace still renders a valid diagram', () => {
  const svg = parse(ladderSvg([], { roles: { sut: 'ue' } }));
  expect(byClass(svg, 'lane')).toHaveLength(2);
  expect(byClass(svg, 'event')).toHaveLength(0);
});

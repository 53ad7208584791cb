// Trace queries, live notification (waitFor) and correlation per UE.
import { test, expect } from '@playwright/test';
import { Trace, TraceWaitAbortedError, btidOf, type HttpRequestEvent, type TraceEvent } from './index.ts';

const UE1 = { address: '10.0.0.1', port: 40001 };
const UE1_MIKEY = { address: '10.0.0.1', port: 4359 };
const UE2 = { address: '10.0.0.2', port: 40002 };
const UE2_MIKEY = { address: '10.0.0.2', port: 4359 };
const BMSC = { address: '10.0.0.9', port: 80 };
const BMSC_MIKEY = { address: '10.0.0.9', port: 5000 };

const auth = (user: string) => `Digest username="${user}", realm="bmsc.example.com", nonce="n", uri="/keys", response="00000000000000000000000000000000", qop=auth, nc=00000001, cnonce="c"`;

function sample(): Trace {
  const t = new Trace();
  const req1 = t.append({ kind: 'http-request', time: 10, frames: [4, 5], src: UE1, dst: BMSC, actor: 'ue', conn: 1, method: 'POST', target: '/keys', headers: [['Authorization', auth('btid-1@bsf')]], body: Buffer.from('x') });
  t.append({ kind: 'http-request', time: 11, frames: [8], src: UE2, dst: BMSC, actor: 'ue', conn: 2, method: 'POST', target: '/keys', headers: [['Authorization', auth('btid-2@bsf')]], body: Buffer.alloc(0) });
  t.append({ kind: 'http-response', time: 12, frames: [9], src: BMSC, dst: UE1, actor: 'bmsc', conn: 1, status: 200, reason: 'OK', headers: [], body: Buffer.alloc(0), requestId: req1.id });
  t.append({ kind: 'mikey', time: 13, frames: [10], src: BMSC_MIKEY, dst: UE1_MIKEY, actor: 'bmsc', bytes: Buffer.from('01', 'hex') });
  t.append({ kind: 'mikey', time: 14, frames: [11], src: UE1_MIKEY, dst: BMSC_MIKEY, actor: 'ue', bytes: Buffer.from('02', 'hex') });
  t.append({ kind: 'mikey', time: 15, frames: [12], src: BMSC_MIKEY, dst: UE2_MIKEY, actor: 'bmsc', bytes: Buffer.from('03', 'hex') });
  t.append({ kind: 'note', time: 16, frames: [], src: BMSC, dst: UE1, actor: 'tester', text: 'trigger push' });
  return t;
}

test('ids increase from 1 and queries select by kind, conn, time, frame, endpoint', () => {
  const t = sample();
  expect(t.events.map((e) => e.id)).toEqual([1, 2, 3, 4, 5, 6, 7]);
  expect(t.lastId).toBe(7);
  expect(t.byKind('mikey').map((e) => e.id)).toEqual([4, 5, 6]);
  expect(t.byConn(1).map((e) => e.id)).toEqual([1, 3]);
  expect(t.between(11, 13).map((e) => e.id)).toEqual([2, 3, 4]);
  expect(t.byFrame(5).map((e) => e.id)).toEqual([1]);
  expect(t.byActor('bmsc').map((e) => e.id)).toEqual([3, 4, 6]);
  expect(t.mikeyTo({ address: '10.0.0.1' }).map((e) => e.id)).toEqual([4]);
  expect(t.mikeyTo({ port: 4359 }).map((e) => e.id)).toEqual([4, 6]);
  expect(t.mikeyFrom({ address: '::ffff:10.0.0.1', port: 4359 }).map((e) => e.id)).toEqual([5]);
  expect(t.get(3)?.kind).toBe('http-response');
  expect(t.get(99)).toBeUndefined();
});

test('request/response pairing', () => {
  const t = sample();
  const req = t.get(1) as HttpRequestEvent;
  expect(t.responseTo(req)?.id).toBe(3);
  expect(t.requestOf(t.responseTo(1)!)?.id).toBe(1);
  expect(t.responseTo(2)).toBeUndefined();
  expect(t.exchanges().map((x) => [x.request.id, x.response?.id])).toEqual([[1, 3], [2, undefined]]);
});

test('B-TID from the Authorization username, also from incomplete credentials', () => {
  expect(btidOf([['authorization', auth('a@b')]])).toBe('a@b');
  expect(btidOf([['Authorization', 'Digest username="only\\"quoted"']])).toBe('only"quoted');
  expect(btidOf([['Host', 'x']])).toBeUndefined();
});

test('correlation per UE by address joins HTTP (B-TID) and MIKEY; without address only B-TID and MIKEY endpoint', () => {
  const t = sample();
  const groups = t.correlate();
  expect(groups.map((g) => [g.key, g.btids, g.addresses, g.events])).toEqual([
    ['btid-1@bsf', ['btid-1@bsf'], ['10.0.0.1'], [1, 3, 4, 5]],
    ['btid-2@bsf', ['btid-2@bsf'], ['10.0.0.2'], [2, 6]],
  ]);
  expect(groups[0].mikeyEndpoints).toEqual([UE1_MIKEY]);
  const strict = t.correlate({ byAddress: false });
  expect(strict.map((g) => [g.key, g.events])).toEqual([
    ['btid-1@bsf', [1, 3]],
    ['btid-2@bsf', [2]],
    ['10.0.0.1:4359', [4, 5]],
    ['10.0.0.2:4359', [6]],
  ]);
  expect(t.eventsOfUe('btid-2@bsf').map((e) => e.id)).toEqual([2, 6]);
  expect(t.eventsOfUe('10.0.0.1').map((e) => e.id)).toEqual([1, 3, 4, 5]);
});

test('live actors: the tester role decides which side is the UE', () => {
  const t = new Trace({ testerRole: 'bmsc' });
  t.append({ kind: 'mikey', time: 1, frames: [1], src: BMSC_MIKEY, dst: UE1_MIKEY, actor: 'tester', bytes: Buffer.alloc(1) });
  t.append({ kind: 'mikey', time: 2, frames: [2], src: UE1_MIKEY, dst: BMSC_MIKEY, actor: 'sut', bytes: Buffer.alloc(1) });
  expect(t.events.map((e) => t.sentByUe(e))).toEqual([false, true]);
  expect(t.events.map((e) => t.ueEndpoint(e))).toEqual([UE1_MIKEY, UE1_MIKEY]);
  expect(t.correlate().map((g) => g.events)).toEqual([[1, 2]]);
});

const mikeyAt = (time: number) => ({ kind: 'mikey' as const, time, frames: [], src: BMSC_MIKEY, dst: UE1_MIKEY, actor: 'sut' as const, bytes: Buffer.alloc(1) });

test('waitFor resolves with the first matching new event', async () => {
  const t = new Trace();
  const waiting = t.waitFor((e) => e.kind === 'mikey' && e.time > 1, 5_000);
  t.append(mikeyAt(1));
  queueMicrotask(() => t.append(mikeyAt(2)));
  const got = await waiting;
  expect(got?.id).toBe(2);
});

test('waitFor resolves undefined at the timeout', async () => {
  const t = new Trace();
  expect(await t.waitFor(() => true, 20)).toBeUndefined();
});

test('waitFor with `after` sees events appended before the call; without it only new ones', async () => {
  const t = new Trace();
  const before = t.lastId;
  t.append(mikeyAt(1)); // the answer came before the wait started
  expect((await t.waitFor((e) => e.kind === 'mikey', 20, { after: before }))?.id).toBe(1);
  expect(await t.waitFor((e) => e.kind === 'mikey', 20)).toBeUndefined();
});

test('waitFor rejects on abort and leaves no listener behind', async () => {
  const t = new Trace();
  const controller = new AbortController();
  const waiting = t.waitFor(() => true, 10_000, controller.signal);
  controller.abort(new Error('case cancelled'));
  await expect(waiting).rejects.toBeInstanceOf(TraceWaitAbortedError);
  await expect(t.waitFor(() => true, 10_000, controller.signal)).rejects.toThrow(/case cancelled/);
  const seen: TraceEvent[] = [];
  const stop = t.onEvent((e) => seen.push(e));
  t.append(mikeyAt(3));
  stop();
  t.append(mikeyAt(4));
  expect(seen.map((e) => e.id)).toEqual([1]);
});

// The rules across messages (history.ts), as both drivers ask them.
import { test, expect } from '@playwright/test';
import { ackCrossingMs, judgeCopyCsbId, judgeCounter, judgeMtkId, judgeNoKeyInBody, judgeRandPerMsk, validForUe } from './history.ts';

const ok = (outcomes: { ok: boolean }[]) => outcomes.map((o) => o.ok);
const bytes = Buffer.from('0100', 'hex');

test('mikey.counter: above every earlier one and at least 1; a non-refreshed retransmission repeats the octets', () => {
  expect(ok(judgeCounter(1n, undefined, { key: 'muk', freshTs: true, bytes }))).toEqual([true]);
  expect(ok(judgeCounter(0n, undefined, { key: 'muk', freshTs: true, bytes }))).toEqual([false]);
  expect(ok(judgeCounter(5n, { value: 5n, where: 'frame 3' }, { key: 'msk', freshTs: true, bytes }))).toEqual([false]);
  expect(ok(judgeCounter(6n, { value: 5n, where: 'frame 3' }, { key: 'msk', freshTs: true, bytes }))).toEqual([true]);
  // freshTs false: the copy is the original again, its counter not judged
  const retx = { bytes, where: 'frame 1' };
  expect(judgeCounter(5n, { value: 5n, where: 'frame 1' }, { key: 'muk', freshTs: false, bytes, retransmissionOf: retx })).toMatchObject([{ check: 'mikey.retransmission', ok: true }]);
  expect(judgeCounter(6n, { value: 5n, where: 'frame 1' }, { key: 'muk', freshTs: false, bytes: Buffer.from('0101', 'hex'), retransmissionOf: retx })).toMatchObject([{ check: 'mikey.retransmission', ok: false }]);
  // freshTs true: a retransmission reusing the counter fails the counter rule
  expect(judgeCounter(5n, { value: 5n, where: 'frame 1' }, { key: 'muk', freshTs: true, bytes, retransmissionOf: retx })).toMatchObject([{ check: 'mikey.counter', ok: false }]);
});

test('mikey.rand-per-msk: the first delivery sets the RAND, a later one must repeat it', () => {
  const a = Buffer.alloc(16, 1);
  expect(judgeRandPerMsk(a, undefined, 'x')).toEqual([]);
  expect(ok(judgeRandPerMsk(a, { rand: Buffer.from(a), where: 'frame 2' }, 'x'))).toEqual([true]);
  expect(ok(judgeRandPerMsk(a, { rand: Buffer.alloc(16, 2), where: 'frame 2' }, 'x'))).toEqual([false]);
});

test('mikey.mtk-id: never down; a repeat keeps its MTK; a new MTK goes up', () => {
  const prev = { value: 3n, where: 'frame 9', key: Buffer.alloc(16, 1) };
  expect(ok(judgeMtkId(4n, prev, { newMtk: true }))).toEqual([true]);
  expect(ok(judgeMtkId(3n, prev, { newMtk: false, key: Buffer.alloc(16, 1) }))).toEqual([true]); // the same MTK again
  expect(ok(judgeMtkId(3n, prev, { newMtk: false, key: Buffer.alloc(16, 2) }))).toEqual([false]); // another MTK, same ID
  expect(ok(judgeMtkId(3n, prev, { newMtk: true }))).toEqual([false]);
  expect(ok(judgeMtkId(2n, prev, { newMtk: false }))).toEqual([false]);
  expect(judgeMtkId(1n, undefined, { newMtk: false })).toEqual([]);
});

test('msk-response.no-key: the MSK in the body as octets, hex or base64 fails; the message names no key', () => {
  const msk = Buffer.from('2b7e151628aed2a6abf7158809cf4f3c', 'hex');
  expect(judgeNoKeyInBody(Buffer.from('<ok/>'), msk, 'd/m').ok).toBe(true);
  for (const body of [`<k>${msk.toString('hex')}</k>`, `<k>${msk.toString('hex').toUpperCase()}</k>`, `<k>${msk.toString('base64')}</k>`]) {
    const o = judgeNoKeyInBody(Buffer.from(body), msk, 'd/m');
    expect(o.ok).toBe(false);
    expect(JSON.stringify(o)).not.toContain(msk.toString('hex'));
  }
});

test('validity for the UE: every message check, the MAC and a fresh counter; unknown without the MAC', () => {
  const pass = { check: 'mikey.mac', ok: true, message: '' };
  const nullEnc = { check: 'mikey.encr-alg', ok: false, message: 'NULL' };
  expect(validForUe({ checks: [pass], macValid: true }, true)).toBe(true);
  expect(validForUe({ checks: [pass, nullEnc], macValid: true }, true)).toBe(false);
  expect(validForUe({ checks: [pass], macValid: true }, false)).toBe(false);
  expect(validForUe({ checks: [pass], macValid: false }, true)).toBe(false);
  expect(validForUe({ checks: [pass], macValid: undefined as unknown as boolean }, true)).toBeUndefined();
  expect(ackCrossingMs({ retransmission: { intervalMs: 300, count: 2, freshTs: true }, timers: { ackMs: 200 } } as never)).toBe(500);
});

test('mikey.csb-id: a copy keeps its delivery\'s CSB ID when O10 draws per delivery or fixes it; drawn per message, nothing to judge', () => {
  const original = { csbId: 0x1234, where: 'frame 1' };
  expect(judgeCopyCsbId(0x1234, original, 'random-per-delivery')).toMatchObject([{ check: 'mikey.csb-id', ok: true }]);
  expect(judgeCopyCsbId(0x9999, original, 'random-per-delivery')).toMatchObject([{ check: 'mikey.csb-id', ok: false, actual: '00009999' }]);
  expect(judgeCopyCsbId(0x9999, original, 'fixed-per-muk')).toMatchObject([{ ok: false }]);
  expect(judgeCopyCsbId(0x9999, original, 'random-per-message')).toEqual([]);
});

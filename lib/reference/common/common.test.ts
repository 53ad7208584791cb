import { test, expect } from '@playwright/test';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:http';
import { createSocket } from 'node:dgram';
import {
  ReferenceListenError, bindUdp, closeHttp, closeUdp, listenHttp,
  CounterBook, ControlServer, ReservationJournal, FaultSet, JsonStateStore, UnknownFaultError, callControlApi, controlApiEndpoints,
  controlApiValidator, readConfigFile, type FaultDefinition,
} from './index.ts';

const table: FaultDefinition[] = [
  { name: 'bmsc-a', role: 'bmsc', description: 'does a', violates: 'RFC 0 §1', procedure: 'msk-request' },
  { name: 'bmsc-b', role: 'bmsc', description: 'does b', violates: 'RFC 0 §2', procedure: 'mtk-update' },
];

test.describe('FaultSet', () => {
  test('accepts known names and refuses unknown ones without changing the set', () => {
    const faults = new FaultSet('bmsc', table, ['bmsc-b']);
    expect(faults.active()).toEqual(['bmsc-b']);
    expect(faults.has('bmsc-b')).toBe(true);
    expect(faults.has('bmsc-a')).toBe(false);
    expect(() => faults.set(['bmsc-a', 'bmsc-typo'])).toThrow(UnknownFaultError);
    expect(faults.active()).toEqual(['bmsc-b']);
    expect(() => faults.has('bmsc-typo')).toThrow(UnknownFaultError);
  });

  test('a table with a duplicate or a mis-prefixed name is refused', () => {
    expect(() => new FaultSet('bmsc', [table[0]!, table[0]!])).toThrow(/duplicate/);
    expect(() => new FaultSet('ue', [{ ...table[0]!, role: 'ue' }])).toThrow(/must start with 'ue-'/);
  });
});

test.describe('JsonStateStore, CounterBook and its reservation journal', () => {
  const journalIn = (dir: string) => join(dir, 'state.json.counters');

  test('counters continue strictly above every value handed out before a restart, under any key', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ref-state-'));
    const handedOut: number[] = [];
    for (const block of [1, 5]) {
      const journal = new ReservationJournal(journalIn(dir));
      const book = new CounterBook({ reserveBlock: block, journal });
      for (let i = 0; i < 3; i++) handedOut.push(book.next('muk:x'));
      book.next('muk:other');
      journal.close();
    }
    // A third process start sees everything the previous two may have sent.
    const book = new CounterBook({ journal: new ReservationJournal(journalIn(dir)) });
    handedOut.push(book.next('muk:x'));
    for (let i = 1; i < handedOut.length; i++) expect(handedOut[i]).toBeGreaterThan(handedOut[i - 1]!);
    expect(handedOut.slice(0, 3)).toEqual([1, 2, 3]);
    // The first start reserved one value at a time (up to 4, muk:other's); the second started above
    // them, at 5, and reserved blocks of 5: 5..10 when muk:x got 5, 7..12 ahead once values came within
    // half a block, so the third start skips to 13.
    expect(handedOut.slice(3, 6)).toEqual([5, 6, 7]);
    expect(handedOut[6]).toBeGreaterThan(8);
    expect(readdirSync(dir)).toEqual(['state.json.counters']); // no temporary file left behind
  });

  test('a value is covered by a reservation on disk when it is returned', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ref-state-'));
    const book = new CounterBook({ reserveBlock: 1000, journal: new ReservationJournal(journalIn(dir)) });
    const value = book.next('msk:00f110/00010001');
    const onDisk = Math.max(...readFileSync(journalIn(dir), 'utf8').trim().split('\n').map(Number));
    expect(onDisk).toBeGreaterThanOrEqual(value);
    expect(book.reserved).toBe(onDisk);
  });

  test('in the steady state no value waits for the disk: the next block is reserved in the background', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ref-state-'));
    const journal = new ReservationJournal(journalIn(dir));
    let waited = 0;
    const reserve = journal.reserve.bind(journal);
    journal.reserve = (ceiling: number) => { waited++; reserve(ceiling); };
    const book = new CounterBook({ reserveBlock: 100, journal });
    // 10,000 values over 100 keys, 20 per event-loop turn: the background write has time to land
    for (let turn = 0; turn < 500; turn++) {
      for (let i = 0; i < 20; i++) book.next(`muk:ue${(turn * 20 + i) % 100}`);
      await new Promise((resolve) => setImmediate(resolve));
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    expect(waited).toBe(1); // the first value only: nothing was reserved before it
    // one journal line per block, not per value nor per key
    const lines = readFileSync(journalIn(dir), 'utf8').trim().split('\n');
    expect(lines.length).toBeLessThanOrEqual(10_000 / 50 + 2);
    expect(Math.max(...lines.map(Number))).toBeGreaterThanOrEqual(10_000 / 100);
  });

  test('a torn last line after a crash is an older, smaller ceiling; a long journal is compacted', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ref-state-'));
    writeFileSync(journalIn(dir), `${Array.from({ length: 2000 }, (_, i) => i + 1).join('\n')}\n150\n20`);
    const journal = new ReservationJournal(journalIn(dir));
    expect(journal.durable).toBe(2000);
    expect(new CounterBook({ journal }).next('muk:x')).toBe(2001);
    journal.close();
    expect(readFileSync(journalIn(dir), 'utf8').trim().split('\n').length).toBeLessThanOrEqual(2);
  });

  test('a state file from before the journal: every counter starts above its ceilings', () => {
    const book = new CounterBook({ floor: 41 });
    expect(book.next('muk:x')).toBe(42);
    expect(book.next('muk:y')).toBe(42);
  });

  test('a corrupt state file is reported with its path', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ref-state-'));
    const path = join(dir, 'state.json');
    writeFileSync(path, '{"counters": ');
    expect(() => new JsonStateStore(path).load()).toThrow(/state\.json: state file is not valid JSON/);
  });
});

test.describe('readConfigFile', () => {
  test('errors name the file, line and field', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ref-config-'));
    const path = join(dir, 'c.yaml');
    writeFileSync(path, 'nafFqdn: bmsc.example.com\nusers:\n  - btid: a@b\n    ksNaf: nothex\n');
    const file = readConfigFile(path);
    const error = file.error(['users', 0, 'ksNaf'], 'must be 64 hex digits');
    expect(error.message).toBe(`${path}:4: users[0].ksNaf: must be 64 hex digits`);
    writeFileSync(path, 'a: [1, 2\n');
    expect(() => readConfigFile(path)).toThrow(new RegExp(`${path.replace(/[.]/g, '\\.')}: line \\d`));
  });
});

test.describe('ControlServer', () => {
  test('serves JSON, validates bodies against the schema and answers errors as JSON', async () => {
    let pushed: unknown;
    const server = new ControlServer({
      role: 'bmsc',
      info: { product: 'test' },
      handlers: {
        'POST /push': ({ body }) => { pushed = body; return { messages: [] }; },
        'GET /faults': () => new FaultSet('bmsc', table).toJSON(),
        'GET /state': () => ({ wrong: true }), // does not match BmscState
      },
    });
    const at = await server.listen({ address: '127.0.0.1', port: 0 });
    try {
      const info = await callControlApi(at, 'GET', '/info');
      expect(info).toEqual({ status: 200, body: { role: 'bmsc', apiVersion: 1, product: 'test' } });

      expect(await callControlApi(at, 'POST', '/push', { btid: 'u@bsf' })).toEqual({ status: 200, body: { messages: [] } });
      expect(pushed).toEqual({ btid: 'u@bsf' });

      const bad = await callControlApi(at, 'POST', '/push', { btid: 'u@bsf', msk: { keyDomainId: 'zz', mskId: '1' } });
      expect(bad.status).toBe(400);
      expect(bad.body.error.code).toBe('ERR_CONTROL_SCHEMA');

      const missing = await callControlApi(at, 'POST', '/push', {});
      expect(missing.status).toBe(400);

      const notFound = await callControlApi(at, 'GET', '/nothing');
      expect(notFound.status).toBe(404);
      expect(notFound.body.error.code).toBe('ERR_CONTROL_NOT_FOUND');

      const wrongMethod = await callControlApi(at, 'GET', '/push');
      expect(wrongMethod.status).toBe(405);

      const notImplemented = await callControlApi(at, 'POST', '/mtk-update', {});
      expect(notImplemented.status).toBe(501);

      const drift = await callControlApi(at, 'GET', '/state');
      expect(drift.status).toBe(500);
      expect(drift.body.error.code).toBe('ERR_CONTROL_RESPONSE_SCHEMA');

      const raw = await fetch(`http://127.0.0.1:${at.port}/push`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: '{}' });
      expect(raw.status).toBe(415);
      const notJson = await fetch(`http://127.0.0.1:${at.port}/push`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{' });
      expect(notJson.status).toBe(400);
      expect((await notJson.json()).error.code).toBe('ERR_CONTROL_JSON');
    } finally {
      await server.close();
    }
  });

  test('a body over maxBodyBytes is a 413 with ERR_CONTROL_TOO_LARGE; one at the limit is read', async () => {
    let pushed: unknown;
    const server = new ControlServer({
      role: 'bmsc', info: { product: 'test' }, maxBodyBytes: 32,
      handlers: { 'POST /push': ({ body }) => { pushed = body; return { messages: [] }; } },
    });
    const at = await server.listen({ address: '127.0.0.1', port: 0 });
    try {
      const atLimit = JSON.stringify({ btid: 'u'.repeat(32 - '{"btid":""}'.length) });
      expect(Buffer.byteLength(atLimit)).toBe(32);
      const fits = await fetch(`http://127.0.0.1:${at.port}/push`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: atLimit });
      expect(fits.status).toBe(200);
      expect(pushed).toEqual(JSON.parse(atLimit));
      const tooLarge = await fetch(`http://127.0.0.1:${at.port}/push`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ btid: 'u'.repeat(64) }) });
      expect(tooLarge.status).toBe(413);
      expect((await tooLarge.json()).error.code).toBe('ERR_CONTROL_TOO_LARGE');
    } finally {
      await server.close();
    }
  });

  test('refuses a handler the schema does not list', () => {
    expect(() => new ControlServer({ role: 'ue', info: { product: 'x' }, handlers: { 'POST /push': () => ({}) } }))
      .toThrow(/not in control-api\.schema\.json/);
  });

  test('every endpoint names request and response schemas that exist', () => {
    for (const role of ['bmsc', 'ue'] as const) {
      for (const spec of controlApiEndpoints(role)) {
        if (spec.request) expect(() => controlApiValidator(spec.request!)).not.toThrow();
        expect(spec.response, `${role} ${spec.method} ${spec.path}`).toBeTruthy();
        expect(() => controlApiValidator(spec.response!)).not.toThrow();
      }
    }
  });
});

test('sockets report the endpoint they bound, and a port in use is a ReferenceListenError naming the socket', async () => {
  const first = createServer();
  const http = await listenHttp(first, 'BM-SC HTTP', { address: '127.0.0.1', port: 0 });
  expect(http.address).toBe('127.0.0.1');
  expect(http.port).toBeGreaterThan(0);
  const second = createServer();
  const httpError = await listenHttp(second, 'BM-SC HTTP', http).catch((e: unknown) => e);
  expect(httpError).toBeInstanceOf(ReferenceListenError);
  expect(httpError).toMatchObject({ systemCode: 'EADDRINUSE', socket: 'BM-SC HTTP', port: http.port });
  // The error listener is gone once the socket is up (a later server error is not taken for a bind failure).
  expect(first.listenerCount('error')).toBe(0);
  await closeHttp(first);

  const udp = createSocket('udp4');
  const mikey = await bindUdp(udp, 'UE MIKEY', { address: '127.0.0.1', port: 0 });
  expect(mikey.port).toBeGreaterThan(0);
  const other = createSocket('udp4');
  const udpError = await bindUdp(other, 'UE MIKEY', mikey).catch((e: unknown) => e);
  expect(udpError).toMatchObject({ code: 'ERR_REFERENCE_LISTEN', systemCode: 'EADDRINUSE', socket: 'UE MIKEY', port: mikey.port });
  await closeUdp(udp);
  await closeUdp(other);
});

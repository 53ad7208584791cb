// The engine against SUTs that misbehave in the ways a real one can: silent, closing connections, untriggerable,
// failing to start, lacking a capability. Each ends in the verdict DESIGN.md asks for, within bounded time.
import { test, expect } from '@playwright/test';
import { mkdtempSync, writeFileSync, existsSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { referenceProfile } from '../mbms/index.ts';
import { runCase, runCaseJudged } from './engine.ts';
import { TriggerError } from './errors.ts';
import { loadSuiteFile, type CaseDef } from './loader.ts';
import type { SutProvider, SutSession, SutAdapter } from './sut.ts';

const dir = mkdtempSync(join(tmpdir(), 'engine-'));

function caseOf(steps: string, extra = ''): CaseDef {
  const file = join(dir, `c${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(file, `# yaml-language-server: $schema=../../lib/suite/suite.schema.json
role: bmsc
clause: "6.3.1"
procedure: msk-request
title: t
cases:
  - id: bmsc/6.3.1/99
    title: a case
    requirement: the SUT must
    references: ["x"]
    severity: normal
    mandatory: true
${extra}    steps:
${steps}`);
  return loadSuiteFile(file).cases[0]!;
}

const profile = referenceProfile();
profile.timers = { ...profile.timers, httpMs: 300, deliverMs: 200, silenceMs: 100 };

function provider(open: () => Promise<Omit<SutSession, 'adapter' | 'close'> & { adapter?: SutAdapter; close?: () => Promise<void> }>, caps: Record<string, unknown> = { 'msk-request': true, 'msk-push': true, 'solicited-pull': true, 'mtk-update': true }): SutProvider {
  return {
    name: 'fake', role: 'bmsc', embedded: false, profile,
    capabilities: { role: 'bmsc', name: 'fake', capabilities: caps },
    testerAddress: () => '127.0.0.1',
    open: async () => {
      const s = await open();
      return { adapter: s.adapter ?? { kind: 'none', trigger: async (a) => { throw new TriggerError(a, 'cannot'); } }, close: s.close ?? (async () => undefined), ...s };
    },
  };
}

function server(onConnection: (s: import('node:net').Socket) => void): Promise<{ server: Server; port: number }> {
  const srv = createServer(onConnection);
  return new Promise((resolve) => srv.listen(0, '127.0.0.1', () => resolve({ server: srv, port: (srv.address() as { port: number }).port })));
}

const identity = { btid: 'b@bsf', ksNaf: Buffer.alloc(32, 7) };
const keys = { subscribed: [{ keyDomainId: Buffer.from('00f110', 'hex'), mskId: 0x00010001 }], unsubscribed: [] };

test('a BM-SC that never answers is a FAIL with evidence after T_http, not a hang', async () => {
  const { server: srv, port } = await server(() => undefined);
  const c = caseOf('      - http-request: { as: r1 }\n      - expect-http-response: { to: r1, status: 401 }\n');
  const started = Date.now();
  const r = await runCaseJudged(c, { sut: provider(async () => ({ nafFqdn: 'b.invalid', http: { address: '127.0.0.1', port }, identity, unknownIdentity: identity, keys })) });
  srv.close();
  expect(r.verdict).toBe('FAIL');
  const f = r.findings.find((x) => x.verdict === 'FAIL')!;
  expect(f.check).toBe('http.response');
  expect(f.actual).toMatch(/no HTTP response within 300 ms/);
  expect(f.evidence.frames.length).toBeGreaterThan(0);
  expect(Date.now() - started).toBeLessThan(10_000);
  expect(r.pcapPath && existsSync(r.pcapPath)).toBeTruthy();
});

test('a connection closed without a response, and a refused connection, are FAILs', async () => {
  const { server: srv, port } = await server((s) => s.end());
  const c = caseOf('      - http-request: { as: r1 }\n      - expect-http-response: { to: r1, status: 401 }\n');
  const r = await runCase(c, { sut: provider(async () => ({ nafFqdn: 'b.invalid', http: { address: '127.0.0.1', port }, identity, unknownIdentity: identity, keys })) });
  expect(r.verdict).toBe('FAIL');
  srv.close();
  const refused = await runCase(c, { sut: provider(async () => ({ nafFqdn: 'b.invalid', http: { address: '127.0.0.1', port: 1 }, identity, unknownIdentity: identity, keys })) });
  expect(refused.verdict).toBe('FAIL');
  expect(String(refused.findings.find((x) => x.verdict === 'FAIL')!.actual)).toMatch(/ECONNREFUSED|connection error/);
});

test('a SUT that cannot be triggered is INCONC and the later steps are not run', async () => {
  const c = caseOf('      - trigger: { action: msk-push }\n      - expect-mikey: { kind: msk }\n');
  const r = await runCase(c, { sut: provider(async () => ({ nafFqdn: 'b.invalid', identity, unknownIdentity: identity, keys })) });
  expect(r.verdict).toBe('INCONC');
  expect(r.steps).toHaveLength(1);
});

test('a case needing a trigger action the SUT profile does not offer is NOT-APPLICABLE, before anything runs', async () => {
  const c = caseOf('      - trigger: { action: rotate-msk }\n      - expect-mikey: { kind: msk }\n');
  let opened = false;
  const sut = { ...provider(async () => { opened = true; return { nafFqdn: 'b.invalid', identity, unknownIdentity: identity, keys }; }), triggerActions: ['msk-push'] as const };
  const r = await runCase(c, { sut });
  expect(r.verdict).toBe('NOT-APPLICABLE');
  expect(r.findings[0]!.message).toMatch(/gives no way to trigger 'rotate-msk'/);
  expect(opened).toBe(false);
  // an action it offers runs as usual
  const push = await runCase(caseOf('      - trigger: { action: msk-push }\n      - expect-mikey: { kind: msk }\n'), { sut });
  expect(push.verdict).toBe('INCONC'); // this fake's trigger fails: the case ran
});

test('a missing MIKEY message within T_deliver is a FAIL naming the window', async () => {
  const c = caseOf('      - trigger: { action: msk-push }\n      - expect-mikey: { kind: msk, within: deliver }\n');
  const adapter: SutAdapter = { kind: 'control-api', trigger: async () => ({ summary: 'ok' }) };
  const r = await runCaseJudged(c, { sut: provider(async () => ({ nafFqdn: 'b.invalid', identity, unknownIdentity: identity, keys, adapter })) });
  expect(r.verdict).toBe('FAIL');
  const f = r.findings.find((x) => x.verdict === 'FAIL')!;
  expect(f.check).toBe('mikey.delivery');
  expect(f.message).toMatch(/within 200 ms/);
  expect(f.evidence.events.length).toBeGreaterThan(0);
});

test('harness faults are ERROR; applicability decides NOT-APPLICABLE without opening the SUT; a missing capability is ERROR', async () => {
  const c = caseOf('      - http-request: {}\n');
  const broken = await runCase(c, { sut: provider(async () => { throw new Error('reference failed to bind'); }) });
  expect(broken.verdict).toBe('ERROR');
  let opened = false;
  const na = await runCase(caseOf('      - http-request: {}\n', '    applicability: solicited-pull && !msk-push\n'), { sut: provider(async () => { opened = true; throw new Error('x'); }) });
  expect(na.verdict).toBe('NOT-APPLICABLE');
  expect(opened).toBe(false);
  const missing = await runCase(caseOf('      - http-request: {}\n', '    applicability: digest.stale\n'), { sut: provider(async () => { throw new Error('x'); }) });
  expect(missing.verdict).toBe('ERROR');
  expect(missing.findings[0]!.message).toMatch(/does not define 'digest.stale'/);
});

test('a case stopped by its time bound is never PASS', async () => {
  const c = caseOf('      - trigger: { action: msk-push }\n      - expect-silence: { window: 5000 }\n      - expect-silence: { window: 100 }\n');
  const adapter: SutAdapter = { kind: 'control-api', trigger: async () => ({ summary: 'ok' }) };
  const r = await runCase(c, { sut: provider(async () => ({ nafFqdn: 'b.invalid', identity, unknownIdentity: identity, keys, adapter })), caseTimeoutMs: 300 });
  expect(r.verdict).not.toBe('PASS');
  expect(r.verdict).toBe('INCONC');
  // The cut-short window is not reported as observed silence.
  expect(r.findings.filter((f) => f.check === 'silence').map((f) => f.verdict)).toEqual(['INCONC']);
});

test('a challenge no UE can answer (unknown algorithm) is the SUT failing, not a harness ERROR', async () => {
  const answer = 'HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Digest realm="3GPP-bootstrapping@b.invalid", nonce="n", algorithm=FOO-9\r\nContent-Length: 0\r\n\r\n';
  const { server: srv, port } = await server((s) => s.once('data', () => s.end(answer)));
  const c = caseOf('      - http-request: { as: r1 }\n      - expect-http-response: { to: r1, as: c1, status: 401 }\n      - http-request: { as: r2, auth: digest, challenge: c1 }\n');
  const r = await runCase(c, { sut: provider(async () => ({ nafFqdn: 'b.invalid', http: { address: '127.0.0.1', port }, identity, unknownIdentity: identity, keys })) });
  srv.close();
  expect(r.verdict).toBe('FAIL');
  expect(r.findings.find((f) => f.verdict === 'FAIL')!.check).toBe('digest.challenge');
});

test('a BM-SC that bursts its retransmissions instead of spacing them fails P-B2', async () => {
  const { buildMskMessage, mikeyProfile } = await import('../mikey/index.ts');
  const { createSocket } = await import('node:dgram');
  const c = caseOf('      - trigger: { as: push, action: msk-push, v: true }\n      - expect-mikey: { as: msk1, kind: msk, count: 1, within: deliver, v: set }\n      - expect-mikey: { as: retx, kind: msk, count: retransmissions, within: retransmissions, retransmissionOf: msk1 }\n');
  const udp = createSocket('udp4');
  await new Promise<void>((r) => udp.bind(0, '127.0.0.1', () => r()));
  const rand = Buffer.alloc(16, 9);
  // A profile interval (2 s, the §9 default) far above any stall of a loaded host: the tester only fails
  // a gap that is short even allowing for how late it read the earlier copy (loop-monitor.ts).
  const spaced = structuredClone(profile);
  spaced.retransmission = { ...spaced.retransmission, intervalMs: 2000 };
  const sut: SutProvider = {
    ...provider(async () => ({ nafFqdn: 'b.invalid', identity, unknownIdentity: identity, keys })),
    profile: spaced,
    open: async (req) => ({
      nafFqdn: 'b.invalid', identity, unknownIdentity: identity, keys, close: async () => undefined,
      adapter: {
        kind: 'control-api',
        trigger: async () => {
          // The original and all its copies at once, each with a fresh COUNTER and a valid MAC.
          for (let counter = 1; counter <= 1 + profile.retransmission.count; counter++) {
            const m = buildMskMessage({ muk: identity.ksNaf, csbId: 0x01020304 + counter, counter, rand, keyDomainId: Buffer.from('00f110', 'hex'), mskId: 0x00010001, msk: Buffer.alloc(16, 5), v: true, idi: 'b.invalid', idr: identity.btid, profile: mikeyProfile(profile.mikey as Parameters<typeof mikeyProfile>[0]) });
            udp.send(m.bytes, req.testerMikey!.port, req.testerMikey!.address);
          }
          return { summary: 'sent' };
        },
      },
    }),
  };
  const r = await runCase(c, { sut });
  udp.close();
  expect(r.verdict).toBe('FAIL');
  expect(r.findings.filter((f) => f.verdict === 'FAIL').map((f) => f.check)).toContain('mikey.retransmission-interval');
  // Everything else about the copies was right: the interval is the only complaint.
  expect([...new Set(r.findings.filter((f) => f.verdict === 'FAIL').map((f) => f.check))]).toEqual(['mikey.retransmission-interval']);
});

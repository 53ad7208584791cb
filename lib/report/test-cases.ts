// Small CaseResults for the unit tests of lib/report (not exported from index.ts).
import type { CaseResult, TraceEvent, Verdict } from './types.ts';

const UE = { address: '127.0.0.1', port: 40000 };
const BMSC = { address: '127.0.0.2', port: 8080 };
const BMSC_UDP = { address: '127.0.0.2', port: 4359 };
const UE_UDP = { address: '127.0.0.1', port: 4359 };

export function sampleTrace(t0 = 1_700_000_000_000): TraceEvent[] {
  return [
    { id: 1, kind: 'http-request', time: t0 + 1, frames: [4], src: UE, dst: BMSC, actor: 'tester', conn: 1, method: 'POST', target: '/keymanagement?requesttype=msk-request', headers: [], body: Buffer.from('<x/>') },
    { id: 2, kind: 'http-response', time: t0 + 3.5, frames: [6], src: BMSC, dst: UE, actor: 'sut', conn: 1, status: 401, reason: 'Unauthorized', headers: [['WWW-Authenticate', 'Digest realm="3GPP-bootstrapping@b", nonce="n1", qop="auth-int"']], body: Buffer.alloc(0), requestId: 1 },
    { id: 3, kind: 'note', time: t0 + 4, frames: [], src: UE, dst: UE, actor: 'tester', text: 'answer the challenge' },
    { id: 4, kind: 'mikey', time: t0 + 20, frames: [9], src: BMSC_UDP, dst: UE_UDP, actor: 'sut', bytes: Buffer.from('0100', 'hex'),
      message: { hdr: { dataType: 0, v: true, csbId: 0x01020304 }, payloads: [{ type: 'EXT', extType: 3, keyIds: [{ idType: 1, value: Buffer.from([0, 1, 0, 2]) }] }, { type: 'T', tsType: 2, tsValue: 7n }] } },
    { id: 5, kind: 'mikey', time: t0 + 21.25, frames: [10], src: UE_UDP, dst: BMSC_UDP, actor: 'tester', bytes: Buffer.from('0101', 'hex'),
      message: { hdr: { dataType: 1, v: false, csbId: 0x01020304 }, payloads: [{ type: 'T', tsType: 2, tsValue: 7n }] } },
  ];
}

export function sampleCase(id: string, verdict: Verdict, overrides: Partial<CaseResult> = {}): CaseResult {
  const t0 = overrides.startedAt ?? 1_700_000_000_000;
  const failing = verdict === 'FAIL' || verdict === 'ERROR';
  const finding = { verdict, check: failing ? 'mikey.mac' : 'mikey.mac', message: failing ? 'MAC does not verify' : 'MAC verifies', evidence: { events: [4], frames: [9] }, step: 1, ...(failing ? { expected: 'aa', actual: 'bb' } : {}) };
  return {
    id, role: 'bmsc', clause: id.split('/')[1] ?? '6.3.1', procedure: 'UE-initiated MSK request', title: `case ${id}`, requirement: 'the BM-SC delivers the MSK',
    references: ['RFC 3830 §5.2'], severity: 'critical', tags: ['t'], mandatory: true,
    verdict, findings: [finding],
    steps: [{ index: 1, action: 'mikey.expect', title: 'receive the MSK message', verdict, startedAt: t0, durationMs: 21, events: [1, 2, 3, 4, 5], findings: [finding] }],
    trace: sampleTrace(t0), sut: { name: 'reference-bmsc', role: 'bmsc', embedded: true }, startedAt: t0, durationMs: 25,
    ...overrides,
  };
}

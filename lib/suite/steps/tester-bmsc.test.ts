// Tests of the UE-role step handlers against a scripted UE on loopback: a plain node:http client whose Digest
// response is computed in this file with node:crypto MD5 (RFC 2617 §3.2.2, an implementation independent of
// lib/digest), made deliberately wrong in one directive at a time, and a UDP socket receiving send-mikey's
// datagrams. Each deviation must end in a FAIL naming the directive, with expected and actual values.

import { test, expect } from '@playwright/test';
import { createHash } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { mkdtempSync } from 'node:fs';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAuthenticationInfo, parseChallenges, type DigestChallenge } from '../../digest/index.ts';
import { buildMskRequestBody, referenceProfile } from '../../mbms/index.ts';
import { readKeyMessage } from '../../mikey/index.ts';
import { TesterBmsc } from '../../peers/index.ts';
import { LiveTrace } from '../../trace/index.ts';
import type { CaseRun } from '../context.ts';
import type { CaseDef, StepDef } from '../loader.ts';
import { VerdictTracker } from '../verdict.ts';
import { expectHttpRequest, respondHttp } from './tester-bmsc-http.ts';
import { productTokens } from '../verify/http-request.ts';
import { sendMikey } from './tester-bmsc-mikey.ts';

const BTID = 'ue-steps-test@bsf.mbms-conform.invalid';
const KS_NAF = Buffer.alloc(32, 7);
const PASSWORD = KS_NAF.toString('base64');
const DOMAIN = Buffer.from('00f110', 'hex');
const TARGET = '/keymanagement?requesttype=msk-request';

interface Harness { run: CaseRun; bmsc: TesterBmsc; ue: Socket; close(): Promise<void> }

async function harness(options: { embedded?: boolean } = {}): Promise<Harness> {
  const profile = referenceProfile();
  const trace = new LiveTrace({ pcapPath: join(mkdtempSync(join(tmpdir(), 'ue-steps-')), 'case.pcap'), testerRole: 'bmsc' });
  const bmsc = await TesterBmsc.start({ trace, bindAddress: '127.0.0.1', httpPort: 0, mikeyPort: 0 });
  const ue = createSocket('udp4');
  await new Promise<void>((resolve) => ue.bind(0, '127.0.0.1', () => resolve()));
  const controller = new AbortController();
  const step = { index: 0, action: 'expect-http-request', params: {}, line: 1 } as StepDef;
  const run = {
    def: { id: 'ue/test/01', role: 'ue', steps: [step] } as unknown as CaseDef,
    provider: { embedded: options.embedded ?? true },
    session: {
      nafFqdn: 'bmsc.mbms-conform.invalid', mikey: { address: '127.0.0.1', port: ue.address().port },
      identity: { btid: BTID, ksNaf: KS_NAF }, unknownIdentity: { btid: 'x@y', ksNaf: Buffer.alloc(32) },
      keys: { subscribed: [{ keyDomainId: DOMAIN, mskId: 0x00010001 }], unsubscribed: [] },
    },
    profile, capabilities: {}, trace, tracker: new VerdictTracker(), bmsc, signal: controller.signal, named: new Map(), step,
    last: {}, consumed: new Set(), counters: new Map(), randByMsk: new Map(), mtkIds: new Map(), nonces: [], deliveredMsks: [], log: () => undefined,
  } as unknown as CaseRun;
  return {
    run, bmsc, ue,
    close: async () => { controller.abort(); await bmsc.close(); ue.close(); trace.close(); },
  };
}

const md5 = (s: string | Buffer): string => createHash('md5').update(s).digest('hex');

/** RFC 2617 §3.2.2.1 with qop=auth-int, computed here (not with lib/digest); `fault` changes one directive. */
function authorization(challenge: DigestChallenge, body: Buffer, fault: Partial<Record<'nc' | 'realm' | 'uri' | 'qop' | 'password' | 'nonce', string>> = {}): string {
  const realm = fault.realm ?? challenge.realm;
  const uri = fault.uri ?? TARGET;
  const qop = fault.qop ?? 'auth-int';
  const nc = fault.nc ?? '00000001';
  const nonce = fault.nonce ?? challenge.nonce;
  const cnonce = 'c0ffee01';
  const ha1 = md5(`${BTID}:${realm}:${fault.password ?? PASSWORD}`);
  const ha2 = md5(qop === 'auth-int' ? `POST:${uri}:${md5(body)}` : `POST:${uri}`);
  const response = md5(`${ha1}:${nonce}:${nc}:${cnonce}:${qop}:${ha2}`);
  return `Digest username="${BTID}", realm="${realm}", nonce="${nonce}", uri="${uri}", qop=${qop}, nc=${nc}, cnonce="${cnonce}", response="${response}", opaque="${challenge.opaque}", algorithm=MD5`;
}

interface Answer { status: number; headers: IncomingHttpHeaders; body: Buffer }

function post(bmsc: TesterBmsc, body: Buffer, headers: Record<string, string>): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: bmsc.http.address, port: bmsc.http.port, method: 'POST', path: TARGET, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const BODY = Buffer.from(buildMskRequestBody([{ keyDomainId: DOMAIN, mskId: 0x00010001 }], referenceProfile()), 'utf8');
const HEADERS = { 'Content-Type': 'application/mbms-msk+xml', 'User-Agent': 'vendor-ue/2.1 (model X) 3gpp-gba' };

/** Runs a step handler with params (the run's current step is set like the engine does). */
async function step(run: CaseRun, handler: typeof expectHttpRequest, action: string, params: Record<string, unknown>) {
  run.step = { index: run.step.index + 1, action, params, line: 1 } as StepDef;
  return handler(run, params);
}

/** First exchange: unauthenticated POST answered 401 through the handlers; returns the challenge. */
async function challengeRound(h: Harness): Promise<DigestChallenge> {
  const answer = post(h.bmsc, BODY, HEADERS);
  await step(h.run, expectHttpRequest, 'expect-http-request', { as: 'req1', within: 2000, auth: 'none', headers: true, body: 'msk-request' });
  await step(h.run, respondHttp, 'respond-http', { to: 'req1', as: 'c1', status: 401 });
  const a = await answer;
  expect(a.status).toBe(401);
  return parseChallenges(String(a.headers['www-authenticate']))[0]!;
}

const fails = (run: CaseRun) => run.tracker.findings.filter((f) => f.verdict === 'FAIL');

test.describe('expect-http-request / respond-http', () => {
  test('User-Agent product tokens ignore versions and comments', () => {
    expect(productTokens('vendor-ue/2.1 (model X; 3gpp-gba) 3gpp-gba/1')).toEqual(['vendor-ue', '3gpp-gba']);
    expect(productTokens('mbms-conform-reference-ue/0.1')).toEqual(['mbms-conform-reference-ue']);
  });

  test('a correct exchange passes every check and the 200 OK carries an rspauth for the UE', async () => {
    const h = await harness();
    try {
      const challenge = await challengeRound(h);
      const answer = post(h.bmsc, BODY, { ...HEADERS, Authorization: authorization(challenge, BODY) });
      await step(h.run, expectHttpRequest, 'expect-http-request', { as: 'req2', within: 2000, auth: 'digest', nonce: 'challenge', nc: 1, btid: 'same', headers: true, body: 'msk-request' });
      await step(h.run, respondHttp, 'respond-http', { to: 'req2', status: 200, rspauth: 'valid', nextnonce: true });
      const a = await answer;
      expect(a.status).toBe(200);
      const info = parseAuthenticationInfo(String(a.headers['authentication-info']));
      // rspauth of RFC 2617 §3.2.3 recomputed here: A2 = ":" uri ":" H(response body)
      const ha1 = md5(`${BTID}:${challenge.realm}:${PASSWORD}`);
      expect(info.rspauth).toBe(md5(`${ha1}:${challenge.nonce}:00000001:c0ffee01:auth-int:${md5(`:${TARGET}:${md5(a.body)}`)}`));
      expect(fails(h.run)).toEqual([]);
      expect(h.run.tracker.final()).toBe('PASS');
      expect(h.run.last.granted).toEqual([0x00010001]);
    } finally {
      await h.close();
    }
  });

  for (const [fault, check, expected] of [
    [{ nc: '00000000' }, 'digest.nc', '00000001'],
    [{ realm: '3GPP-bootstrapping-digest@bmsc.mbms-conform.invalid' }, 'digest.realm', undefined],
    [{ uri: '/keymanagement' }, 'digest.uri', TARGET],
    [{ qop: 'auth' }, 'digest.qop', 'auth-int'],
    [{ password: Buffer.alloc(32, 8).toString('base64') }, 'digest.response', undefined],
  ] as const) {
    test(`a request with ${JSON.stringify(fault)} fails ${check}`, async () => {
      const h = await harness();
      try {
        const challenge = await challengeRound(h);
        const answer = post(h.bmsc, BODY, { ...HEADERS, Authorization: authorization(challenge, BODY, fault) });
        await step(h.run, expectHttpRequest, 'expect-http-request', { as: 'req2', within: 2000, auth: 'digest', nonce: 'challenge', nc: 1 });
        await step(h.run, respondHttp, 'respond-http', { to: 'req2', status: 403 });
        await answer;
        const f = fails(h.run);
        expect(f.map((x) => x.check)).toEqual([check]);
        if (expected !== undefined) expect(f[0]!.expected).toBe(expected);
        if (check === 'digest.realm') expect(f[0]!.expected).toBe(challenge.realm);
        expect(f[0]!.evidence.frames.length).toBeGreaterThan(0);
        expect(h.run.tracker.final()).toBe('FAIL');
      } finally {
        await h.close();
      }
    });
  }

  test('a missing User-Agent token and a wrong media type fail the header checks', async () => {
    const h = await harness();
    try {
      const answer = post(h.bmsc, BODY, { 'Content-Type': 'text/xml', 'User-Agent': 'vendor-ue/2.1' });
      await step(h.run, expectHttpRequest, 'expect-http-request', { as: 'req1', within: 2000, headers: true, body: 'msk-request' });
      await step(h.run, respondHttp, 'respond-http', { to: 'req1', status: 401 });
      await answer;
      expect(fails(h.run).map((f) => f.check).sort()).toEqual(['http.content-type', 'http.user-agent']);
    } finally {
      await h.close();
    }
  });

  test('using the old nonce where the nextnonce is required fails digest.nonce; no request at all fails and stops', async () => {
    const h = await harness();
    try {
      const challenge = await challengeRound(h);
      const ok = post(h.bmsc, BODY, { ...HEADERS, Authorization: authorization(challenge, BODY) });
      await step(h.run, expectHttpRequest, 'expect-http-request', { as: 'req2', within: 2000, auth: 'digest' });
      await step(h.run, respondHttp, 'respond-http', { to: 'req2', status: 200, nextnonce: true });
      await ok;
      const again = post(h.bmsc, BODY, { ...HEADERS, Authorization: authorization(challenge, BODY, { nc: '00000002' }) });
      await step(h.run, expectHttpRequest, 'expect-http-request', { as: 'req3', within: 2000, auth: 'digest', nonce: 'nextnonce' });
      await step(h.run, respondHttp, 'respond-http', { to: 'req3', status: 200 });
      await again;
      expect(fails(h.run).map((f) => f.check)).toEqual(['digest.nonce']);
      const outcome = await step(h.run, expectHttpRequest, 'expect-http-request', { as: 'req4', within: 50 });
      expect(outcome).toBe('stop');
      expect(fails(h.run).map((f) => f.check)).toEqual(['digest.nonce', 'http.request']);
    } finally {
      await h.close();
    }
  });
});

test.describe('credentials on a nonce of an earlier session', () => {
  const old: DigestChallenge = { realm: '3GPP-bootstrapping@bmsc.mbms-conform.invalid', nonce: 'bm9uY2Ugb2YgYSBmb3JtZXIgc2Vzc2lvbg==', opaque: 'gone', extra: {} };

  for (const [what, fault, stale, failing] of [
    ['a correct digest is judged and answered stale=TRUE', {}, true, []],
    ['a wrong digest fails and is answered without stale', { password: Buffer.alloc(32, 9).toString('base64') }, undefined, ['digest.response']],
  ] as const) {
    test(what, async () => {
      const h = await harness();
      try {
        const answer = post(h.bmsc, BODY, { ...HEADERS, Authorization: authorization(old, BODY, { nc: '00000005', ...fault }).replace(/, opaque="gone"/, '') });
        await step(h.run, expectHttpRequest, 'expect-http-request', { as: 'req1', within: 2000, auth: 'any' });
        await step(h.run, respondHttp, 'respond-http', { to: 'req1', status: 401 });
        const a = await answer;
        expect(parseChallenges(String(a.headers['www-authenticate']))[0]!.stale).toBe(stale);
        expect(fails(h.run).map((f) => f.check)).toEqual(failing);
      } finally {
        await h.close();
      }
    });
  }
});

test.describe('send-mikey', () => {
  test('counters, replays and MTK IDs follow the step parameters on the wire', async () => {
    const h = await harness();
    const received: Buffer[] = [];
    h.ue.on('message', (b) => received.push(b));
    // event-driven wait, bounded: resolves on the n-th datagram
    const waitFor = (n: number) => new Promise<void>((resolve, reject) => {
      if (received.length >= n) { resolve(); return; }
      const timer = setTimeout(() => { h.ue.off('message', check); reject(new Error(`only ${received.length} of ${n} datagrams`)); }, 2000);
      function check() { if (received.length >= n) { clearTimeout(timer); h.ue.off('message', check); resolve(); } }
      h.ue.on('message', check);
    });
    try {
      const mikey = h.run.profile.mikey;
      await step(h.run, sendMikey, 'send-mikey', { as: 'msk1', kind: 'msk', v: true, counter: 'next' });
      await step(h.run, sendMikey, 'send-mikey', { as: 'jump', kind: 'msk', keyIds: 'next', counter: 'plus:1000' });
      await step(h.run, sendMikey, 'send-mikey', { as: 'older', kind: 'msk', keyIds: 'same-as:msk1', counter: 'minus-one:jump' });
      await step(h.run, sendMikey, 'send-mikey', { as: 'again', kind: 'msk', replay: 'msk1' });
      await step(h.run, sendMikey, 'send-mikey', { as: 'mtk1', kind: 'mtk', msk: 'msk1', key: 'msk', counter: 'next', to: 'bearer' });
      await step(h.run, sendMikey, 'send-mikey', { as: 'mtk2', kind: 'mtk', msk: 'msk1', key: 'msk', counter: 'next' });
      await step(h.run, sendMikey, 'send-mikey', { as: 'low', kind: 'mtk', msk: 'msk1', key: 'msk', counter: 'same-as:mtk2', mtkId: 'lower-than:mtk2' });
      await waitFor(7);
      const msk = readKeyMessage(received[0]!, { psk: KS_NAF }, mikey);
      expect([msk.macValid, msk.counter, msk.v]).toEqual([true, 1, true]);
      const jump = readKeyMessage(received[1]!, { psk: KS_NAF }, mikey);
      expect([jump.counter, jump.keyIds.mskId?.toString('hex')]).toEqual([1001, '00010002']);
      const older = readKeyMessage(received[2]!, { psk: KS_NAF }, mikey);
      expect([older.macValid, older.counter, older.keyIds.mskId?.toString('hex')]).toEqual([true, 1000, '00010001']);
      expect(received[3]!.equals(received[0]!)).toBe(true);
      const mskKey = msk.keyData[0]!.key;
      const rand = msk.rand!;
      const [m1, m2, low] = [received[4]!, received[5]!, received[6]!].map((b) => readKeyMessage(b, { psk: mskKey, rand }, mikey));
      expect([m1!.macValid, m1!.counter, m1!.keyIds.mtkId?.readUInt16BE(0)]).toEqual([true, 1, 1]);
      expect([m2!.counter, m2!.keyIds.mtkId?.readUInt16BE(0)]).toEqual([2, 2]);
      expect([low!.macValid, low!.counter, low!.keyIds.mtkId?.readUInt16BE(0)]).toEqual([true, 2, 1]);
      // what later steps need: the octets and the MUK of the acknowledged message
      expect(h.run.named.get('msk1')?.sent?.[0]?.bytes.equals(received[0]!)).toBe(true);
      expect(h.run.named.get('msk1')?.sent?.[0]?.key?.equals(KS_NAF)).toBe(true);
    } finally {
      await h.close();
    }
  });
});

test('against an external UE the COUNTERs and Key Numbers continue from the previous case', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ue-state-'));
  const before = process.env.MBMS_STATE_DIR;
  process.env.MBMS_STATE_DIR = dir;
  try {
    const counters: number[][] = [];
    const mskIds: string[][] = [];
    for (let round = 0; round < 2; round++) {
      const h = await harness({ embedded: false });
      const got: Buffer[] = [];
      const three = new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`only ${got.length} datagrams`)), 2000);
        h.ue.on('message', (b) => { got.push(b); if (got.length === 3) { clearTimeout(timer); resolve(); } });
      });
      try {
        await step(h.run, sendMikey, 'send-mikey', { as: 'msk1', kind: 'msk', v: false, counter: 'next' });
        await step(h.run, sendMikey, 'send-mikey', { as: 'msk2', kind: 'msk', keyIds: 'next', v: false, counter: 'plus:10' });
        // MTK under MSK 00010002 both times: the new MSK of case 1, the current one of case 2
        await step(h.run, sendMikey, 'send-mikey', { as: 'mtk1', kind: 'mtk', msk: round === 0 ? 'msk2' : 'msk1', key: 'msk', counter: 'next' });
        await three;
        const readings = got.map((b) => readKeyMessage(b, { psk: KS_NAF }, h.run.profile.mikey));
        counters.push(readings.map((r) => r.counter!));
        mskIds.push(readings.map((r) => r.keyIds.mskId!.toString('hex')));
      } finally {
        await h.close();
      }
    }
    // case 1: MUK 1, 11; MSK 00010002: 1. Case 2 starts above them: MUK 12, 22; MSK 00010002: 2.
    expect(counters).toEqual([[1, 11, 1], [12, 22, 2]]);
    // the newest MSK of the group stays current, and "next" is really new (protocol §6.2)
    expect(mskIds).toEqual([['00010001', '00010002', '00010002'], ['00010002', '00010003', '00010002']]);
  } finally {
    if (before === undefined) delete process.env.MBMS_STATE_DIR;
    else process.env.MBMS_STATE_DIR = before;
  }
});

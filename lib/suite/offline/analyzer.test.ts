// The offline checks one by one on synthetic captures (synthetic.ts: lib/mikey builders, lib/digest,
// TapRecorder), each built with one deviation, judged FAIL with the frames of the proving events, and
// with the deviation removed judged PASS — so that every check can fail and can pass.
import { ackCrossingMs } from '../verify/history.ts';
import { test, expect } from '@playwright/test';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { referenceProfile, type MbmsProfile } from '../../mbms/index.ts';
import { CsIdMapType, DataType, TsType, decodeMikey, encodeMikey } from '../../mikey/index.ts';
import { analysisJson, analyzeCapture, formatSummary, parseKeys, writeAllureResults, type AnalysisResult, type AnalyzeKeys, type ProcedureResult } from './index.ts';
import { SyntheticCapture } from './synthetic.ts';

const KS_NAF = Buffer.from('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f', 'hex');
const BTID = 'synthetic-btid@bsf.example.com';

function profile(): MbmsProfile {
  const p = referenceProfile();
  p.retransmission = { intervalMs: 150, count: 2, freshTs: true };
  return p;
}

function keysFor(...ues: { btid: string; ksNaf: Buffer }[]): AnalyzeKeys {
  return parseKeys(`ues:\n${ues.map((u) => `  - { btid: "${u.btid}", ksNaf: ${u.ksNaf.toString('hex')} }`).join('\n')}\n`);
}

async function judge(build: (c: SyntheticCapture) => void, opts: { keys?: AnalyzeKeys; profile?: MbmsProfile; onJudged?: (p: ProcedureResult) => void } = {}): Promise<AnalysisResult> {
  const p = opts.profile ?? profile();
  const path = join(mkdtempSync(join(tmpdir(), 'analyze-syn-')), 'c.pcap');
  const c = new SyntheticCapture(path, { profile: p, btid: BTID, ksNaf: KS_NAF });
  build(c);
  c.close();
  return analyzeCapture(path, { profile: p, keys: opts.keys ?? keysFor({ btid: BTID, ksNaf: KS_NAF }), onJudged: opts.onJudged });
}

const fails = (r: AnalysisResult) => r.procedures.flatMap((p) => p.findings.filter((f) => f.verdict === 'FAIL').map((f) => ({ procedure: p.id, check: f.check, frames: f.evidence.frames })));

const MSK = randomBytes(16);
const RAND = randomBytes(16);

test('push: V=1 message, ACK, nothing after it -> PASS; one copy crossing the ACK tolerated, a later or second one -> retransmission.after-ack FAIL', async () => {
  const good = await judge((c) => {
    const m = c.msk({ counter: 1, mskId: 0x00010001, msk: MSK, rand: RAND });
    c.advance(5).ack(m.bytes);
    c.advance(1000);
  });
  expect(good.procedures.map((p) => [p.id, p.verdict])).toEqual([['msk-push#1', 'PASS']]);
  expect(good.checks['ack.mac']!.PASS).toBe(1);

  // One copy already due when the ACK arrived (within one interval plus T_ack, verify/history.ts) crosses it.
  const crossing = ackCrossingMs(profile());
  const crossed = await judge((c) => {
    const m = c.msk({ counter: 1, mskId: 0x00010001, msk: MSK, rand: RAND });
    c.advance(5).ack(m.bytes);
    c.advance(50).msk({ counter: 2, mskId: 0x00010001, msk: MSK, rand: RAND });
    c.advance(1000);
  });
  expect(fails(crossed)).toEqual([]);

  // A second copy after the ACK is never a crossing.
  let copy: number[] = [];
  let ackFrames: number[] = [];
  const bad = await judge((c) => {
    const m = c.msk({ counter: 1, mskId: 0x00010001, msk: MSK, rand: RAND });
    ackFrames = c.advance(5).ack(m.bytes).frames;
    c.advance(50).msk({ counter: 2, mskId: 0x00010001, msk: MSK, rand: RAND }); // crosses the ACK: tolerated
    copy = c.advance(Math.min(crossing, profile().retransmission.intervalMs)).msk({ counter: 3, mskId: 0x00010001, msk: MSK, rand: RAND }).frames;
    c.advance(1000);
  });
  expect(fails(bad)).toEqual([{ procedure: 'msk-push#1', check: 'retransmission.after-ack', frames: [...ackFrames, ...copy] }]);
});

test('counter per MUK: a second push reusing the counter -> mikey.counter FAIL citing both messages', async () => {
  const frames: number[] = [];
  const r = await judge((c) => {
    const a = c.msk({ counter: 7, mskId: 0x00010001, msk: MSK, rand: RAND });
    c.advance(5).ack(a.bytes);
    frames.push(...a.frames);
    c.advance(1000);
    const b = c.msk({ counter: 7, mskId: 0x00010002, msk: randomBytes(16), rand: RAND, csbId: 99 });
    frames.push(...b.frames);
    c.advance(1000);
  });
  const f = fails(r).filter((x) => x.check === 'mikey.counter');
  expect(f).toEqual([{ procedure: 'msk-push#2', check: 'mikey.counter', frames }]);
  // the UE rightly did not acknowledge the replayed counter; the BM-SC never retransmitted the unacknowledged message
  expect(fails(r).map((x) => x.check).sort()).toEqual(['mikey.counter', 'retransmission.count']);
  // every FAIL is the BM-SC's
  expect(r.procedures.flatMap((p) => p.findings).filter((x) => x.verdict === 'FAIL').map((x) => x.blame)).toEqual(['bmsc', 'bmsc']);
  expect(r.procedures[1]!.checks['ack.iff-v']).toMatchObject({ PASS: 1, FAIL: 0 });
});

test('UE side: ACK to a bad-MAC message -> ack.bad-mac; ACK to V=0 -> ack.iff-v; no ACK to a valid V=1 -> ack.iff-v', async () => {
  let frames: number[] = [];
  const badMac = await judge((c) => {
    const m = c.msk({ counter: 1, mskId: 0x00010001, msk: MSK, rand: RAND, badMac: true });
    frames = [...m.frames, ...c.advance(3).ack(m.bytes).frames];
    c.advance(1000);
  });
  expect(fails(badMac)).toContainEqual({ procedure: 'msk-push#1', check: 'ack.bad-mac', frames });
  expect(fails(badMac)).toContainEqual(expect.objectContaining({ check: 'mikey.mac' }));

  const v0 = await judge((c) => {
    const m = c.msk({ counter: 1, mskId: 0x00010001, msk: MSK, rand: RAND, v: false });
    frames = [...m.frames, ...c.advance(3).ack(m.bytes).frames];
    c.advance(1000);
  });
  expect(fails(v0)).toEqual([{ procedure: 'msk-push#1', check: 'ack.iff-v', frames }]);

  const silent = await judge((c) => {
    frames = c.msk({ counter: 1, mskId: 0x00010001, msk: MSK, rand: RAND }).frames;
    c.advance(2000);
  });
  const checks = fails(silent).map((x) => x.check).sort();
  expect(checks).toEqual(['ack.iff-v', 'retransmission.count']);
  expect(fails(silent).find((x) => x.check === 'ack.iff-v')!.frames).toEqual(frames);
});

test('the capture ending inside a window is INCONC, not FAIL', async () => {
  const r = await judge((c) => { c.msk({ counter: 1, mskId: 0x00010001, msk: MSK, rand: RAND }); c.advance(100); });
  expect(r.verdict).toBe('INCONC');
  expect(r.checks['ack.iff-v']!.INCONC).toBe(1);
  expect(r.checks['ack.iff-v']!.FAIL).toBe(0);
});

test('6.3.1 over HTTP: Digest response and rspauth recomputed from Ks_NAF; wrong password / wrong rspauth -> FAIL', async () => {
  const run = (opts: { password?: string; wrongRspauth?: boolean }) => judge((c) => {
    c.mskRequest({ mskIds: [0x00010001], ...opts });
    const m = c.advance(10).msk({ counter: 1, mskId: 0x00010001, msk: MSK, rand: RAND });
    c.advance(5).ack(m.bytes);
    c.advance(1000);
  });
  const good = await run({});
  expect(good.procedures.map((p) => [p.id, p.verdict])).toEqual([['msk-request#1', 'PASS']]);
  for (const check of ['order.challenge', 'digest.response', 'digest.rspauth', 'order.mikey-after-200', 'ack.iff-v']) expect(good.checks[check]?.PASS, check).toBeGreaterThan(0);

  const wrongPassword = await run({ password: 'bm90IHRoZSBrZXk=' });
  expect(fails(wrongPassword).map((f) => f.check)).toContain('digest.response');
  const wrongRspauth = await run({ wrongRspauth: true });
  expect(fails(wrongRspauth).map((f) => f.check)).toEqual(['digest.rspauth']);
});

test('a 200 OK without a MIKEY MSK message within T_deliver -> delivery.msk-message FAIL', async () => {
  let ok: number[] = [];
  const r = await judge((c) => {
    ok = c.mskRequest({ mskIds: [0x00010001] }).frames.ok;
    c.advance(3000);
  });
  expect(fails(r)).toEqual([{ procedure: 'msk-request#1', check: 'delivery.msk-message', frames: ok }]);
});

test('MTK update: MAC under the MSK learnt from the MSK message; a lower MTK ID, old counter, V=1 and a reply -> FAIL; a repeat keeps its ID', async () => {
  const good = await judge((c) => {
    const m = c.msk({ counter: 1, mskId: 0x00010001, msk: MSK, rand: RAND });
    c.advance(5).ack(m.bytes);
    c.advance(500).mtk({ counter: 1, mskId: 0x00010001, mtkId: 1, msk: MSK, mskRand: RAND });
    const mtk2 = randomBytes(16);
    c.advance(500).mtk({ counter: 2, mskId: 0x00010001, mtkId: 2, msk: MSK, mskRand: RAND, mtk: mtk2 });
    c.advance(500).mtk({ counter: 3, mskId: 0x00010001, mtkId: 2, msk: MSK, mskRand: RAND, mtk: mtk2 }); // MTK 2 sent again
    c.advance(1000);
  });
  expect(good.verdict).toBe('PASS');
  expect(good.checks['mikey.mtk-id']!.PASS).toBe(2);
  expect(good.checks['mikey.mac']!.PASS).toBe(4);
  expect(good.checks['mtk.silence']!.PASS).toBe(3);

  const frames: Record<string, number[]> = {};
  const bad = await judge((c) => {
    const m = c.msk({ counter: 1, mskId: 0x00010001, msk: MSK, rand: RAND });
    c.advance(5).ack(m.bytes);
    frames.first = c.advance(500).mtk({ counter: 5, mskId: 0x00010001, mtkId: 3, msk: MSK, mskRand: RAND }).frames;
    frames.second = c.advance(500).mtk({ counter: 5, mskId: 0x00010001, mtkId: 2, msk: MSK, mskRand: RAND, v: true }).frames;
    frames.reply = c.advance(20).udpFromUe(Buffer.from('not even MIKEY'), c.bmsc.mikey).frames;
    c.advance(1000);
  });
  const mtkFails = fails(bad).filter((f) => f.procedure === 'mtk-update#1');
  expect(mtkFails).toEqual([
    { procedure: 'mtk-update#1', check: 'mikey.v-flag', frames: frames.second },
    { procedure: 'mtk-update#1', check: 'mikey.counter', frames: [...frames.first!, ...frames.second!] },
    { procedure: 'mtk-update#1', check: 'mikey.mtk-id', frames: [...frames.first!, ...frames.second!] },
    { procedure: 'mtk-update#1', check: 'mtk.silence', frames: [...frames.second!, ...frames.reply!] },
  ]);
});

test('MTK messages of an MSK whose delivery is not in the capture: judged with the keys file MSK, else INCONC', async () => {
  const build = (c: SyntheticCapture) => {
    c.mtk({ counter: 1, mskId: 0x00010005, mtkId: 1, msk: MSK, mskRand: RAND });
    c.advance(1000);
  };
  const without = await judge(build);
  expect(without.verdict).toBe('INCONC');
  const keys = parseKeys(`ues: [{ btid: "${BTID}", ksNaf: ${KS_NAF.toString('hex')} }]\nmsks:\n  - { keyDomainId: 00f110, mskId: "00010005", key: ${MSK.toString('hex')}, rand: ${RAND.toString('hex')} }\n`);
  const withKey = await judge(build, { keys });
  expect(withKey.verdict).toBe('PASS');
  expect(withKey.checks['mikey.mac']!.PASS).toBe(1);
  const wrongKey = await judge(build, { keys: parseKeys(`msks: [{ keyDomainId: 00f110, mskId: "00010005", key: ${randomBytes(16).toString('hex')}, rand: ${RAND.toString('hex')} }]\n`) });
  // a wrong MSK: the MAC fails (and the decrypted key data is garbage), nothing else
  expect(fails(wrongKey)[0]!.check).toBe('mikey.mac');
  for (const f of fails(wrongKey)) expect(['mikey.mac', 'mikey.key-data']).toContain(f.check);
  expect(wrongKey.checks['mikey.mac']!.FAIL).toBe(1);
});

test('solicited pull: trigger, ACK and a POST within T_pull -> PASS; no POST -> pull.request FAIL at the trigger', async () => {
  const good = await judge((c) => {
    const t = c.trigger({ counter: 1 });
    c.advance(3).ack(t.bytes);
    c.advance(50).mskRequest({ mskIds: [0x00010001] });
    const m = c.advance(10).msk({ counter: 2, mskId: 0x00010001, msk: MSK, rand: RAND });
    c.advance(5).ack(m.bytes);
    c.advance(1500);
  });
  expect(good.procedures.map((p) => [p.id, p.verdict])).toEqual([['solicited-pull#1', 'PASS'], ['msk-request#1', 'PASS']]);
  expect(good.checks['pull.request']!.PASS).toBe(1);
  expect(good.checks['trigger.key-ids']!.PASS).toBe(1);

  let trigger: number[] = [];
  const bad = await judge((c) => {
    const t = c.trigger({ counter: 1 });
    trigger = t.frames;
    c.advance(3).ack(t.bytes);
    c.advance(3000);
  });
  expect(fails(bad)).toEqual([{ procedure: 'solicited-pull#1', check: 'pull.request', frames: trigger }]);
});

test('several UEs in the keys file: the MUK whose MAC verifies names the UE of a push', async () => {
  const other = { btid: 'other@bsf.example.com', ksNaf: randomBytes(32) };
  const r = await judge((c) => {
    const m = c.msk({ counter: 1, mskId: 0x00010001, msk: MSK, rand: RAND });
    c.advance(5).ack(m.bytes);
    c.advance(1000);
  }, { keys: keysFor(other, { btid: BTID, ksNaf: KS_NAF }) });
  expect(r.verdict).toBe('PASS');
  expect(r.procedures[0]!.ue).toBe(BTID);
});

test('a 200 OK to a POST without credentials (no Digest challenge) -> http.status and digest.challenge FAIL at the 200, silence at the key', async () => {
  let ok: number[] = [];
  const r = await judge((c) => {
    ok = c.mskRequest({ mskIds: [0x00010001], noChallenge: true }).frames.ok;
    const m = c.advance(10).msk({ counter: 1, mskId: 0x00010001, msk: MSK, rand: RAND });
    c.advance(5).ack(m.bytes);
    c.advance(1000);
  });
  const got = fails(r);
  expect(got.map((f) => f.check)).toEqual(['http.status', 'digest.challenge', 'silence']);
  expect(got[0]!.frames).toEqual(ok);
  expect(got[1]!.frames).toEqual(ok);
});

test('O19: a MIKEY error message answering a bad-MAC MSK message is allowed with msk-only, a FAIL with never', async () => {
  const build = (c: SyntheticCapture) => {
    const m = c.msk({ counter: 1, mskId: 0x00010001, msk: MSK, rand: RAND, badMac: true });
    // RFC 3830 §6.12: HDR (data type 6), T, ERR 2 (authentication failure)
    const errorMessage = encodeMikey({
      hdr: { version: 1, dataType: DataType.ERROR, v: false, prf: 0, csbId: decodeMikey(m.bytes).hdr.csbId, csIdMapType: CsIdMapType.EMPTY, numCs: 0 },
      payloads: [{ type: 'T', tsType: TsType.COUNTER, tsValue: 1n }, { type: 'ERR', errorNo: 2 }],
    });
    c.advance(3).udpFromUe(errorMessage);
    c.advance(1000);
  };
  const never = await judge(build);
  expect(fails(never).map((f) => f.check)).toContain('mikey.error-message');
  const p = profile();
  p.errors.ueSendsErr = 'msk-only';
  const mskOnly = await judge(build, { profile: p });
  expect(fails(mskOnly).map((f) => f.check)).not.toContain('mikey.error-message');
  expect(mskOnly.checks['mikey.error-message']?.PASS).toBe(1);
});

// ---- one judge, blame on the right side (captures between two devices) ------------------------------

const failsBy = (r: AnalysisResult) => r.procedures.flatMap((p) => p.findings.filter((f) => f.verdict === 'FAIL').map((f) => `${f.blame ?? '-'}:${f.check}`)).sort();

test('a UE rightly ignoring a trigger with a bad MAC or a replayed counter is not blamed: the BM-SC is', async () => {
  const badMac = await judge((c) => {
    c.trigger({ counter: 1, badMac: true });
    c.advance(5000);
  });
  expect(failsBy(badMac)).toEqual(['bmsc:mikey.mac', 'bmsc:retransmission.count']);

  const replayed = await judge((c) => {
    const m = c.msk({ counter: 9, mskId: 0x00010001, msk: MSK, rand: RAND });
    c.advance(5).ack(m.bytes);
    c.advance(1000).trigger({ counter: 9 });
    c.advance(5000);
  });
  expect(failsBy(replayed)).toEqual(['bmsc:mikey.counter', 'bmsc:retransmission.count']);

  // an MSK request after the bad trigger is not held against the UE: the capture cannot show the trigger caused it
  const pulled = await judge((c) => {
    c.trigger({ counter: 1, badMac: true });
    c.advance(50).mskRequest({ mskIds: [0x00010001] });
    c.advance(5000);
  });
  expect(failsBy(pulled).filter((f) => f.startsWith('ue:'))).toEqual([]);
  expect(pulled.checks['pull.request']!.INCONC).toBe(1);
});

test('MSK messages with NULL encryption: the BM-SC FAILs, the UE that discards them does not', async () => {
  const r = await judge((c) => {
    c.msk({ counter: 1, mskId: 0x00010001, msk: MSK, rand: RAND, nullEncryption: true });
    c.advance(5000);
  });
  const fails = failsBy(r);
  expect(fails).toContain('bmsc:mikey.encr-alg');
  expect(fails.filter((f) => f.startsWith('ue:'))).toEqual([]);
});

test('the 200 OK with the MSK in clear fails msk-response.no-key, blamed on the BM-SC', async () => {
  const clean = await judge((c) => {
    c.mskRequest({ mskIds: [0x00010001] });
    const m = c.advance(20).msk({ counter: 1, mskId: 0x00010001, msk: MSK, rand: RAND });
    c.advance(5).ack(m.bytes);
    c.advance(2000);
  });
  expect(failsBy(clean)).toEqual([]);
  expect(clean.checks['msk-response.no-key']!.PASS).toBe(1);
  const leak = await judge((c) => {
    c.mskRequest({ mskIds: [0x00010001], okBodyExtra: `<!-- ${MSK.toString('hex')} -->` });
    const m = c.advance(20).msk({ counter: 1, mskId: 0x00010001, msk: MSK, rand: RAND });
    c.advance(5).ack(m.bytes);
    c.advance(2000);
  });
  expect(failsBy(leak)).toContain('bmsc:msk-response.no-key');
});

test('the UE\'s Digest is judged as live: nc on a reused nonce, uri without the query, qop=auth where auth-int is required', async () => {
  const grant = (c: SyntheticCapture, counter: number) => {
    const m = c.advance(20).msk({ counter, mskId: 0x00010001, msk: MSK, rand: RAND });
    c.advance(5).ack(m.bytes);
    c.advance(2000);
  };
  const reusedOk = await judge((c) => {
    const { nonce } = c.mskRequest({ mskIds: [0x00010001] });
    grant(c, 1);
    c.mskRequest({ mskIds: [0x00010001], reuse: { nonce, nc: '00000002' } });
    grant(c, 2);
  });
  expect(failsBy(reusedOk)).toEqual([]);
  const ncStuck = await judge((c) => {
    const { nonce } = c.mskRequest({ mskIds: [0x00010001] });
    grant(c, 1);
    c.mskRequest({ mskIds: [0x00010001], reuse: { nonce, nc: '00000001' } });
    grant(c, 2);
  });
  // The UE's fault, and the BM-SC's: it served a replayed nc (RFC 2617 §3.2.2) and delivered the key.
  expect(failsBy(ncStuck).sort()).toEqual(['bmsc:http.status', 'bmsc:silence', 'ue:digest.nc']);

  const noQuery = await judge((c) => {
    c.mskRequest({ mskIds: [0x00010001], digestUri: profile().http.path });
    grant(c, 1);
  });
  expect(failsBy(noQuery)).toContain('ue:digest.uri');

  const p = profile();
  p.http.qop = 'auth-int';
  const weakQop = await judge((c) => {
    c.mskRequest({ mskIds: [0x00010001], offerQop: ['auth', 'auth-int'], useQop: 'auth' });
    grant(c, 1);
  }, { profile: p });
  expect(failsBy(weakQop)).toContain('ue:digest.qop');
});

test('one MSK delivered twice with different RANDs fails mikey.rand-per-msk, as live', async () => {
  const r = await judge((c) => {
    const a = c.msk({ counter: 1, mskId: 0x00010001, msk: MSK, rand: RAND });
    c.advance(5).ack(a.bytes);
    c.advance(2000);
    const b = c.msk({ counter: 2, mskId: 0x00010001, msk: MSK, rand: randomBytes(16) });
    c.advance(5).ack(b.bytes);
    c.advance(2000);
  });
  expect(failsBy(r)).toEqual(['bmsc:mikey.rand-per-msk']);
});

test('an ACK that does not verify ends nothing: a BM-SC that stops retransmitting after it fails retransmission.count', async () => {
  const r = await judge((c) => {
    const m = c.msk({ counter: 1, mskId: 0x00010001, msk: MSK, rand: RAND });
    c.advance(3).ack(m.bytes, { muk: Buffer.alloc(32, 7) }); // a V MAC under the wrong key
    c.advance(3000);
  });
  expect(failsBy(r)).toEqual(['bmsc:retransmission.count', 'ue:ack.mac']);
});

test('a forged COUNTER (MAC that does not verify) does not move the UE\'s replay state: the next genuine message is owed an ACK', async () => {
  const r = await judge((c) => {
    c.msk({ counter: 1000, mskId: 0x00010001, msk: MSK, rand: RAND, badMac: true });
    c.advance(600).msk({ counter: 2, mskId: 0x00010001, msk: MSK, rand: RAND, v: false });
    const m = c.advance(600).msk({ counter: 3, mskId: 0x00010001, msk: MSK, rand: RAND });
    c.advance(1000);
    void m;
  });
  // The UE did not answer the genuine V=1 message: its fault, whatever the forged one said.
  expect(failsBy(r)).toContain('ue:ack.iff-v');
  expect(failsBy(r)).not.toContain('bmsc:mikey.counter');
});

test('bounded results: past the first 100 PASS instances of a kind, an instance is counted, not listed; the verdict counts them all', async () => {
  const streamed: string[] = [];
  const r = await judge((c) => {
    for (let i = 1; i <= 130; i++) {
      const m = c.msk({ counter: i, mskId: 0x00010001, msk: MSK, rand: RAND });
      c.advance(3).ack(m.bytes);
      c.advance(3000);
    }
  }, { onJudged: (p) => streamed.push(`${p.id} ${p.verdict}`) });
  // a consumer streaming the instances (analyze --json) is handed every one, listed or not
  expect(streamed).toHaveLength(130);
  expect(new Set(streamed).size).toBe(130);
  expect(streamed.at(-1)).toBe('msk-push#130 PASS');
  expect(r.procedures.filter((p) => p.procedure === 'msk-push')).toHaveLength(100);
  expect(r.omitted['msk-push']).toEqual({ PASS: 30 });
  expect(r.verdict).toBe('PASS');
  const summary = formatSummary(r);
  expect(summary).toContain('... and 30 more instances, judged and counted but not listed: msk-push 30 PASS');
  expect(summary).toMatch(/Verdict: PASS \(130 PASS\)/);
  expect((analysisJson(r) as { omitted: unknown }).omitted).toEqual({ 'msk-push': { PASS: 30 } });
  // Allure: one result for the kind's 130 PASS instances (a step per listed one), not 130 results
  const dir = mkdtempSync(join(tmpdir(), 'analyze-allure-'));
  const files = writeAllureResults(r, dir);
  expect(files).toHaveLength(1);
  const doc = JSON.parse(readFileSync(files[0]!, 'utf8')) as { name: string; status: string; steps: unknown[]; statusDetails: { message?: string }; attachments: unknown[] };
  expect(doc).toMatchObject({ name: 'msk-push: 130 PASS', status: 'passed' });
  expect(doc.steps).toHaveLength(100);
  expect(doc.statusDetails.message).toBe('30 instances judged and counted but not listed: 30 PASS');
  expect(doc.attachments).toHaveLength(1);
  expect(readdirSync(dir)).toHaveLength(2);
});

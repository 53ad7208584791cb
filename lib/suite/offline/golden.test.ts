// The golden captures of fixtures/pcaps/ (recorded from the reference BM-SC and UE by record.ts) judged
// offline as fixtures/pcaps/expected.yaml says: overall verdict, verdict per procedure instance, and for
// every failure the check and the frame numbers. The frame numbers themselves are checked against an
// independent reading of the capture (lib/capture decoding and lib/mikey readers, not the analyzer).
import { test, expect } from '@playwright/test';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { decodeFrame, PcapWriter, readCapture, type DecodedPacket } from '../../capture/index.ts';
import { loadProfile } from '../../mbms/index.ts';
import { DataType, decodeMikey, getKeyIds, readKeyMessage } from '../../mikey/index.ts';
import { traceFromCapture } from '../../trace/index.ts';
import { analysisJson, analyzeCapture, loadKeys, streamCapture, type AnalysisResult } from './index.ts';

const DIR = new URL('../../../fixtures/pcaps/', import.meta.url).pathname;
const profile = loadProfile(join(DIR, 'profile.yaml'));
const keys = loadKeys(join(DIR, 'keys.yaml'));
const MUK = keys.ues[0]!.muk!;

interface ExpectedProcedure { id: string; verdict: string; failures?: { check: string; frames: number[] }[] }
interface ExpectedCapture { verdict?: string; procedures?: ExpectedProcedure[]; 'same-as'?: string }
const expected = parse(readFileSync(join(DIR, 'expected.yaml'), 'utf8')) as Record<string, ExpectedCapture>;

const analyze = (file: string): Promise<AnalysisResult> => analyzeCapture(join(DIR, file), { profile, keys });

async function packets(file: string): Promise<DecodedPacket[]> {
  const out: DecodedPacket[] = [];
  for await (const frame of readCapture(join(DIR, file))) out.push(decodeFrame(frame));
  return out;
}

for (const [file, exp] of Object.entries(expected)) {
  if (exp['same-as']) continue;
  test(`golden ${file}: verdicts and failing frames as in expected.yaml`, async () => {
    const result = await analyze(file);
    expect(result.verdict).toBe(exp.verdict);
    expect(result.procedures.map((p) => ({ id: p.id, verdict: p.verdict }))).toEqual(exp.procedures!.map((p) => ({ id: p.id, verdict: p.verdict })));
    for (const want of exp.procedures!) {
      const got = result.procedures.find((p) => p.id === want.id)!;
      const failures = got.findings.filter((f) => f.verdict === 'FAIL').map((f) => ({ check: f.check, frames: f.evidence.frames }));
      expect(failures, `${file} ${want.id}`).toEqual(want.failures ?? []);
      // every failure is proven by events of the capture (ids and frames), with expected vs actual
      for (const f of got.findings.filter((x) => x.verdict === 'FAIL')) {
        expect(f.evidence.events.length).toBeGreaterThan(0);
        expect(f.expected).toBeDefined();
        expect(f.actual).toBeDefined();
      }
    }
  });
}

test('clean.pcapng (the pcapng twin) is judged exactly like clean.pcap', async () => {
  const [pcap, pcapng] = await Promise.all([analyze('clean.pcap'), analyze('clean.pcapng')]);
  expect(pcapng.format).toBe('pcapng');
  expect(pcap.format).toBe('pcap');
  const strip = (r: AnalysisResult) => ({ ...(analysisJson(r) as Record<string, unknown>), capture: undefined, format: undefined });
  expect(strip(pcapng)).toEqual(strip(pcap));
});

test('bmsc-bad-mac: the failing frames are the three MSK messages to the UE, none of which verifies', async () => {
  const mikey = (await packets('bmsc-bad-mac.pcap')).filter((p) => p.udp?.dstPort === profile.ports.ueMikey);
  expect(mikey.map((p) => p.frames[0])).toEqual([11, 13, 14]);
  for (const p of mikey) expect(readKeyMessage(p.payload, { psk: MUK }, profile.mikey).macValid).toBe(false);
  // and no verification message came back from the UE
  expect((await packets('bmsc-bad-mac.pcap')).filter((p) => p.udp?.srcPort === profile.ports.ueMikey)).toEqual([]);
});

test('ue-ack-mtk: frame 13 is an MTK message and frame 14 the UE verification message answering it', async () => {
  const all = await packets('ue-ack-mtk.pcap');
  const mtk = all.find((p) => p.frames[0] === 13)!;
  const ack = all.find((p) => p.frames[0] === 14)!;
  expect(mtk.udp?.dstPort).toBe(profile.ports.ueMikey);
  const mtkMessage = decodeMikey(mtk.payload);
  expect(getKeyIds(mtkMessage).mtkId?.some((b) => b !== 0)).toBe(true);
  expect(ack.udp?.srcPort).toBe(profile.ports.ueMikey);
  const ackMessage = decodeMikey(ack.payload);
  expect(ackMessage.hdr.dataType).toBe(DataType.PSK_VER);
  expect(ackMessage.hdr.csbId).toBe(mtkMessage.hdr.csbId);
});

test('bmsc-mikey-before-200: the MSK message (frame 10) precedes the frame that carries the 200 OK', async () => {
  const all = await packets('bmsc-mikey-before-200.pcap');
  const ok = all.find((p) => p.tcp && p.payload.subarray(0, 12).toString('latin1') === 'HTTP/1.1 200')!;
  const msk = all.find((p) => p.udp?.dstPort === profile.ports.ueMikey)!;
  expect(msk.frames[0]).toBe(10);
  expect(ok.frames[0]).toBe(11);
  const post = all.filter((p) => p.tcp && p.payload.subarray(0, 4).toString('latin1') === 'POST');
  expect(post.at(-1)!.frames[0]).toBe(9); // the authorised POST cited with it
  expect(readKeyMessage(msk.payload, { psk: MUK }, profile.mikey).macValid).toBe(true);
});

test('the streaming event view numbers events exactly as lib/trace traceFromCapture does', async () => {
  for (const file of ['clean.pcap', 'bmsc-mikey-before-200.pcap', 'ue-ack-mtk.pcap']) {
    const trace = await traceFromCapture(join(DIR, file), { mikeyPorts: [profile.ports.ueMikey] });
    const streamed: { id: number; kind: string; frames: number[]; requestId?: number }[] = [];
    await streamCapture(join(DIR, file), { mikeyPorts: [profile.ports.ueMikey] }, {
      onEvent: (e) => streamed.push({ id: e.id, kind: e.kind, frames: e.frames, ...(e.kind === 'http-response' ? { requestId: e.requestId } : {}) }),
    });
    const reference = trace.events.map((e) => ({ id: e.id, kind: e.kind, frames: e.frames, ...(e.kind === 'http-response' ? { requestId: e.requestId } : {}) }));
    expect(streamed, file).toEqual(reference);
  }
});

test('duplicated and reordered TCP segments (retransmissions, out of order) are judged the same', async () => {
  // Every TCP segment with data is sent twice, and each pair of consecutive data segments of one
  // direction is swapped: the HTTP messages must come out of TCP reassembly unchanged.
  const frames: { data: Buffer; time: number; tcpData: boolean; key: string }[] = [];
  for await (const f of readCapture(join(DIR, 'clean.pcap'))) {
    const p = decodeFrame(f);
    const tcpData = p.tcp !== undefined && p.payload.length > 0;
    frames.push({ data: f.data, time: f.time, tcpData, key: tcpData ? `${p.ip!.src}:${p.tcp!.srcPort}` : '' });
  }
  const out: typeof frames = [];
  for (let i = 0; i < frames.length; i++) {
    const f = frames[i]!;
    const next = frames[i + 1];
    if (f.tcpData && next?.tcpData && next.key === f.key) {
      out.push(next, f, f);
      out.push(next);
      i++;
    } else out.push(...(f.tcpData ? [f, f] : [f]));
  }
  expect(out.length).toBeGreaterThan(frames.length);
  const path = join(mkdtempSync(join(tmpdir(), 'analyze-shuffled-')), 'shuffled.pcap');
  const writer = new PcapWriter(path);
  for (const f of out) writer.write(f.data, f.time);
  writer.close();
  const [original, shuffled] = await Promise.all([analyze('clean.pcap'), analyzeCapture(path, { profile, keys })]);
  expect(shuffled.verdict).toBe('PASS');
  expect(shuffled.procedures.map((p) => [p.id, p.verdict])).toEqual(original.procedures.map((p) => [p.id, p.verdict]));
  expect(shuffled.checks).toEqual(original.checks);
});

test('the reader thread is a transport only: every golden capture judged the same read in a second thread', async () => {
  for (const file of Object.keys(expected)) {
    const inThread = await analyzeCapture(join(DIR, file), { profile, keys, readerThread: false });
    const threaded = await analyzeCapture(join(DIR, file), { profile, keys, readerThread: true });
    expect(inThread.readerThread).toBe(false);
    expect(threaded.readerThread).toBe(true);
    expect(JSON.stringify(analysisJson({ ...threaded, readerThread: false }))).toBe(JSON.stringify(analysisJson(inThread)));
  }
});

test('the reader thread reports a capture it cannot read as bad input, naming the file', async () => {
  const file = join(mkdtempSync(join(tmpdir(), 'reader-')), 'junk.pcap');
  writeFileSync(file, Buffer.alloc(4096, 0x41));
  await expect(analyzeCapture(file, { profile, keys, readerThread: true })).rejects.toThrow(/junk\.pcap/);
});

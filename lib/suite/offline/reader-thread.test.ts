// The reader thread is a transport: a capture that spans many batches (slots reused, clock ticks at batch
// edges, events of every kind) is judged exactly as when it is read in the judging thread.
import { test, expect } from '@playwright/test';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { referenceProfile } from '../../mbms/index.ts';
import { analysisJson, analyzeCapture, type AnalysisResult } from './index.ts';
import { SLOTS, BATCH_ENTRIES } from './reader-thread.ts';
import { SyntheticCapture } from './synthetic.ts';

test('a capture of many batches is judged the same read in a second thread, times and frames included', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'reader-thread-'));
  const capture = join(dir, 'mixed.pcap');
  const profile = referenceProfile();
  const ksNaf = randomBytes(32);
  const c = new SyntheticCapture(capture, { profile, btid: 'rt@bsf.example.com', ksNaf });
  c.step = 0.05;
  const rand = randomBytes(16);
  const msk = randomBytes(16);
  // A storm (copies 0.15 ms apart: a time moved by the transport splits a delivery), then requests,
  // pushes with ACKs, MTK messages and stray UDP, over more than SLOTS * 4 batches
  const cycle = [c.msk({ counter: 1, mskId: 0x00010001, msk, rand }).bytes, c.trigger({ counter: 2 }).bytes];
  const messages = SLOTS * 4 * BATCH_ENTRIES;
  for (let i = 0; i < messages; i++) c.tap.udp(c.bmsc.mikey, c.ue.mikey, cycle[i % 2]!, (c.now += c.step));
  c.advance(3000);
  for (let i = 0; i < 5; i++) {
    c.advance(50).mskRequest({ mskIds: [0x00010001] });
    const m = c.advance(5).msk({ counter: 10 + i, mskId: 0x00010001, msk, rand });
    c.advance(2).ack(m.bytes);
    c.advance(1100);
    for (let k = 1; k <= 500; k++) c.mtk({ counter: i * 500 + k, mskId: 0x00010001, mtkId: i * 500 + k, msk, mskRand: rand });
    c.udpFromUe(Buffer.from('stray'));
  }
  c.close();
  const keys = { ues: [{ btid: 'rt@bsf.example.com', ksNaf, muk: ksNaf }], msks: [] };
  const judge = async (readerThread: boolean): Promise<AnalysisResult> => analyzeCapture(capture, { profile, keys, readerThread });
  const [one, two] = [await judge(false), await judge(true)];
  expect(two.readerThread).toBe(true);
  expect(one.frames).toBeGreaterThan(messages);
  // the storm is one delivery per message kind (the first message and its copies), however many batches it spans
  expect(one.procedures.filter((p) => p.procedure === 'msk-push' || p.procedure === 'solicited-pull').map((p) => p.eventCount)).toEqual([messages / 2 + 1, messages / 2 + 1]);
  expect(JSON.stringify(analysisJson({ ...two, readerThread: false }))).toBe(JSON.stringify(analysisJson(one)));
});

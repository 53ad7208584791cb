// Matching the tester's live trace to a wire capture (capture-wire.ts). The "wire" pcap here is written by a
// second, independent recorder that sees the same messages with other frame numbers (a marker datagram
// first, TCP handshakes of its own), one message dropped and one message of the SUT the tester never saw.

import { test, expect } from '@playwright/test';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LiveTrace } from '../trace/index.ts';
import { applyWireCapture, captureKindFromEnv, reconcileWithCapture, remapFinding, tapSidePath, wireFilter } from './capture-wire.ts';
import { VerdictTracker, evidenceOf } from './verdict.ts';

const dir = () => mkdtempSync(join(tmpdir(), 'mbms-capture-wire-'));
const tester = { address: '127.0.0.1', port: 40001 };
const sutMikey = { address: '127.0.0.1', port: 4359 };
const sutHttp = { address: '127.0.0.1', port: 8080 };
const request = Buffer.from('POST /keys HTTP/1.1\r\nHost: bmsc\r\nContent-Length: 4\r\n\r\nabcd');
const response = Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
const mikey1 = Buffer.from('010203040506', 'hex');
const mikey2 = Buffer.from('0a0b0c0d', 'hex');

/** The tester's view: an HTTP exchange, then two MIKEY messages of the SUT and the tester's answer. */
function liveTrace(path: string) {
  const live = new LiveTrace({ pcapPath: path, testerRole: 'ue', mikeyPorts: [4359, 40001] });
  const conn = live.openTcp(true, { address: '127.0.0.1', port: 50000 }, sutHttp);
  conn.sent(request);
  conn.received(response);
  conn.close('tester');
  live.note('trigger');
  live.recordMikey('received', tester, sutMikey, mikey1);
  live.recordMikey('received', tester, sutMikey, mikey2);
  live.recordMikey('sent', tester, sutMikey, Buffer.from('ff', 'hex'));
  const events = [...live.events];
  live.close();
  return events;
}

/** The wire's view: a marker first, the same exchange, mikey2 lost, and a datagram the tester never got. */
function wirePcap(path: string, options: { dropMikey2: boolean; extraFromSut: boolean }) {
  const wire = new LiveTrace({ pcapPath: path, testerRole: 'ue', mikeyPorts: [4359, 40001] });
  wire.recordUdp('sent', { address: '127.0.0.1', port: 33333 }, { address: '127.0.0.1', port: 9 }, Buffer.from('mbms-conform capture marker start'));
  const conn = wire.openTcp(true, { address: '127.0.0.1', port: 50000 }, sutHttp);
  conn.sent(request);
  conn.received(response);
  conn.close('tester');
  wire.recordMikey('received', tester, sutMikey, mikey1);
  if (!options.dropMikey2) wire.recordMikey('received', tester, sutMikey, mikey2);
  wire.recordMikey('sent', tester, sutMikey, Buffer.from('ff', 'hex'));
  if (options.extraFromSut) wire.recordMikey('received', tester, sutMikey, Buffer.from('deadbeef', 'hex'));
  // traffic of someone else on the same host, not the case's
  wire.recordMikey('received', { address: '127.0.0.1', port: 41000 }, { address: '127.0.0.2', port: 4359 }, mikey2);
  return wire.close();
}

test('every live event gets the wire frames of the same message; texts quoting tap frames follow', async () => {
  const d = dir();
  const live = liveTrace(join(d, 'tap.pcap'));
  wirePcap(join(d, 'wire.pcap'), { dropMikey2: false, extraFromSut: false });
  const rec = await reconcileWithCapture(live, join(d, 'wire.pcap'), { testerRole: 'ue', window: { afterId: 0, upToId: live.length } });
  expect(rec.missing).toEqual([]);
  expect(rec.extra).toEqual([]);
  const m1 = live.find((e) => e.kind === 'mikey' && e.bytes.equals(mikey1))!;
  // the wire has one more frame (the marker) before everything
  expect(rec.framesOf(m1.id)).toEqual(m1.frames.map((f) => f + 1));
  const req = live.find((e) => e.kind === 'http-request')!;
  expect(rec.framesOf(req.id)).toEqual(req.frames.map((f) => f + 1));
  expect(rec.events.find((e) => e.id === m1.id)!.frames).toEqual(m1.frames.map((f) => f + 1));
  expect(rec.events.filter((e) => e.kind === 'note')).toHaveLength(1);

  const tracker = new VerdictTracker();
  const finding = tracker.fail('mikey.mac', `MSK message frame ${m1.frames.join(',')}: MAC`, 'x', { where: `frame ${m1.frames[0]}`, other: 'frame 999' }, evidenceOf(m1, req));
  remapFinding(finding, rec);
  expect(finding.message).toBe(`MSK message frame ${m1.frames[0]! + 1}: MAC`);
  expect(finding.actual).toEqual({ where: `frame ${m1.frames[0]! + 1}`, other: 'tap frame 999' });
  expect(finding.evidence.frames).toEqual([...req.frames, ...m1.frames].map((f) => f + 1).sort((a, b) => a - b));
});

test('a message missing on the wire is an ERROR, one of the SUT seen only on the wire INCONC', async () => {
  const d = dir();
  const live = liveTrace(join(d, 'tap.pcap'));
  wirePcap(join(d, 'wire.pcap'), { dropMikey2: true, extraFromSut: true });
  const tracker = new VerdictTracker();
  const m2 = live.find((e) => e.kind === 'mikey' && e.bytes.equals(mikey2))!;
  tracker.pass('mikey.mac', 'ok', evidenceOf(m2));
  const out = await applyWireCapture(tracker, live, join(d, 'wire.pcap'), { kind: 'tcpdump', testerRole: 'ue', window: { afterId: 0, upToId: live.length } });
  expect(out.agreed).toBe(false);
  const missing = tracker.findings.find((f) => f.check === 'capture.missing')!;
  expect(missing.verdict).toBe('ERROR');
  expect(missing.evidence.events).toEqual([m2.id]);
  const extra = tracker.findings.find((f) => f.check === 'capture.extra')!;
  expect(extra.verdict).toBe('INCONC');
  expect(extra.message).toMatch(/MIKEY 4 octets 127\.0\.0\.1:4359 -> 127\.0\.0\.1:40001/);
  expect(extra.message).not.toMatch(/41000/); // someone else's datagram is not the case's
  expect(tracker.final()).toBe('ERROR');
  // the event the wire lacks keeps no frame number of the other numbering
  expect(out.events.find((e) => e.id === m2.id)!.frames).toEqual([]);
  expect(tracker.findings[0]!.evidence.frames).toEqual([]);
});

test('a live event outside the capture window and cited by nothing is not reported missing', async () => {
  const d = dir();
  const live = liveTrace(join(d, 'tap.pcap'));
  wirePcap(join(d, 'wire.pcap'), { dropMikey2: true, extraFromSut: false });
  const m2 = live.find((e) => e.kind === 'mikey' && e.bytes.equals(mikey2))!;
  const rec = await reconcileWithCapture(live, join(d, 'wire.pcap'), { testerRole: 'ue', window: { afterId: 0, upToId: m2.id - 1 } });
  expect(rec.missing).toEqual([]);
  const cited = await reconcileWithCapture(live, join(d, 'wire.pcap'), { testerRole: 'ue', window: { afterId: 0, upToId: m2.id - 1 }, cited: new Set([m2.id]) });
  expect(cited.missing.map((e) => e.id)).toEqual([m2.id]);
});

test('MBMS_CAPTURE values, the case filter and the tap side file', () => {
  expect(captureKindFromEnv(undefined)).toBe('tap');
  expect(captureKindFromEnv('')).toBe('tap');
  expect(captureKindFromEnv('TCPDUMP')).toBe('tcpdump');
  expect(captureKindFromEnv('raw')).toBe('raw');
  expect(() => captureKindFromEnv('pcap')).toThrow(/MBMS_CAPTURE='pcap' names no capture backend/);
  expect(wireFilter({ testerAddress: '127.0.0.1', tcpPorts: [8080], udpPorts: [40001, 4359, 0] })).toBe('host 127.0.0.1 and (tcp port 8080 or udp port 40001 or udp port 4359)');
  expect(wireFilter({ testerAddress: '0.0.0.0', tcpPorts: [], udpPorts: [4359] })).toBe('(udp port 4359)');
  expect(() => wireFilter({ testerAddress: '127.0.0.1', tcpPorts: [], udpPorts: [] })).toThrow(/no port/);
  expect(tapSidePath('/x/case.pcap')).toBe('/x/case.tap.pcap');
  expect(tapSidePath('/x/case')).toBe('/x/case.tap.pcap');
});

test('a datagram of the SUT seen only on the wire counts even when the tester saw no MIKEY at all', async () => {
  const d = dir();
  const live = new LiveTrace({ pcapPath: join(d, 'tap.pcap'), testerRole: 'ue', mikeyPorts: [4359] });
  const conn = live.openTcp(true, { address: '127.0.0.1', port: 50000 }, sutHttp);
  conn.sent(request);
  conn.received(response);
  const events = [...live.events];
  live.close();
  const wire = new LiveTrace({ pcapPath: join(d, 'wire.pcap'), testerRole: 'ue', mikeyPorts: [4359] });
  const wconn = wire.openTcp(true, { address: '127.0.0.1', port: 50000 }, sutHttp);
  wconn.sent(request);
  wconn.received(response);
  wire.recordMikey('received', tester, { address: '127.0.0.1', port: 45000 }, mikey1);
  wire.close();
  const window = { afterId: 0, upToId: events.length };
  const blind = await reconcileWithCapture(events, join(d, 'wire.pcap'), { testerRole: 'ue', window });
  expect(blind.extra).toEqual([]); // nothing tells which UDP port is the case's
  const told = await reconcileWithCapture(events, join(d, 'wire.pcap'), { testerRole: 'ue', window, mikeyPorts: [tester.port], testerEndpoints: [tester] });
  expect(told.extra.map((e) => e.kind === 'mikey' && e.bytes.toString('hex'))).toEqual([mikey1.toString('hex')]);
  expect(told.extra[0]!.actor).toBe('sut');
});

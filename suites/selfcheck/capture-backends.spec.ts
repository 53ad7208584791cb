// Live runs recorded on the wire (MBMS_CAPTURE=tcpdump|raw, docs/capture.md): real cases against the
// embedded references, each run once with the tap backend and once with a wire backend. The wire pcap is
// read independently (lib/capture readCapture/decodeFrame, not lib/trace) to prove it holds the case's MIKEY
// and HTTP, the verdicts must equal the tap run's, and a failing case's evidence frames must hold, in the
// wire pcap, the very MIKEY octets the finding is about. CI runs as root with tcpdump installed; elsewhere
// the wire tests skip saying why.

import { test, expect } from '@playwright/test';
import { readFileSync } from 'node:fs';
import { decodeFrame, findExecutable, isRoot, readCapture, type CaptureKind } from '../../lib/capture/index.ts';
import { headline, loadCases, runCase, type CaseDef, type CaseResult, type SutProvider } from '../../lib/suite/index.ts';
import { embeddedBmsc, embeddedUe } from '../../fixtures/embedded.ts';

const CASES: { id: string; sut: () => SutProvider; expectVerdict?: string }[] = [
  { id: 'bmsc/6.3.1/03', sut: () => embeddedBmsc() },
  { id: 'bmsc/6.3.1/05', sut: () => embeddedBmsc() },
  { id: 'ue/6.3.2.1/01', sut: () => embeddedUe() },
  { id: 'bmsc/6.3.1/05', sut: () => embeddedBmsc({ faults: ['bmsc-bad-mac'] }), expectVerdict: 'FAIL' },
];

function caseById(id: string): CaseDef {
  const c = loadCases(id.startsWith('ue/') ? 'ue' : 'bmsc').find((x) => x.id === id);
  if (!c) throw new Error(`no case ${id}`);
  return c;
}

interface WireFrame { frame: number; proto: 'udp' | 'tcp'; payload: Buffer; srcPort: number; dstPort: number }

/** The pcap read with lib/capture alone: classic pcap magic, then every frame decoded to its L4 payload. */
async function readWire(path: string): Promise<{ magic: string; frames: WireFrame[] }> {
  const magic = readFileSync(path).subarray(0, 4).toString('hex');
  const frames: WireFrame[] = [];
  for await (const f of readCapture(path)) {
    const p = decodeFrame(f);
    if (p.udp) frames.push({ frame: f.frame, proto: 'udp', payload: Buffer.from(p.payload), srcPort: p.udp.srcPort, dstPort: p.udp.dstPort });
    else if (p.tcp) frames.push({ frame: f.frame, proto: 'tcp', payload: Buffer.from(p.payload), srcPort: p.tcp.srcPort, dstPort: p.tcp.dstPort });
  }
  return { magic, frames };
}

const verdictsOf = (r: CaseResult) => ({ verdict: r.verdict, checks: r.findings.filter((f) => !f.check.startsWith('capture')).map((f) => `${f.verdict} ${f.check}`).sort() });

function availability(kind: CaptureKind): string | undefined {
  if (!isRoot()) return `the ${kind} backend needs root (CI runs as root)`;
  if (kind === 'tcpdump' && !findExecutable('tcpdump')) return 'tcpdump is not installed (CI installs it)';
  return undefined;
}

for (const kind of ['tcpdump', 'raw'] as const) {
  test.describe(`${kind} backend`, () => {
    test.describe.configure({ mode: 'serial' });
    for (const [i, c] of CASES.entries()) {
      test(`${c.id}${c.expectVerdict ? ` against ${c.sut().name}` : ''}: wire pcap holds the case, verdicts equal the tap run's`, async ({}, testInfo) => {
        const why = availability(kind);
        test.skip(why !== undefined, why ?? '');
        const def = caseById(c.id);
        const tap = await runCase(def, { sut: c.sut(), capture: 'tap', pcapPath: testInfo.outputPath(`${i}-tap.pcap`) });
        const onWire = await runCase(def, { sut: c.sut(), capture: kind, pcapPath: testInfo.outputPath(`${i}-${kind}.pcap`) });
        await testInfo.attach(`${kind}.pcap`, { path: onWire.pcapPath!, contentType: 'application/vnd.tcpdump.pcap' });
        expect(onWire.findings.filter((f) => f.check.startsWith('capture')), 'the wire capture agrees with the tester\'s sockets').toEqual([]);
        expect(verdictsOf(onWire)).toEqual(verdictsOf(tap));
        if (c.expectVerdict) expect(onWire.verdict, headline(onWire)?.message).toBe(c.expectVerdict);
        else expect(onWire.verdict, headline(onWire)?.message).toBe('PASS');

        // The attached pcap is the wire capture: classic pcap (microseconds, either byte order), all MIKEY
        // datagrams and HTTP messages of the case in it, at the frame numbers the trace cites.
        expect(onWire.pcapPath).toBe(testInfo.outputPath(`${i}-${kind}.pcap`));
        const wire = await readWire(onWire.pcapPath!);
        expect(['d4c3b2a1', 'a1b2c3d4']).toContain(wire.magic);
        const mikeyEvents = onWire.trace.filter((e) => e.kind === 'mikey');
        const httpEvents = onWire.trace.filter((e) => e.kind === 'http-request' || e.kind === 'http-response');
        expect(mikeyEvents.length).toBeGreaterThan(0);
        if (!c.id.startsWith('ue/6.3.2.1')) expect(httpEvents.length).toBeGreaterThan(0);
        // a datagram that arrived after the last step (the capture had stopped) has no frame, and no finding cites it
        const lastStepEvent = Math.max(0, ...onWire.steps.flatMap((st) => st.events));
        const citedIds = new Set(onWire.findings.flatMap((f) => f.evidence.events));
        for (const e of mikeyEvents) {
          if (e.frames.length === 0 && e.id > lastStepEvent && !citedIds.has(e.id)) continue;
          expect(e.frames).toHaveLength(1);
          const f = wire.frames.find((w) => w.frame === e.frames[0]);
          expect(f?.proto).toBe('udp');
          expect(f?.payload.equals(e.bytes), `MIKEY event ${e.id} is the datagram in wire frame ${e.frames[0]}`).toBe(true);
        }
        for (const e of httpEvents) {
          if (e.frames.length === 0 && e.id > lastStepEvent && !citedIds.has(e.id)) continue;
          expect(e.frames.length).toBeGreaterThan(0);
          const carried = Buffer.concat(e.frames.map((n) => wire.frames.find((w) => w.frame === n && w.proto === 'tcp')?.payload ?? Buffer.alloc(0)));
          const startLine = e.kind === 'http-request' ? `${e.method} ${e.target} HTTP/1.1` : `HTTP/1.1 ${e.status}`;
          expect(carried.toString('latin1'), `HTTP event ${e.id} is in wire frames ${e.frames.join(',')}`).toContain(startLine);
          if (e.body.length) expect(carried.includes(e.body)).toBe(true);
        }
        // the tap run's frame numbers differ from the wire's (markers, handshakes): the trace cites the wire
        expect(onWire.trace.every((e) => e.kind === 'note' || e.frames.every((n) => wire.frames.some((w) => w.frame === n)))).toBe(true);

        if (c.expectVerdict === 'FAIL') {
          // The headline FAIL cites frames that, in the wire pcap, hold the offending MIKEY message
          const h = headline(onWire)!;
          expect(h.evidence.frames.length).toBeGreaterThan(0);
          const cited = onWire.trace.filter((e) => h.evidence.events.includes(e.id) && e.kind === 'mikey');
          expect(cited.length).toBeGreaterThan(0);
          for (const e of cited) {
            if (e.kind !== 'mikey') continue;
            const frame = wire.frames.find((w) => w.frame === e.frames[0]);
            expect(h.evidence.frames).toContain(e.frames[0]);
            expect(frame?.payload.equals(e.bytes)).toBe(true);
            expect(e.actor).toBe('sut');
          }
          // the text quotes the same (wire) frame numbers as the evidence, not the tap's
          const quoted = [...`${h.message} ${JSON.stringify(h.expected)} ${JSON.stringify(h.actual)}`.matchAll(/\bframes? (\d+(?:,\d+)*)/g)].flatMap((m) => m[1]!.split(',').map(Number));
          for (const n of quoted) expect(wire.frames.some((w) => w.frame === n), `quoted frame ${n} is in the wire pcap`).toBe(true);
        }
      });
    }
  });
}

test('an unknown MBMS_CAPTURE value is an ERROR of the harness, not a fallback to tap', async () => {
  const before = process.env.MBMS_CAPTURE;
  process.env.MBMS_CAPTURE = 'wireshark';
  try {
    const r = await runCase(caseById('bmsc/6.3.1/03'), { sut: embeddedBmsc() });
    expect(r.verdict).toBe('ERROR');
    expect(headline(r)?.message).toMatch(/MBMS_CAPTURE='wireshark'/);
    expect(r.pcapPath).toBeUndefined();
  } finally {
    if (before === undefined) delete process.env.MBMS_CAPTURE;
    else process.env.MBMS_CAPTURE = before;
  }
});

test('tcpdump that cannot run is an ERROR naming why, and no tap pcap stands in for it', async ({}, testInfo) => {
  test.skip(isRoot() && findExecutable('tcpdump') !== undefined, 'tcpdump runs here (the wire tests above cover it)');
  const r = await runCase(caseById('bmsc/6.3.1/03'), { sut: embeddedBmsc(), capture: 'tcpdump', pcapPath: testInfo.outputPath('none.pcap') });
  expect(r.verdict).toBe('ERROR');
  expect(headline(r)?.message).toMatch(/capture backend 'tcpdump' is not available/);
  expect(r.pcapPath).toBeUndefined();
  expect(r.steps).toEqual([]);
});

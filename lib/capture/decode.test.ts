// Frame decoding for every supported link type, IPv6 extension headers, and IPv4/IPv6 fragment
// reassembly in any arrival order. Packets are hand-built here (test-helpers), not by the tap writer.
import { test, expect } from '@playwright/test';
import fc from 'fast-check';
import { IpReassembler, decodeFrame, type CapturedFrame, type DecodedPacket } from './index.ts';
import { hex, ipv4, ipv4Udp, referenceChecksum, u16 } from './test-helpers.ts';

const frame = (linkType: number, data: Buffer, n = 1, time = 1000): CapturedFrame => ({ frame: n, time, linkType, data, originalLength: data.length, interfaceId: 0 });
const UDP4 = ipv4Udp({ src: [192, 0, 2, 1], dst: [192, 0, 2, 2], sport: 4359, dport: 50000, payload: Buffer.from('MIKEY!') });

function expectUdp4(p: DecodedPacket) {
  expect(p.error).toBeUndefined();
  expect(p.ip).toMatchObject({ version: 4, src: '192.0.2.1', dst: '192.0.2.2', protocol: 17 });
  expect(p.udp).toMatchObject({ srcPort: 4359, dstPort: 50000, length: 14 });
  expect(p.payload.toString()).toBe('MIKEY!');
}

test('Ethernet II, with 802.1Q and stacked 802.1ad tags, and minimum-frame padding', () => {
  const mac = hex('020000000001 020000000002');
  expectUdp4(decodeFrame(frame(1, Buffer.concat([mac, u16(0x0800), UDP4]))));
  const tagged = decodeFrame(frame(1, Buffer.concat([mac, u16(0x88a8), u16(0x0064), u16(0x8100), u16(0x2005), u16(0x0800), UDP4, Buffer.alloc(6)])));
  expectUdp4(tagged);
  expect(tagged.vlan).toEqual([100, 5]);
  const arp = decodeFrame(frame(1, Buffer.concat([mac, u16(0x0806), Buffer.alloc(28)])));
  expect(arp.error?.code).toBe('ERR_PACKET_DECODE');
  expect(arp.error?.message).toMatch(/0x0806/);
});

test('Linux cooked SLL (113) and SLL2 (276)', () => {
  const sll = Buffer.concat([u16(0), u16(772), u16(6), hex('000000000000 0000'), u16(0x0800)]);
  expectUdp4(decodeFrame(frame(113, Buffer.concat([sll, UDP4]))));
  const sll2 = Buffer.concat([u16(0x0800), u16(0), hex('00000001'), u16(772), Buffer.from([0, 6]), hex('0000000000000000')]);
  expect(sll2.length).toBe(20);
  expectUdp4(decodeFrame(frame(276, Buffer.concat([sll2, UDP4]))));
});

test('raw IP (101) and LINKTYPE_IPV4 (228); 12/14 are mapped to 101 by the reader (read.test)', () => {
  expectUdp4(decodeFrame(frame(101, UDP4)));
  expectUdp4(decodeFrame(frame(228, UDP4)));
});

test('BSD NULL (0, host order) and LOOP (108, network order), AF_INET6 values of several OSes', () => {
  expectUdp4(decodeFrame(frame(0, Buffer.concat([hex('02000000'), UDP4]))));
  expectUdp4(decodeFrame(frame(108, Buffer.concat([hex('00000002'), UDP4]))));
  const v6 = ipv6Udp(Buffer.from('x'));
  for (const af of ['1e000000', '18000000', '1c000000']) expect(decodeFrame(frame(0, Buffer.concat([hex(af), v6]))).ip?.version).toBe(6);
});

test('unsupported link type and truncated headers are errors on the packet, not exceptions', () => {
  expect(decodeFrame(frame(147, UDP4)).error?.message).toMatch(/link type 147/);
  expect(decodeFrame(frame(101, UDP4.subarray(0, 10))).error?.layer).toBe('ipv4');
  expect(decodeFrame(frame(101, UDP4.subarray(0, 24))).error?.layer).toBe('udp');
  expect(decodeFrame(frame(1, Buffer.alloc(5))).error?.layer).toBe('ethernet');
});

const SRC6 = hex('20010db8000000000000000000000001');
const DST6 = hex('20010db8000000000000000000000002');

function ipv6(next: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(40);
  h.writeUInt32BE(0x60000000, 0);
  h.writeUInt16BE(payload.length, 4);
  h[6] = next;
  h[7] = 64;
  SRC6.copy(h, 8);
  DST6.copy(h, 24);
  return Buffer.concat([h, payload]);
}

function udpFor6(payload: Buffer, sport = 4359, dport = 4359): Buffer {
  const udp = Buffer.concat([u16(sport), u16(dport), u16(8 + payload.length), u16(0), payload]);
  const pseudo = Buffer.concat([SRC6, DST6, Buffer.from([0, 0]), u16(udp.length), Buffer.from([0, 0, 0, 17])]);
  udp.writeUInt16BE(referenceChecksum(Buffer.concat([pseudo, udp])), 6);
  return udp;
}

function ipv6Udp(payload: Buffer): Buffer {
  return ipv6(17, udpFor6(payload));
}

test('IPv6 with hop-by-hop, routing, destination options and AH before UDP', () => {
  const udp = udpFor6(Buffer.from('six'));
  const ah = Buffer.concat([Buffer.from([17, 4]), Buffer.alloc(22)]); // (4 + 2) * 4 = 24 bytes
  const dest = Buffer.concat([Buffer.from([51, 0]), Buffer.alloc(6)]);
  const routing = Buffer.concat([Buffer.from([60, 1]), Buffer.alloc(14)]); // (1 + 1) * 8 = 16 bytes
  const hop = Buffer.concat([Buffer.from([43, 0]), Buffer.alloc(6)]);
  const p = decodeFrame(frame(101, ipv6(0, Buffer.concat([hop, routing, dest, ah, udp]))));
  expect(p.error).toBeUndefined();
  expect(p.ip).toMatchObject({ version: 6, src: '2001:db8::1', dst: '2001:db8::2', protocol: 17, ttl: 64 });
  expect(p.udp).toMatchObject({ srcPort: 4359, dstPort: 4359 });
  expect(p.payload.toString()).toBe('six');
});

test('IPv6 atomic fragment (offset 0, M 0) is a whole packet', () => {
  const frag = Buffer.concat([Buffer.from([17, 0]), u16(0), hex('00000007')]);
  const p = decodeFrame(frame(101, ipv6(44, Buffer.concat([frag, udpFor6(Buffer.from('a'))]))));
  expect(p.ip?.fragment).toBeUndefined();
  expect(p.payload.toString()).toBe('a');
});

function ipv4Fragments(payload: Buffer, pieceSize: number, id: number): Buffer[] {
  const whole = ipv4Udp({ src: [10, 0, 0, 1], dst: [10, 0, 0, 2], sport: 1111, dport: 4359, payload, id });
  const l4 = whole.subarray(20);
  const out: Buffer[] = [];
  for (let o = 0; o < l4.length; o += pieceSize) {
    const more = o + pieceSize < l4.length;
    out.push(ipv4([10, 0, 0, 1], [10, 0, 0, 2], 17, l4.subarray(o, o + pieceSize), id, (more ? 0x2000 : 0) | (o / 8)));
  }
  return out;
}

function ipv6Fragments(payload: Buffer, pieceSize: number, id: number): Buffer[] {
  const l4 = udpFor6(payload);
  const out: Buffer[] = [];
  for (let o = 0; o < l4.length; o += pieceSize) {
    const more = o + pieceSize < l4.length;
    const fh = Buffer.concat([Buffer.from([17, 0]), u16(o | (more ? 1 : 0)), Buffer.alloc(4)]);
    fh.writeUInt32BE(id, 4);
    out.push(ipv6(44, Buffer.concat([fh, l4.subarray(o, o + pieceSize)])));
  }
  return out;
}

test('IPv4 fragments: held until complete, then UDP with all frame numbers', () => {
  const payload = Buffer.from(Array.from({ length: 3000 }, (_, i) => i & 0xff));
  const pieces = ipv4Fragments(payload, 1480, 77);
  expect(pieces).toHaveLength(3);
  const r = new IpReassembler();
  const single = decodeFrame(frame(101, pieces[1], 2));
  expect(single.ip?.fragment).toEqual({ offset: 1480, more: true });
  expect(single.udp).toBeUndefined();
  expect(r.push(frame(101, pieces[2], 3))).toBeUndefined();
  expect(r.push(frame(101, pieces[0], 1))).toBeUndefined();
  const done = r.push(frame(101, pieces[1], 2, 2000))!;
  expect(done.frames).toEqual([1, 2, 3]);
  expect(done.time).toBe(2000);
  expect(done.udp).toMatchObject({ srcPort: 1111, dstPort: 4359, length: 3008 });
  expect(done.payload.equals(payload)).toBe(true);
  expect(r.incomplete).toBe(0);
});

test('fragment reassembly in any order, with duplicates, IPv4 and IPv6, interleaved datagrams (property)', () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: 1, maxLength: 4000 }),
      fc.uint8Array({ minLength: 1, maxLength: 2000 }),
      fc.integer({ min: 1, max: 40 }),
      fc.boolean(),
      fc.array(fc.nat(), { maxLength: 5 }),
      fc.nat(),
      (a, b, pieceUnits, v6, dupIndexes, seed) => {
        const size = pieceUnits * 8;
        const make = v6 ? ipv6Fragments : ipv4Fragments;
        const all = [...make(Buffer.from(a), size, 1).map((d) => ({ d, id: 1 })), ...make(Buffer.from(b), size, 2).map((d) => ({ d, id: 2 }))];
        for (const i of dupIndexes) all.push(all[i % all.length]);
        // deterministic shuffle from the seed
        let s = seed + 1;
        for (let i = all.length - 1; i > 0; i--) {
          s = (s * 1103515245 + 12345) & 0x7fffffff;
          const j = s % (i + 1);
          [all[i], all[j]] = [all[j], all[i]];
        }
        const r = new IpReassembler();
        const done = new Map<string, Buffer>();
        all.forEach(({ d }, i) => {
          const p = r.push(frame(101, d, i + 1));
          if (p) done.set(p.payload.toString('hex'), p.payload);
        });
        expect(done.has(Buffer.from(a).toString('hex'))).toBe(true);
        expect(done.has(Buffer.from(b).toString('hex'))).toBe(true);
      },
    ),
    { numRuns: 150 },
  );
});

test('fragments of a datagram older than the timeout are dropped', () => {
  const pieces = ipv4Fragments(Buffer.alloc(100, 1), 48, 9);
  const r = new IpReassembler({ timeoutMs: 1000 });
  expect(r.push(frame(101, pieces[0], 1, 0))).toBeUndefined();
  expect(r.incomplete).toBe(1);
  expect(r.push(frame(101, pieces[1], 2, 5000))).toBeUndefined(); // the first piece expired
  expect(r.push(frame(101, pieces[2], 3, 5001))).toBeUndefined();
});

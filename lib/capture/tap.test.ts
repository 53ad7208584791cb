// The tap recorder writes a classic pcap whose every byte is checked here by reading the file with
// offsets from the pcap and protocol specifications (not with the library's reader), then read back.
import { test, expect } from '@playwright/test';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { LinkType, PcapWriter, TapRecorder, decodeAsArguments, decodeFrame, findExecutable, readCapture, CaptureClosedError, PacketBuildError } from './index.ts';
import { referenceChecksum, tempPath } from './test-helpers.ts';

interface RawRecord { seconds: number; micros: number; captured: number; original: number; data: Buffer }

function parseClassicLE(file: Buffer): { header: Buffer; records: RawRecord[] } {
  const records: RawRecord[] = [];
  let o = 24;
  while (o < file.length) {
    const captured = file.readUInt32LE(o + 8);
    records.push({ seconds: file.readUInt32LE(o), micros: file.readUInt32LE(o + 4), captured, original: file.readUInt32LE(o + 12), data: file.subarray(o + 16, o + 16 + captured) });
    o += 16 + captured;
  }
  return { header: file.subarray(0, 24), records };
}

function ipv4Pseudo(ip: Buffer, l4: Buffer): Buffer {
  const p = Buffer.alloc(12);
  ip.copy(p, 0, 12, 20);
  p[9] = ip[9];
  p.writeUInt16BE(l4.length, 10);
  return p;
}

function ipv6Pseudo(ip: Buffer, l4: Buffer): Buffer {
  const p = Buffer.alloc(40);
  ip.copy(p, 0, 8, 40);
  p.writeUInt32BE(l4.length, 32);
  p[39] = ip[6];
  return p;
}

const T0 = 1_700_000_000_123.456; // ms

test('pcap global header: magic a1b2c3d4, version 2.4, snaplen, link type', () => {
  const path = tempPath('h.pcap');
  const w = new PcapWriter(path, { linkType: LinkType.RAW, snapLength: 65535 });
  expect(w.close()).toBe(0);
  const f = readFileSync(path);
  expect(f.length).toBe(24);
  expect(f.readUInt32LE(0)).toBe(0xa1b2c3d4);
  expect([f.readUInt16LE(4), f.readUInt16LE(6)]).toEqual([2, 4]);
  expect(f.readUInt32LE(16)).toBe(65535);
  expect(f.readUInt32LE(20)).toBe(101);
  const be = tempPath('be.pcap');
  new PcapWriter(be, { byteOrder: 'BE' }).close();
  expect(readFileSync(be).readUInt32BE(0)).toBe(0xa1b2c3d4);
});

test('pcap writer numbers frames, splits time into seconds/microseconds and truncates at the snap length', () => {
  const path = tempPath('w.pcap');
  const w = new PcapWriter(path, { snapLength: 10, bufferBytes: 1 << 20 });
  expect(w.write(Buffer.alloc(4, 1), T0)).toBe(1);
  expect(w.write(Buffer.alloc(30, 2), T0 + 1.5)).toBe(2);
  expect(w.frames).toBe(2);
  expect(w.close()).toBe(2);
  expect(() => w.write(Buffer.alloc(1), T0)).toThrow(CaptureClosedError);
  const { records } = parseClassicLE(readFileSync(path));
  expect(records.map((r) => [r.seconds, r.micros, r.captured, r.original])).toEqual([
    [1_700_000_000, 123_456, 4, 4],
    [1_700_000_000, 124_956, 10, 30],
  ]);
});

test('tap UDP over IPv4 on Ethernet: every header field and both checksums', () => {
  const path = tempPath('udp4.pcap');
  const tap = new TapRecorder({ path });
  const payload = Buffer.from('0102030405', 'hex');
  expect(tap.udp({ address: '127.0.0.1', port: 40000 }, { address: '127.0.0.2', port: 4359 }, payload, T0)).toEqual([1]);
  expect(tap.udp({ address: '127.0.0.2', port: 4359 }, { address: '127.0.0.1', port: 40000 }, Buffer.alloc(0), T0 + 1)).toEqual([2]);
  expect(tap.frames).toBe(2);
  expect(tap.close()).toBe(2);
  const { header, records } = parseClassicLE(readFileSync(path));
  expect(header.readUInt32LE(20)).toBe(1);
  const f = records[0].data;
  expect(f.subarray(0, 6).toString('hex')).toBe('02007f000002'); // synthesized dst MAC from 127.0.0.2
  expect(f.subarray(6, 12).toString('hex')).toBe('02007f000001');
  expect(f.readUInt16BE(12)).toBe(0x0800);
  const ip = f.subarray(14);
  expect(ip[0]).toBe(0x45);
  expect(ip.readUInt16BE(2)).toBe(20 + 8 + 5);
  expect(ip.readUInt16BE(6)).toBe(0x4000); // DF, offset 0
  expect(ip[8]).toBe(64);
  expect(ip[9]).toBe(17);
  expect([...ip.subarray(12, 16)]).toEqual([127, 0, 0, 1]);
  expect([...ip.subarray(16, 20)]).toEqual([127, 0, 0, 2]);
  expect(referenceChecksum(ip.subarray(0, 20))).toBe(0); // a correct header sums to zero
  const udp = ip.subarray(20);
  expect([udp.readUInt16BE(0), udp.readUInt16BE(2), udp.readUInt16BE(4)]).toEqual([40000, 4359, 13]);
  expect(udp.subarray(8).equals(payload)).toBe(true);
  expect(referenceChecksum(Buffer.concat([ipv4Pseudo(ip, udp), udp]))).toBe(0);
  expect(records[1].data.length).toBe(14 + 20 + 8);
  const ip2 = records[1].data.subarray(14);
  expect(ip2.readUInt16BE(4)).not.toBe(ip.readUInt16BE(4)); // identification advances
});

test('tap UDP over IPv6 on raw IP: header, payload length, pseudo-header checksum; ::ffff:v4 goes out as IPv4', () => {
  const path = tempPath('udp6.pcap');
  const tap = new TapRecorder({ path, linkType: LinkType.RAW });
  tap.udp({ address: '::1', port: 5000 }, { address: 'fe80::1:2', port: 4359 }, Buffer.from('abc'), T0);
  tap.udp({ address: '::ffff:127.0.0.1', port: 1 }, { address: '127.0.0.1', port: 2 }, Buffer.from('x'), T0);
  expect(() => tap.udp({ address: '::1', port: 1 }, { address: '127.0.0.1', port: 2 }, Buffer.alloc(1))).toThrow(PacketBuildError);
  expect(() => tap.udp({ address: '127.0.0.1', port: 1 }, { address: '127.0.0.1', port: 2 }, Buffer.alloc(65508))).toThrow(PacketBuildError);
  tap.close();
  const { header, records } = parseClassicLE(readFileSync(path));
  expect(header.readUInt32LE(20)).toBe(101);
  expect(records).toHaveLength(2);
  const ip = records[0].data;
  expect(ip[0] >> 4).toBe(6);
  expect(ip.readUInt16BE(4)).toBe(8 + 3);
  expect(ip[6]).toBe(17);
  expect(ip.subarray(8, 24).toString('hex')).toBe('00000000000000000000000000000001');
  expect(ip.subarray(24, 40).toString('hex')).toBe('fe800000000000000000000000010002');
  const udp = ip.subarray(40);
  expect(referenceChecksum(Buffer.concat([ipv6Pseudo(ip, udp), udp]))).toBe(0);
  expect(udp.readUInt16BE(6)).not.toBe(0); // mandatory in IPv6 (RFC 8200 8.1)
  expect(records[1].data[0]).toBe(0x45);
});

test('tap TCP: handshake, MSS-split data with seq/ack, FIN exchange, checksums', () => {
  const path = tempPath('tcp.pcap');
  const isns = [1000, 5000];
  const tap = new TapRecorder({ path, mss: 100, initialSequence: () => isns.shift()! });
  const client = { address: '127.0.0.1', port: 50000 };
  const server = { address: '127.0.0.1', port: 8080 };
  const conn = tap.tcpOpen(client, server, T0);
  expect(conn.openFrames).toEqual([1, 2, 3]);
  expect(tap.tcpData(conn, true, Buffer.alloc(250, 0x61), T0 + 1)).toEqual([4, 5, 6]);
  expect(tap.tcpData(conn, false, Buffer.alloc(10, 0x62), T0 + 2)).toEqual([7]);
  expect(tap.tcpData(conn, false, Buffer.alloc(0), T0 + 2)).toEqual([]);
  expect(tap.tcpClose(conn, true, T0 + 3)).toEqual([8, 9, 10]);
  expect(() => tap.tcpData(conn, true, Buffer.alloc(1))).toThrow(CaptureClosedError);
  tap.close();
  const { records } = parseClassicLE(readFileSync(path));
  const segs = records.map((r) => {
    const ip = r.data.subarray(14);
    const tcp = ip.subarray(20);
    expect(referenceChecksum(ip.subarray(0, 20))).toBe(0);
    expect(referenceChecksum(Buffer.concat([ipv4Pseudo(ip, tcp), tcp]))).toBe(0);
    const dataOffset = (tcp[12] >> 4) * 4;
    return { sport: tcp.readUInt16BE(0), seq: tcp.readUInt32BE(4), ack: tcp.readUInt32BE(8), flags: tcp[13], len: tcp.length - dataOffset, opts: tcp.subarray(20, dataOffset).toString('hex') };
  });
  const SYN = 2, ACK = 0x10, PSH = 8, FIN = 1;
  expect(segs).toEqual([
    { sport: 50000, seq: 1000, ack: 0, flags: SYN, len: 0, opts: '02040064' },
    { sport: 8080, seq: 5000, ack: 1001, flags: SYN | ACK, len: 0, opts: '02040064' },
    { sport: 50000, seq: 1001, ack: 5001, flags: ACK, len: 0, opts: '' },
    { sport: 50000, seq: 1001, ack: 5001, flags: ACK, len: 100, opts: '' },
    { sport: 50000, seq: 1101, ack: 5001, flags: ACK, len: 100, opts: '' },
    { sport: 50000, seq: 1201, ack: 5001, flags: ACK | PSH, len: 50, opts: '' },
    { sport: 8080, seq: 5001, ack: 1251, flags: ACK | PSH, len: 10, opts: '' },
    { sport: 50000, seq: 1251, ack: 5011, flags: FIN | ACK, len: 0, opts: '' },
    { sport: 8080, seq: 5011, ack: 1252, flags: FIN | ACK, len: 0, opts: '' },
    { sport: 50000, seq: 1252, ack: 5012, flags: ACK, len: 0, opts: '' },
  ]);
});

test('tap sequence numbers wrap modulo 2^32', () => {
  const path = tempPath('wrap.pcap');
  const isns = [0xfffffff0, 7];
  const tap = new TapRecorder({ path, mss: 16, initialSequence: () => isns.shift()! });
  const conn = tap.tcpOpen({ address: '::1', port: 1 }, { address: '::1', port: 2 });
  tap.tcpData(conn, true, Buffer.alloc(40));
  expect(conn.clientNextSeq).toBe((0xfffffff1 + 40) % 2 ** 32);
  tap.close();
  const { records } = parseClassicLE(readFileSync(path));
  const seqs = records.slice(3).map((r) => r.data.subarray(14 + 40).readUInt32BE(4));
  expect(seqs).toEqual([0xfffffff1, 0x00000001, 0x00000011]);
});

test('a tap pcap reads back through readCapture and decodeFrame with the same fields', async () => {
  const path = tempPath('back.pcap');
  const tap = new TapRecorder({ path });
  tap.udp({ address: '10.0.0.1', port: 4359 }, { address: '10.0.0.2', port: 3333 }, Buffer.from('mikey'), T0);
  const c = tap.tcpOpen({ address: '2001:db8::1', port: 40001 }, { address: '2001:db8::2', port: 80 }, T0 + 1);
  tap.tcpData(c, true, Buffer.from('GET / HTTP/1.1\r\n\r\n'), T0 + 2);
  tap.close();
  const frames = [];
  for await (const f of readCapture(path)) frames.push(f);
  expect(frames.map((f) => f.frame)).toEqual([1, 2, 3, 4, 5]);
  expect(frames.every((f) => f.linkType === 1)).toBe(true);
  expect(frames[0].time).toBeCloseTo(T0, 3);
  const d0 = decodeFrame(frames[0]);
  expect(d0.ip).toMatchObject({ version: 4, src: '10.0.0.1', dst: '10.0.0.2', protocol: 17, ttl: 64 });
  expect(d0.udp).toMatchObject({ srcPort: 4359, dstPort: 3333, length: 13 });
  expect(d0.payload.toString()).toBe('mikey');
  const d4 = decodeFrame(frames[4]);
  expect(d4.ip).toMatchObject({ version: 6, src: '2001:db8::1', dst: '2001:db8::2', protocol: 6 });
  expect(d4.tcp).toMatchObject({ srcPort: 40001, dstPort: 80, flags: 0x18 });
  expect(d4.payload.toString()).toBe('GET / HTTP/1.1\r\n\r\n');
});

test('decode-as hint for MIKEY ports other than Wireshark\'s 2269', () => {
  expect(decodeAsArguments([4359, 2269])).toEqual(['-d', 'udp.port==4359,mikey']);
  expect(new TapRecorder({ path: tempPath('d.pcap') }).decodeAsArguments()).toEqual(['-d', 'udp.port==4359,mikey']);
});

test('tcpdump reads the tap pcap and finds every checksum correct', () => {
  const tcpdump = findExecutable('tcpdump');
  test.skip(!tcpdump, 'tcpdump is not installed');
  const path = tempPath('td.pcap');
  const tap = new TapRecorder({ path });
  tap.udp({ address: '127.0.0.1', port: 1234 }, { address: '127.0.0.1', port: 4359 }, Buffer.from('hello'));
  const c = tap.tcpOpen({ address: '::1', port: 40000 }, { address: '::1', port: 8080 });
  tap.tcpData(c, true, Buffer.from(`POST /keys HTTP/1.1\r\nContent-Length: 3000\r\n\r\n${'A'.repeat(3000)}`));
  tap.tcpClose(c);
  tap.close();
  const out = execFileSync(tcpdump!, ['-r', path, '-nn', '-vv'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  const lines = out.split('\n').filter((l) => /sum/.test(l));
  expect(lines.length).toBe(10);
  // tcpdump flags a wrong checksum as 'bad udp cksum' or '(incorrect -> ...)' (a checksum such as 0xbade is not one)
  expect(out).not.toMatch(/bad (udp|tcp) cksum|incorrect/i);
  expect(out.match(/udp sum ok/g)).toHaveLength(1);
  expect(out.match(/\(correct\)/g)).toHaveLength(9);
});

test('tshark decodes the tap pcap as HTTP and MIKEY', () => {
  const tshark = findExecutable('tshark');
  test.skip(!tshark, 'tshark (Wireshark) is not installed; the tcpdump test checks the checksums instead');
  const path = tempPath('ts.pcap');
  const tap = new TapRecorder({ path });
  // a MIKEY common header (RFC 3830 6.1): version 1, data type 0, next payload 0 (last), V 0, PRF 0, CSB ID, #CS 0, CS ID map type 0
  tap.udp({ address: '127.0.0.1', port: 1234 }, { address: '127.0.0.1', port: 4359 }, Buffer.from('0100000011223344000000', 'hex'));
  const c = tap.tcpOpen({ address: '127.0.0.1', port: 40000 }, { address: '127.0.0.1', port: 80 });
  tap.tcpData(c, true, Buffer.from('GET /x HTTP/1.1\r\nHost: a\r\n\r\n'));
  tap.tcpData(c, false, Buffer.from('HTTP/1.1 204 No Content\r\n\r\n'));
  tap.close();
  const out = execFileSync(tshark!, ['-r', path, ...tap.decodeAsArguments(), '-T', 'fields', '-e', 'frame.protocols'], { encoding: 'utf8' });
  expect(out).toMatch(/mikey/);
  expect(out).toMatch(/http/);
});

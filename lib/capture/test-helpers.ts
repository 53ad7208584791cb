// Test-only helpers: an independent checksum, temp paths, and hand-built capture files
// (written here from the format specifications, not through the library's writers).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function tempPath(name: string): string {
  return join(mkdtempSync(join(tmpdir(), 'mbms-capture-')), name);
}

/** RFC 1071 checksum over one buffer, written the plain way (sum 16-bit words, fold, complement). */
export function referenceChecksum(bytes: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < bytes.length; i += 2) sum += (bytes[i] << 8) + (i + 1 < bytes.length ? bytes[i + 1] : 0);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return ~sum & 0xffff;
}

export const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

/** IPv4 header (no options) + UDP, checksums by referenceChecksum; `flags` is the 16-bit flags/offset field. */
export function ipv4Udp(opts: { src: number[]; dst: number[]; sport: number; dport: number; payload: Buffer; id?: number; flagsOffset?: number; udpLengthOverride?: number }): Buffer {
  const udp = Buffer.alloc(8 + opts.payload.length);
  udp.writeUInt16BE(opts.sport, 0);
  udp.writeUInt16BE(opts.dport, 2);
  udp.writeUInt16BE(opts.udpLengthOverride ?? udp.length, 4);
  opts.payload.copy(udp, 8);
  const pseudo = Buffer.concat([Buffer.from(opts.src), Buffer.from(opts.dst), Buffer.from([0, 17]), u16(udp.length), udp]);
  udp.writeUInt16BE(referenceChecksum(pseudo) || 0xffff, 6);
  return ipv4(opts.src, opts.dst, 17, udp, opts.id ?? 1, opts.flagsOffset ?? 0);
}

export function ipv4(src: number[], dst: number[], protocol: number, payload: Buffer, id = 1, flagsOffset = 0): Buffer {
  const h = Buffer.alloc(20);
  h[0] = 0x45;
  h.writeUInt16BE(20 + payload.length, 2);
  h.writeUInt16BE(id, 4);
  h.writeUInt16BE(flagsOffset, 6);
  h[8] = 64;
  h[9] = protocol;
  Buffer.from(src).copy(h, 12);
  Buffer.from(dst).copy(h, 16);
  h.writeUInt16BE(referenceChecksum(h), 10);
  return Buffer.concat([h, payload]);
}

export function u16(v: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(v);
  return b;
}

export function u32le(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v);
  return b;
}

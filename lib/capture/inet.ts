// Internet addresses and the Internet checksum, shared by the packet builder and the decoder.
import { isIPv4, isIPv6 } from 'node:net';
import { PacketBuildError } from './errors.ts';

export interface Endpoint {
  address: string;
  port: number;
}

/** Link-layer header types (tcpdump.org LINKTYPE_* values) the reader and writers understand. */
export const LinkType = {
  NULL: 0, // BSD loopback: 4-byte address family in host byte order
  ETHERNET: 1,
  RAW: 101, // raw IPv4/IPv6, version taken from the first nibble
  LOOP: 108, // OpenBSD loopback: 4-byte address family in network byte order
  LINUX_SLL: 113,
  IPV4: 228,
  IPV6: 229,
  LINUX_SLL2: 276,
} as const;

/** DLT_RAW as some platforms numbered it in files (12 on most BSDs, 14 on OpenBSD); read as LINKTYPE_RAW. */
export const RAW_LINKTYPE_ALIASES: readonly number[] = [12, 14];

export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;
export const ETHERTYPE_IPV4 = 0x0800;
export const ETHERTYPE_IPV6 = 0x86dd;

/**
 * A dual-stack socket reports IPv4 peers as `::ffff:a.b.c.d`; on the wire that traffic is IPv4
 * (RFC 4291 2.5.5.2), so the recorder writes it as IPv4.
 */
export function normalizeAddress(address: string): string {
  const zoneless = address.replace(/%.*$/, '');
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(zoneless);
  return mapped ? mapped[1] : zoneless;
}

export function addressFamily(address: string): 4 | 6 {
  const a = normalizeAddress(address);
  if (isIPv4(a)) return 4;
  if (isIPv6(a)) return 6;
  throw new PacketBuildError(`not an IP address: ${JSON.stringify(address)}`);
}

/** Address text -> 4 or 16 network-order bytes. */
export function addressToBytes(address: string): Buffer {
  const a = normalizeAddress(address);
  if (isIPv4(a)) return Buffer.from(a.split('.').map(Number));
  if (!isIPv6(a)) throw new PacketBuildError(`not an IP address: ${JSON.stringify(address)}`);
  let text = a;
  // Embedded IPv4 tail (RFC 4291 2.2 form 3): rewrite as two hex groups.
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (dotted) {
    const [b0, b1, b2, b3] = dotted.slice(1).map(Number);
    text = text.slice(0, dotted.index) + `${((b0 << 8) | b1).toString(16)}:${((b2 << 8) | b3).toString(16)}`;
  }
  const [headText, restText] = text.includes('::') ? text.split('::') : [text, undefined];
  const head = headText ? headText.split(':').map((g) => parseInt(g, 16)) : [];
  const rest = restText ? restText.split(':').map((g) => parseInt(g, 16)) : [];
  const missing = 8 - head.length - rest.length;
  const groups = restText === undefined ? head : [...head, ...new Array<number>(missing).fill(0), ...rest];
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(g, i * 2));
  return out;
}

/** 4 or 16 bytes -> canonical text (RFC 5952 4: lowercase, longest zero run of 2+ groups compressed). */
export function bytesToAddress(bytes: Uint8Array): string {
  if (bytes.length === 4) return `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`;
  if (bytes.length !== 16) throw new RangeError(`address of ${bytes.length} bytes`);
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((bytes[i] << 8) | bytes[i + 1]);
  let bestStart = -1;
  let bestLength = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) { bestStart = i; bestLength = j - i; }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestLength < 2) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}

/** RFC 1071 one's-complement sum over `parts`, folded and complemented. */
export function internetChecksum(parts: readonly Uint8Array[]): number {
  let sum = 0;
  let odd = -1; // pending high byte when a part ends on an odd length
  for (const p of parts) {
    let i = 0;
    if (odd >= 0 && p.length > 0) {
      sum += (odd << 8) | p[0];
      odd = -1;
      i = 1;
    }
    for (; i + 1 < p.length; i += 2) sum += (p[i] << 8) | p[i + 1];
    if (i < p.length) odd = p[i];
    if (sum > 0x7fffffff) sum = (sum & 0xffff) + (sum >>> 16);
  }
  if (odd >= 0) sum += odd << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** Pseudo-header for UDP/TCP checksums: RFC 768 / RFC 9293 3.1 (IPv4), RFC 8200 8.1 (IPv6). */
export function pseudoHeader(src: Uint8Array, dst: Uint8Array, protocol: number, upperLength: number): Buffer {
  if (src.length === 4) {
    const h = Buffer.alloc(12);
    h.set(src, 0);
    h.set(dst, 4);
    h[9] = protocol;
    h.writeUInt16BE(upperLength, 10);
    return h;
  }
  const h = Buffer.alloc(40);
  h.set(src, 0);
  h.set(dst, 16);
  h.writeUInt32BE(upperLength, 32);
  h[39] = protocol;
  return h;
}

export function formatEndpoint(ep: Endpoint): string {
  return ep.address.includes(':') ? `[${ep.address}]:${ep.port}` : `${ep.address}:${ep.port}`;
}

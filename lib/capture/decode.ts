// Frame decoding: link layer -> IPv4 (RFC 791) / IPv6 (RFC 8200) -> UDP (RFC 768) / TCP (RFC 9293),
// and IP fragment reassembly (RFC 791 3.2, RFC 8200 4.5).
import { PacketDecodeError } from './errors.ts';
import { ETHERTYPE_IPV4, ETHERTYPE_IPV6, IPPROTO_TCP, IPPROTO_UDP, LinkType, bytesToAddress } from './inet.ts';
import type { CapturedFrame } from './read.ts';

export interface IpHeader {
  version: 4 | 6;
  src: string;
  dst: string;
  /** Upper-layer protocol after any IPv6 extension headers. */
  protocol: number;
  ttl: number;
  /** IPv4 identification or IPv6 fragment identification. */
  identification?: number;
  /** Present when this packet is a fragment. */
  fragment?: { offset: number; more: boolean };
}

export interface UdpHeader {
  srcPort: number;
  dstPort: number;
  length: number;
  checksum: number;
}

export interface TcpHeader {
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  flags: number;
  window: number;
  checksum: number;
}

export interface DecodedPacket {
  /** Frame number(s) that carried the packet: several for a reassembled IP datagram. */
  frames: number[];
  /** Time of the (last) frame, epoch ms. */
  time: number;
  linkType: number;
  vlan?: number[];
  ip?: IpHeader;
  udp?: UdpHeader;
  tcp?: TcpHeader;
  /** Bytes after the last decoded header: UDP/TCP payload, or the IP payload of an unreassembled fragment. */
  payload: Buffer;
  /** Set when decoding stopped early (non-IP frame, truncated header, ...). */
  error?: PacketDecodeError;
}

const TCP_FLAG_NAMES = ['FIN', 'SYN', 'RST', 'PSH', 'ACK', 'URG', 'ECE', 'CWR'];
export function tcpFlagNames(flags: number): string[] {
  return TCP_FLAG_NAMES.filter((_, i) => flags & (1 << i));
}

/** Link layer: returns the offset and ethertype-like IP version of the network header, or an error. */
function linkPayload(linkType: number, data: Buffer): { offset: number; version?: 4 | 6; vlan?: number[] } | PacketDecodeError {
  const versionAt = (offset: number) => {
    if (data.length <= offset) return new PacketDecodeError('link', 'no network header');
    const v = data[offset] >> 4;
    if (v !== 4 && v !== 6) return new PacketDecodeError('link', `IP version nibble ${v}`);
    return { offset, version: v as 4 | 6 };
  };
  const byEthertype = (type: number, offset: number, vlan?: number[]) => {
    if (type === ETHERTYPE_IPV4) return { offset, version: 4 as const, vlan };
    if (type === ETHERTYPE_IPV6) return { offset, version: 6 as const, vlan };
    return new PacketDecodeError('link', `ethertype 0x${type.toString(16).padStart(4, '0')} is not IP`);
  };
  switch (linkType) {
    case LinkType.ETHERNET: {
      if (data.length < 14) return new PacketDecodeError('ethernet', 'truncated header');
      let offset = 12;
      let type = data.readUInt16BE(offset);
      const vlan: number[] = [];
      // IEEE 802.1Q (0x8100), 802.1ad (0x88a8) and the pre-standard QinQ 0x9100: 4-byte tags, possibly stacked
      while (type === 0x8100 || type === 0x88a8 || type === 0x9100) {
        if (data.length < offset + 6) return new PacketDecodeError('ethernet', 'truncated VLAN tag');
        vlan.push(data.readUInt16BE(offset + 2) & 0x0fff);
        offset += 4;
        type = data.readUInt16BE(offset);
      }
      return byEthertype(type, offset + 2, vlan.length ? vlan : undefined);
    }
    case LinkType.LINUX_SLL:
      // Linux cooked v1: packet type, ARPHRD, address length, 8-byte address, protocol (16 bytes)
      if (data.length < 16) return new PacketDecodeError('sll', 'truncated header');
      return byEthertype(data.readUInt16BE(14), 16);
    case LinkType.LINUX_SLL2:
      // Linux cooked v2: protocol first, then reserved, ifindex, ARPHRD, packet type, address (20 bytes)
      if (data.length < 20) return new PacketDecodeError('sll2', 'truncated header');
      return byEthertype(data.readUInt16BE(0), 20);
    case LinkType.NULL:
    case LinkType.LOOP:
      // 4-byte address family (host order for NULL, network order for LOOP); the AF_INET6 value differs
      // by OS (10, 24, 28, 30), so the IP version nibble decides.
      return versionAt(4);
    case LinkType.RAW:
      return versionAt(0);
    case LinkType.IPV4:
    case LinkType.IPV6: {
      const r = versionAt(0);
      return r;
    }
    default:
      return new PacketDecodeError('link', `unsupported link type ${linkType}`);
  }
}

/** Decodes one frame without state: fragments come back with `ip.fragment` set and no transport header. */
export function decodeFrame(frame: CapturedFrame): DecodedPacket {
  const base: DecodedPacket = { frames: [frame.frame], time: frame.time, linkType: frame.linkType, payload: Buffer.alloc(0) };
  const link = linkPayload(frame.linkType, frame.data);
  if (link instanceof PacketDecodeError) {
    base.error = link;
    return base;
  }
  if (link.vlan) base.vlan = link.vlan;
  const ip = link.version === 4 ? decodeIpv4(frame.data, link.offset) : decodeIpv6(frame.data, link.offset);
  if (ip instanceof PacketDecodeError) {
    base.error = ip;
    return base;
  }
  base.ip = ip.header;
  if (ip.header.fragment) {
    base.payload = ip.payload;
    return base;
  }
  return decodeTransport(base, ip.payload);
}

function decodeIpv4(data: Buffer, offset: number): { header: IpHeader; payload: Buffer } | PacketDecodeError {
  if (data.length < offset + 20) return new PacketDecodeError('ipv4', 'truncated header');
  const ihl = (data[offset] & 0x0f) * 4;
  if (ihl < 20 || data.length < offset + ihl) return new PacketDecodeError('ipv4', `bad header length ${ihl}`);
  const totalLength = data.readUInt16BE(offset + 2);
  if (totalLength < ihl) return new PacketDecodeError('ipv4', `total length ${totalLength} below header length`);
  const flagsOffset = data.readUInt16BE(offset + 6);
  const fragmentOffset = (flagsOffset & 0x1fff) * 8;
  const more = (flagsOffset & 0x2000) !== 0;
  const header: IpHeader = {
    version: 4,
    src: bytesToAddress(data.subarray(offset + 12, offset + 16)),
    dst: bytesToAddress(data.subarray(offset + 16, offset + 20)),
    protocol: data[offset + 9],
    ttl: data[offset + 8],
    identification: data.readUInt16BE(offset + 4),
  };
  if (more || fragmentOffset > 0) header.fragment = { offset: fragmentOffset, more };
  // Total length excludes link-layer padding (Ethernet minimum frame size); TSO captures may show 0
  const end = totalLength === 0 ? data.length : Math.min(data.length, offset + totalLength);
  return { header, payload: data.subarray(offset + ihl, end) };
}

// RFC 8200 4: extension headers that are skipped to reach the upper layer (fragment handled apart)
const IPV6_HOP_BY_HOP = 0;
const IPV6_ROUTING = 43;
const IPV6_FRAGMENT = 44;
const IPV6_AH = 51;
const IPV6_DESTINATION = 60;
const IPV6_MOBILITY = 135;
const IPV6_HIP = 139;
const IPV6_SHIM6 = 140;

function decodeIpv6(data: Buffer, offset: number): { header: IpHeader; payload: Buffer } | PacketDecodeError {
  if (data.length < offset + 40) return new PacketDecodeError('ipv6', 'truncated header');
  const payloadLength = data.readUInt16BE(offset + 4);
  const end = payloadLength === 0 ? data.length : Math.min(data.length, offset + 40 + payloadLength); // 0: jumbogram
  const header: IpHeader = {
    version: 6,
    src: bytesToAddress(data.subarray(offset + 8, offset + 24)),
    dst: bytesToAddress(data.subarray(offset + 24, offset + 40)),
    protocol: data[offset + 6],
    ttl: data[offset + 7],
  };
  let next = header.protocol;
  let p = offset + 40;
  for (;;) {
    if (next === IPV6_FRAGMENT) {
      if (end < p + 8) return new PacketDecodeError('ipv6', 'truncated fragment header');
      const field = data.readUInt16BE(p + 2);
      header.fragment = { offset: field & 0xfff8, more: (field & 1) !== 0 };
      header.identification = data.readUInt32BE(p + 4);
      next = data[p];
      p += 8;
      // An atomic fragment (offset 0, M=0; RFC 6946) is a whole packet
      if (header.fragment.offset === 0 && !header.fragment.more) delete header.fragment;
      else break; // the upper layer starts only in the reassembled payload
      continue;
    }
    if (next === IPV6_HOP_BY_HOP || next === IPV6_ROUTING || next === IPV6_DESTINATION || next === IPV6_MOBILITY || next === IPV6_HIP || next === IPV6_SHIM6) {
      if (end < p + 2) return new PacketDecodeError('ipv6', `truncated extension header ${next}`);
      const length = (data[p + 1] + 1) * 8;
      next = data[p];
      p += length;
      continue;
    }
    if (next === IPV6_AH) {
      if (end < p + 2) return new PacketDecodeError('ipv6', 'truncated authentication header');
      const length = (data[p + 1] + 2) * 4; // RFC 4302 2.2: in 32-bit words minus 2
      next = data[p];
      p += length;
      continue;
    }
    break;
  }
  if (p > end) return new PacketDecodeError('ipv6', 'extension headers overrun the packet');
  header.protocol = next;
  return { header, payload: data.subarray(p, end) };
}

/** Decodes the UDP or TCP header into `packet` (mutated and returned). */
function decodeTransport(packet: DecodedPacket, ipPayload: Buffer): DecodedPacket {
  const protocol = packet.ip!.protocol;
  packet.payload = ipPayload;
  if (protocol === IPPROTO_UDP) {
    if (ipPayload.length < 8) {
      packet.error = new PacketDecodeError('udp', 'truncated header');
      return packet;
    }
    const length = ipPayload.readUInt16BE(4);
    packet.udp = { srcPort: ipPayload.readUInt16BE(0), dstPort: ipPayload.readUInt16BE(2), length, checksum: ipPayload.readUInt16BE(6) };
    // The UDP length bounds the payload (trailing bytes are padding); a shorter capture keeps what is there
    const end = length >= 8 ? Math.min(ipPayload.length, length) : ipPayload.length;
    packet.payload = ipPayload.subarray(8, end);
    return packet;
  }
  if (protocol === IPPROTO_TCP) {
    if (ipPayload.length < 20) {
      packet.error = new PacketDecodeError('tcp', 'truncated header');
      return packet;
    }
    const dataOffset = (ipPayload[12] >> 4) * 4;
    if (dataOffset < 20 || dataOffset > ipPayload.length) {
      packet.error = new PacketDecodeError('tcp', `bad data offset ${dataOffset}`);
      return packet;
    }
    packet.tcp = {
      srcPort: ipPayload.readUInt16BE(0),
      dstPort: ipPayload.readUInt16BE(2),
      seq: ipPayload.readUInt32BE(4),
      ack: ipPayload.readUInt32BE(8),
      flags: ipPayload.readUInt16BE(12) & 0x01ff,
      window: ipPayload.readUInt16BE(14),
      checksum: ipPayload.readUInt16BE(16),
    };
    packet.payload = ipPayload.subarray(dataOffset);
  }
  return packet;
}

interface FragmentSet {
  pieces: { offset: number; data: Buffer }[];
  frames: number[];
  totalLength?: number;
  firstTime: number;
  template: DecodedPacket;
}

export interface IpReassemblerOptions {
  /** Drop incomplete datagrams older than this (capture time, ms); RFC 791 suggests ~15 s, Linux uses 30 s. */
  timeoutMs?: number;
  /** Upper bound of fragment bytes held across all datagrams. */
  maxBufferedBytes?: number;
}

/**
 * Stateful decoder: decodes frames and reassembles IPv4 and IPv6 fragments. `push` returns the packet
 * when it is whole (immediately for unfragmented packets), or undefined while fragments are missing.
 * Overlapping fragments: the bytes that arrived first are kept.
 */
export class IpReassembler {
  private readonly pending = new Map<string, FragmentSet>();
  private readonly timeoutMs: number;
  private readonly maxBufferedBytes: number;
  private bufferedBytes = 0;

  constructor(options: IpReassemblerOptions = {}) {
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.maxBufferedBytes = options.maxBufferedBytes ?? 64 << 20;
  }

  /** Datagrams still waiting for fragments. */
  get incomplete(): number {
    return this.pending.size;
  }

  push(frame: CapturedFrame): DecodedPacket | undefined {
    return this.pushDecoded(decodeFrame(frame));
  }

  pushDecoded(packet: DecodedPacket): DecodedPacket | undefined {
    this.expire(packet.time);
    const ip = packet.ip;
    if (!ip?.fragment || packet.error) return packet;
    const key = `${ip.version}|${ip.src}|${ip.dst}|${ip.version === 4 ? ip.protocol : ''}|${ip.identification}`;
    let set = this.pending.get(key);
    if (!set) {
      set = { pieces: [], frames: [], firstTime: packet.time, template: packet };
      this.pending.set(key, set);
    }
    set.frames.push(...packet.frames);
    set.pieces.push({ offset: ip.fragment.offset, data: packet.payload });
    this.bufferedBytes += packet.payload.length;
    if (ip.fragment.offset === 0) set.template = packet; // carries the upper-layer protocol (IPv6: after the fragment header)
    if (!ip.fragment.more) set.totalLength = ip.fragment.offset + packet.payload.length;
    if (this.bufferedBytes > this.maxBufferedBytes) this.dropOldest();
    if (set.totalLength === undefined) return undefined;
    const whole = assemble(set.pieces, set.totalLength);
    if (!whole) return undefined;
    this.pending.delete(key);
    this.bufferedBytes -= set.pieces.reduce((n, p) => n + p.data.length, 0);
    const template = set.template;
    const header: IpHeader = { ...template.ip!, protocol: template.ip!.protocol };
    delete header.fragment;
    const frames = [...set.frames].sort((a, b) => a - b);
    return decodeTransport({ frames, time: packet.time, linkType: template.linkType, vlan: template.vlan, ip: header, payload: Buffer.alloc(0) }, whole);
  }

  private expire(now: number): void {
    if (this.pending.size === 0 || !Number.isFinite(now)) return;
    for (const [key, set] of this.pending) {
      if (now - set.firstTime > this.timeoutMs) this.drop(key, set);
    }
  }

  private dropOldest(): void {
    const first = this.pending.entries().next();
    if (!first.done) this.drop(first.value[0], first.value[1]);
  }

  private drop(key: string, set: FragmentSet): void {
    this.pending.delete(key);
    this.bufferedBytes -= set.pieces.reduce((n, p) => n + p.data.length, 0);
  }
}

/** Joins fragments when they cover [0, total) without a hole; earlier arrivals win on overlap. */
function assemble(pieces: { offset: number; data: Buffer }[], total: number): Buffer | undefined {
  const sorted = pieces.map((p, i) => ({ ...p, order: i })).sort((a, b) => a.offset - b.offset || a.order - b.order);
  let covered = 0;
  for (const p of sorted) {
    if (p.offset > covered) return undefined;
    covered = Math.max(covered, p.offset + p.data.length);
  }
  if (covered < total) return undefined;
  const out = Buffer.alloc(total);
  const filled = new Uint8Array(total);
  for (const p of pieces) {
    for (let i = 0; i < p.data.length && p.offset + i < total; i++) {
      if (!filled[p.offset + i]) {
        out[p.offset + i] = p.data[i];
        filled[p.offset + i] = 1;
      }
    }
  }
  return out;
}

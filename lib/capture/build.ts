// Packet synthesis for the tap recorder: Ethernet II, IPv4 (RFC 791), IPv6 (RFC 8200), UDP (RFC 768),
// TCP (RFC 9293), with correct lengths and checksums so Wireshark shows no errors.
import { PacketBuildError } from './errors.ts';
import {
  ETHERTYPE_IPV4,
  ETHERTYPE_IPV6,
  IPPROTO_TCP,
  IPPROTO_UDP,
  addressToBytes,
  internetChecksum,
  pseudoHeader,
} from './inet.ts';

export const TcpFlags = { FIN: 0x01, SYN: 0x02, RST: 0x04, PSH: 0x08, ACK: 0x10, URG: 0x20 } as const;

const IPV4_HEADER_LENGTH = 20;
const IPV6_HEADER_LENGTH = 40;
const UDP_HEADER_LENGTH = 8;
const TCP_HEADER_LENGTH = 20;
const MAX_IP_PAYLOAD_V4 = 0xffff - IPV4_HEADER_LENGTH;
const MAX_IP_PAYLOAD_V6 = 0xffff; // without a jumbogram option (RFC 2675), which we never need

/** Locally administered unicast MAC (IEEE 802 U/L bit set) derived from the IP address, stable per host. */
export function syntheticMac(ip: Uint8Array): Buffer {
  const mac = Buffer.alloc(6);
  mac[0] = 0x02;
  mac.set(ip.subarray(ip.length - 4), 2);
  if (ip.length === 16) mac[1] = ip[0] ^ ip[1] ^ ip[15];
  return mac;
}

export function ethernetFrame(srcIp: Uint8Array, dstIp: Uint8Array, ipPacket: Uint8Array): Buffer {
  const frame = Buffer.alloc(14 + ipPacket.length);
  syntheticMac(dstIp).copy(frame, 0);
  syntheticMac(srcIp).copy(frame, 6);
  frame.writeUInt16BE(srcIp.length === 4 ? ETHERTYPE_IPV4 : ETHERTYPE_IPV6, 12);
  frame.set(ipPacket, 14);
  return frame;
}

export interface IpOptions {
  /** IPv4 identification (RFC 6864: any value when DF is set); IPv6 ignores it. */
  identification?: number;
  ttl?: number;
}

/** Wraps an upper-layer segment in an IPv4 or IPv6 header; the family follows the address length. */
export function ipPacket(src: Uint8Array, dst: Uint8Array, protocol: number, payload: Uint8Array, opts: IpOptions = {}): Buffer {
  if (src.length !== dst.length) throw new PacketBuildError('source and destination are of different IP families');
  const ttl = opts.ttl ?? 64;
  if (src.length === 4) {
    if (payload.length > MAX_IP_PAYLOAD_V4) {
      throw new PacketBuildError(`IPv4 payload of ${payload.length} bytes exceeds ${MAX_IP_PAYLOAD_V4}; the recorder fragments nothing`);
    }
    const p = Buffer.alloc(IPV4_HEADER_LENGTH + payload.length);
    p[0] = 0x45; // version 4, IHL 5 words
    p.writeUInt16BE(p.length, 2);
    p.writeUInt16BE((opts.identification ?? 0) & 0xffff, 4);
    p.writeUInt16BE(0x4000, 6); // DF: never fragmented
    p[8] = ttl;
    p[9] = protocol;
    p.set(src, 12);
    p.set(dst, 16);
    p.writeUInt16BE(internetChecksum([p.subarray(0, IPV4_HEADER_LENGTH)]), 10);
    p.set(payload, IPV4_HEADER_LENGTH);
    return p;
  }
  if (payload.length > MAX_IP_PAYLOAD_V6) {
    throw new PacketBuildError(`IPv6 payload of ${payload.length} bytes exceeds ${MAX_IP_PAYLOAD_V6}`);
  }
  const p = Buffer.alloc(IPV6_HEADER_LENGTH + payload.length);
  p.writeUInt32BE(0x60000000, 0); // version 6, traffic class 0, flow label 0
  p.writeUInt16BE(payload.length, 4);
  p[6] = protocol;
  p[7] = ttl;
  p.set(src, 8);
  p.set(dst, 24);
  p.set(payload, IPV6_HEADER_LENGTH);
  return p;
}

export function udpDatagram(src: Uint8Array, srcPort: number, dst: Uint8Array, dstPort: number, payload: Uint8Array): Buffer {
  const length = UDP_HEADER_LENGTH + payload.length;
  if (length > 0xffff) throw new PacketBuildError(`UDP datagram of ${length} bytes exceeds 65535`);
  const d = Buffer.alloc(length);
  d.writeUInt16BE(srcPort, 0);
  d.writeUInt16BE(dstPort, 2);
  d.writeUInt16BE(length, 4);
  d.set(payload, UDP_HEADER_LENGTH);
  const sum = internetChecksum([pseudoHeader(src, dst, IPPROTO_UDP, length), d]);
  // RFC 768: a computed checksum of zero is sent as all ones (zero means "no checksum").
  d.writeUInt16BE(sum === 0 ? 0xffff : sum, 6);
  return d;
}

export interface TcpSegmentFields {
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  flags: number;
  window?: number;
  /** MSS option (RFC 9293 3.7.1), sent on SYN segments. */
  mss?: number;
  payload?: Uint8Array;
}

export function tcpSegment(src: Uint8Array, dst: Uint8Array, f: TcpSegmentFields): Buffer {
  const options = f.mss !== undefined ? Buffer.from([2, 4, (f.mss >> 8) & 0xff, f.mss & 0xff]) : Buffer.alloc(0);
  const headerLength = TCP_HEADER_LENGTH + options.length;
  const payload = f.payload ?? Buffer.alloc(0);
  const s = Buffer.alloc(headerLength + payload.length);
  s.writeUInt16BE(f.srcPort, 0);
  s.writeUInt16BE(f.dstPort, 2);
  s.writeUInt32BE(f.seq >>> 0, 4);
  s.writeUInt32BE(f.ack >>> 0, 8);
  s.writeUInt16BE(((headerLength / 4) << 12) | f.flags, 12);
  s.writeUInt16BE(f.window ?? 0xffff, 14);
  options.copy(s, TCP_HEADER_LENGTH);
  s.set(payload, headerLength);
  s.writeUInt16BE(internetChecksum([pseudoHeader(src, dst, IPPROTO_TCP, s.length), s]), 16);
  return s;
}

export { IPPROTO_TCP, IPPROTO_UDP, addressToBytes };

// The `tap` capture backend: the tester records what its own sockets send and receive, with their real
// addresses, ports and timestamps, as synthesized frames in a classic pcap that Wireshark decodes
// (HTTP on any TCP port by heuristics, MIKEY on UDP 2269 by default or with "Decode As" for others).
import { randomInt } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { CaptureClosedError, PacketBuildError } from './errors.ts';
import { IPPROTO_TCP, IPPROTO_UDP, TcpFlags, ethernetFrame, ipPacket, tcpSegment, udpDatagram } from './build.ts';
import { type Endpoint, LinkType, addressToBytes, normalizeAddress } from './inet.ts';
import { PcapWriter } from './pcap-writer.ts';

/** Protocol §9 O1: UDP port of MIKEY towards the UE. */
export const DEFAULT_MIKEY_PORT = 4359;

export interface TapRecorderOptions {
  /** pcap file to create (overwritten). */
  path: string;
  /** Ethernet with synthesized MACs (default, decoded everywhere) or raw IP (101). */
  linkType?: typeof LinkType.ETHERNET | typeof LinkType.RAW;
  /** Largest TCP payload per segment; default 1460 over IPv4 and 1440 over IPv6 (1500-byte MTU). */
  mss?: number;
  /** UDP ports carrying MIKEY, for decoding hints (`decodeAsArguments`); default [4359]. */
  mikeyPorts?: number[];
  /** Initial sequence numbers of synthesized connections (default random, RFC 9293 3.4.1). */
  initialSequence?: () => number;
  /** Clock for calls without an explicit time, epoch ms (default performance.timeOrigin + performance.now()). */
  now?: () => number;
}

/** A TCP connection the recorder synthesizes; pass it back to tcpData/tcpClose. */
export interface TapTcpConnection {
  /** Sequence number of this connection in the recorder, 1-based. */
  readonly id: number;
  readonly client: Endpoint;
  readonly server: Endpoint;
  /** Frame numbers of the SYN, SYN-ACK and ACK. */
  readonly openFrames: readonly number[];
  /** Next sequence number each side sends. */
  clientNextSeq: number;
  serverNextSeq: number;
  state: 'open' | 'closed';
}

export function epochMs(): number {
  return performance.timeOrigin + performance.now();
}

/**
 * tshark/Wireshark arguments that decode the given UDP ports as MIKEY
 * (Wireshark registers MIKEY on UDP 2269 only).
 */
export function decodeAsArguments(mikeyPorts: readonly number[]): string[] {
  return mikeyPorts.filter((p) => p !== 2269).flatMap((p) => ['-d', `udp.port==${p},mikey`]);
}

export class TapRecorder {
  readonly path: string;
  readonly linkType: number;
  readonly mikeyPorts: readonly number[];
  private readonly writer: PcapWriter;
  private readonly mss: number | undefined;
  private readonly initialSequence: () => number;
  private readonly now: () => number;
  private ipIdentification = 0;
  private connectionCount = 0;

  constructor(options: TapRecorderOptions) {
    this.path = options.path;
    this.linkType = options.linkType ?? LinkType.ETHERNET;
    if (this.linkType !== LinkType.ETHERNET && this.linkType !== LinkType.RAW) {
      throw new PacketBuildError(`tap recorder writes link type 1 or 101, not ${this.linkType}`);
    }
    this.mss = options.mss;
    if (this.mss !== undefined && !(this.mss >= 1 && this.mss <= 65495)) throw new PacketBuildError(`bad MSS ${this.mss}`);
    this.mikeyPorts = options.mikeyPorts ?? [DEFAULT_MIKEY_PORT];
    this.initialSequence = options.initialSequence ?? (() => randomInt(0, 2 ** 32 - 1));
    this.now = options.now ?? epochMs;
    this.writer = new PcapWriter(this.path, { linkType: this.linkType });
  }

  /** Frames written so far; the next frame written gets `frames + 1`. */
  get frames(): number {
    return this.writer.frames;
  }

  get closed(): boolean {
    return this.writer.closed;
  }

  /** tshark arguments to decode this recorder's MIKEY ports (see decodeAsArguments). */
  decodeAsArguments(): string[] {
    return decodeAsArguments(this.mikeyPorts);
  }

  /** Records one UDP datagram (never fragmented) and returns its frame number in a one-element array. */
  udp(src: Endpoint, dst: Endpoint, payload: Uint8Array, time: number = this.now()): number[] {
    const s = addressToBytes(src.address);
    const d = addressToBytes(dst.address);
    this.checkFamilies(s, d, src, dst);
    const packet = ipPacket(s, d, IPPROTO_UDP, udpDatagram(s, src.port, d, dst.port, payload), this.ipOptions());
    return [this.emit(s, d, packet, time)];
  }

  /** Records a synthetic three-way handshake (RFC 9293 3.5) and returns the connection. */
  tcpOpen(client: Endpoint, server: Endpoint, time: number = this.now()): TapTcpConnection {
    const c = addressToBytes(client.address);
    const s = addressToBytes(server.address);
    this.checkFamilies(c, s, client, server);
    const mss = this.segmentSize(c.length);
    const clientIsn = this.initialSequence() >>> 0;
    const serverIsn = this.initialSequence() >>> 0;
    const frames = [
      this.segment(c, s, { srcPort: client.port, dstPort: server.port, seq: clientIsn, ack: 0, flags: TcpFlags.SYN, mss }, time),
      this.segment(s, c, { srcPort: server.port, dstPort: client.port, seq: serverIsn, ack: clientIsn + 1, flags: TcpFlags.SYN | TcpFlags.ACK, mss }, time),
      this.segment(c, s, { srcPort: client.port, dstPort: server.port, seq: clientIsn + 1, ack: serverIsn + 1, flags: TcpFlags.ACK }, time),
    ];
    return {
      id: ++this.connectionCount,
      client: { address: normalizeAddress(client.address), port: client.port },
      server: { address: normalizeAddress(server.address), port: server.port },
      openFrames: frames,
      clientNextSeq: (clientIsn + 1) >>> 0,
      serverNextSeq: (serverIsn + 1) >>> 0,
      state: 'open',
    };
  }

  /**
   * Records `bytes` sent on `conn` by the client (fromClient) or the server, split into segments of at
   * most MSS bytes with PSH on the last one; returns their frame numbers (none for empty data).
   */
  tcpData(conn: TapTcpConnection, fromClient: boolean, bytes: Uint8Array, time: number = this.now()): number[] {
    this.checkOpen(conn);
    const { from, to, fromEp, toEp } = this.directions(conn, fromClient);
    const mss = this.segmentSize(from.length);
    const frames: number[] = [];
    for (let offset = 0; offset < bytes.length; offset += mss) {
      const chunk = bytes.subarray(offset, Math.min(offset + mss, bytes.length));
      const last = offset + chunk.length >= bytes.length;
      const seq = fromClient ? conn.clientNextSeq : conn.serverNextSeq;
      const ack = fromClient ? conn.serverNextSeq : conn.clientNextSeq;
      frames.push(
        this.segment(from, to, { srcPort: fromEp.port, dstPort: toEp.port, seq, ack, flags: TcpFlags.ACK | (last ? TcpFlags.PSH : 0), payload: chunk }, time),
      );
      if (fromClient) conn.clientNextSeq = (conn.clientNextSeq + chunk.length) >>> 0;
      else conn.serverNextSeq = (conn.serverNextSeq + chunk.length) >>> 0;
    }
    return frames;
  }

  /** Records the FIN exchange (FIN-ACK, FIN-ACK, ACK; RFC 9293 3.6) started by the client unless told otherwise. */
  tcpClose(conn: TapTcpConnection, fromClient = true, time: number = this.now()): number[] {
    this.checkOpen(conn);
    const first = this.directions(conn, fromClient);
    const second = this.directions(conn, !fromClient);
    const seqOf = (client: boolean) => (client ? conn.clientNextSeq : conn.serverNextSeq);
    const finFlags = TcpFlags.FIN | TcpFlags.ACK;
    const frames: number[] = [];
    frames.push(this.segment(first.from, first.to, { srcPort: first.fromEp.port, dstPort: first.toEp.port, seq: seqOf(fromClient), ack: seqOf(!fromClient), flags: finFlags }, time));
    this.advance(conn, fromClient, 1);
    frames.push(this.segment(second.from, second.to, { srcPort: second.fromEp.port, dstPort: second.toEp.port, seq: seqOf(!fromClient), ack: seqOf(fromClient), flags: finFlags }, time));
    this.advance(conn, !fromClient, 1);
    frames.push(this.segment(first.from, first.to, { srcPort: first.fromEp.port, dstPort: first.toEp.port, seq: seqOf(fromClient), ack: seqOf(!fromClient), flags: TcpFlags.ACK }, time));
    conn.state = 'closed';
    return frames;
  }

  /** Records an RST from one side (an aborted connection, RFC 9293 3.5.2). */
  tcpReset(conn: TapTcpConnection, fromClient: boolean, time: number = this.now()): number[] {
    this.checkOpen(conn);
    const d = this.directions(conn, fromClient);
    const seq = fromClient ? conn.clientNextSeq : conn.serverNextSeq;
    const ack = fromClient ? conn.serverNextSeq : conn.clientNextSeq;
    conn.state = 'closed';
    return [this.segment(d.from, d.to, { srcPort: d.fromEp.port, dstPort: d.toEp.port, seq, ack, flags: TcpFlags.RST | TcpFlags.ACK }, time)];
  }

  /** Flushes and closes the file; returns the number of frames written. */
  close(): number {
    return this.writer.close();
  }

  private advance(conn: TapTcpConnection, client: boolean, n: number): void {
    if (client) conn.clientNextSeq = (conn.clientNextSeq + n) >>> 0;
    else conn.serverNextSeq = (conn.serverNextSeq + n) >>> 0;
  }

  private directions(conn: TapTcpConnection, fromClient: boolean) {
    const fromEp = fromClient ? conn.client : conn.server;
    const toEp = fromClient ? conn.server : conn.client;
    return { fromEp, toEp, from: addressToBytes(fromEp.address), to: addressToBytes(toEp.address) };
  }

  private checkOpen(conn: TapTcpConnection): void {
    if (this.writer.closed) throw new CaptureClosedError(`tap recorder ${this.path}`);
    if (conn.state !== 'open') throw new CaptureClosedError(`TCP connection ${conn.id}`);
  }

  private checkFamilies(a: Uint8Array, b: Uint8Array, ea: Endpoint, eb: Endpoint): void {
    if (a.length !== b.length) throw new PacketBuildError(`mixed IP families: ${ea.address} and ${eb.address}`);
  }

  /** Largest TCP payload per synthesized segment for this address family. */
  maxSegmentSize(ep: Endpoint): number {
    return this.segmentSize(addressToBytes(ep.address).length);
  }

  private segmentSize(addressLength: number): number {
    return this.mss ?? (addressLength === 4 ? 1460 : 1440);
  }

  private ipOptions() {
    this.ipIdentification = (this.ipIdentification + 1) & 0xffff;
    return { identification: this.ipIdentification };
  }

  private segment(src: Uint8Array, dst: Uint8Array, fields: Parameters<typeof tcpSegment>[2], time: number): number {
    return this.emit(src, dst, ipPacket(src, dst, IPPROTO_TCP, tcpSegment(src, dst, fields), this.ipOptions()), time);
  }

  private emit(src: Uint8Array, dst: Uint8Array, packet: Buffer, time: number): number {
    if (this.writer.closed) throw new CaptureClosedError(`tap recorder ${this.path}`);
    const frame = this.linkType === LinkType.ETHERNET ? ethernetFrame(src, dst, packet) : packet;
    return this.writer.write(frame, time);
  }
}

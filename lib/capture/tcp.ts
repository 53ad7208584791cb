// TCP stream reassembly (RFC 9293 3.4, 3.10.7.4): per connection and direction, in sequence order,
// tolerating out-of-order, retransmitted and overlapping segments and captures started mid-connection.
import type { DecodedPacket } from './decode.ts';
import type { Endpoint } from './inet.ts';

const FIN = 0x01;
const SYN = 0x02;
const RST = 0x04;
const ACK = 0x10;

export interface TcpConnectionInfo {
  /** 1-based, in order of the first packet seen. */
  id: number;
  client: Endpoint;
  server: Endpoint;
  /** Frames of SYN/SYN-ACK/FIN/RST and other payload-less segments, for evidence. */
  controlFrames: number[];
  firstTime: number;
}

/** In-order stream bytes from one segment (or the part of it not seen before). */
export interface StreamChunk {
  data: Buffer;
  frame: number;
  time: number;
  /** Offset of data[0] in the direction's byte stream (0 = first byte after the SYN). */
  offset: number;
}

export type Direction = 'client' | 'server'; // who sent the bytes

export interface TcpStreamHandler {
  onOpen?(conn: TcpConnectionInfo): void;
  onData(conn: TcpConnectionInfo, from: Direction, chunk: StreamChunk): void;
  /** Bytes lost from the capture (a hole never filled); the stream resumes after it. */
  onGap?(conn: TcpConnectionInfo, from: Direction, offset: number, length: number): void;
  /** The sender finished (FIN reached in sequence, RST, or end of capture). */
  onEnd?(conn: TcpConnectionInfo, from: Direction, reason: 'fin' | 'rst' | 'eof'): void;
  onClose?(conn: TcpConnectionInfo): void;
}

export interface TcpReassemblerOptions {
  /** Says which endpoint is the server when no SYN was captured (e.g. its port is an HTTP port). */
  isServer?: (ep: Endpoint) => boolean;
  /** Out-of-order bytes held per direction before the hole is declared lost (default 8 MiB). */
  maxPendingBytes?: number;
}

interface Segment {
  seq: number;
  data: Buffer;
  frame: number;
  time: number;
}

class DirectionState {
  /** Next expected absolute sequence number; undefined until the first segment of this direction. */
  next: number | undefined;
  synSeen = false;
  delivered = 0;
  pending: Segment[] = [];
  pendingBytes = 0;
  finSeq: number | undefined;
  ended = false;
}

/** Signed distance a - b in 32-bit sequence space (RFC 9293 3.4 modular comparison). */
function seqDiff(a: number, b: number): number {
  return (a - b) | 0;
}

class Connection {
  readonly info: TcpConnectionInfo;
  readonly fromClient = new DirectionState();
  readonly fromServer = new DirectionState();
  closed = false;

  constructor(info: TcpConnectionInfo) {
    this.info = info;
  }
}

const key = (a: Endpoint, b: Endpoint) => `${a.address}|${a.port}|${b.address}|${b.port}`;

export class TcpReassembler {
  private readonly connections = new Map<string, Connection>();
  private readonly handler: TcpStreamHandler;
  private readonly isServer: ((ep: Endpoint) => boolean) | undefined;
  private readonly maxPendingBytes: number;
  private connectionCount = 0;

  constructor(handler: TcpStreamHandler, options: TcpReassemblerOptions = {}) {
    this.handler = handler;
    this.isServer = options.isServer;
    this.maxPendingBytes = options.maxPendingBytes ?? 8 << 20;
  }

  /** Feeds one decoded packet; non-TCP packets are ignored. */
  push(packet: DecodedPacket): void {
    const tcp = packet.tcp;
    const ip = packet.ip;
    if (!tcp || !ip || packet.error) return;
    const src: Endpoint = { address: ip.src, port: tcp.srcPort };
    const dst: Endpoint = { address: ip.dst, port: tcp.dstPort };
    const frame = packet.frames[packet.frames.length - 1];
    let conn = this.connections.get(key(src, dst)) ?? this.connections.get(key(dst, src));
    const isSyn = (tcp.flags & SYN) !== 0;
    const pureSyn = isSyn && (tcp.flags & ACK) === 0;
    if (conn && pureSyn && conn.closed) conn = undefined; // a new SYN on a finished 4-tuple: port reuse
    if (!conn) {
      // Bare ACKs of an unknown connection (e.g. the last ACK after a capture began) open nothing
      if (!isSyn && packet.payload.length === 0 && !(tcp.flags & FIN)) return;
      let client = src;
      let server = dst;
      if (isSyn) {
        // SYN from the client; a SYN-ACK seen first comes from the server
        if (!pureSyn) [client, server] = [dst, src];
      } else if (this.isServer) {
        if (this.isServer(src) && !this.isServer(dst)) [client, server] = [dst, src];
      } else if (src.port < dst.port) {
        [client, server] = [dst, src]; // heuristic: the ephemeral (higher) port is the client's
      }
      conn = new Connection({ id: ++this.connectionCount, client, server, controlFrames: [], firstTime: packet.time });
      this.connections.set(key(client, server), conn);
      this.handler.onOpen?.(conn.info);
    }
    const fromClient = src.address === conn.info.client.address && src.port === conn.info.client.port;
    const dir = fromClient ? conn.fromClient : conn.fromServer;
    const direction: Direction = fromClient ? 'client' : 'server';
    if (packet.payload.length === 0 || tcp.flags & (SYN | FIN | RST)) conn.info.controlFrames.push(frame);

    if (tcp.flags & RST) {
      this.finish(conn, 'rst');
      return;
    }
    let seq = tcp.seq;
    if (isSyn) {
      if (!dir.synSeen) {
        dir.synSeen = true;
        dir.next = (seq + 1) >>> 0;
      }
      seq = (seq + 1) >>> 0; // data on a SYN (RFC 7413) follows the SYN's sequence number
    }
    if (packet.payload.length > 0 && !dir.ended) {
      if (dir.next === undefined) dir.next = seq;
      else if (!dir.synSeen && dir.delivered === 0 && seqDiff(seq, dir.next) < 0) dir.next = seq; // mid-stream start: earlier bytes arrived late
      this.accept(conn, direction, dir, { seq, data: packet.payload, frame, time: packet.time });
    }
    if (tcp.flags & FIN) {
      const finSeq = (seq + packet.payload.length) >>> 0;
      dir.finSeq ??= finSeq;
      if (dir.next === undefined) dir.next = finSeq;
    }
    this.checkFin(conn, direction, dir);
  }

  /** End of capture: delivers what is still held (skipping holes) and ends every stream. */
  end(): void {
    for (const conn of this.connections.values()) this.finish(conn, 'eof');
    this.connections.clear();
  }

  private accept(conn: Connection, direction: Direction, dir: DirectionState, seg: Segment): void {
    const d = seqDiff(seg.seq, dir.next!);
    if (d + seg.data.length <= 0) return; // retransmission of bytes already delivered
    if (d < 0) seg = { ...seg, seq: dir.next!, data: seg.data.subarray(-d) };
    // insert sorted by sequence (stable: the earlier arrival first among equal starts)
    let i = dir.pending.length;
    while (i > 0 && seqDiff(dir.pending[i - 1].seq, seg.seq) > 0) i--;
    dir.pending.splice(i, 0, seg);
    dir.pendingBytes += seg.data.length;
    this.drain(conn, direction, dir);
    if (dir.pendingBytes > this.maxPendingBytes) this.skipHole(conn, direction, dir);
  }

  private drain(conn: Connection, direction: Direction, dir: DirectionState): void {
    while (dir.pending.length > 0) {
      const seg = dir.pending[0];
      const d = seqDiff(seg.seq, dir.next!);
      if (d > 0) return; // hole before it
      dir.pending.shift();
      dir.pendingBytes -= seg.data.length;
      if (d + seg.data.length <= 0) continue; // fully covered by what was delivered (overlap)
      const data = d < 0 ? seg.data.subarray(-d) : seg.data;
      this.handler.onData(conn.info, direction, { data, frame: seg.frame, time: seg.time, offset: dir.delivered });
      dir.delivered += data.length;
      dir.next = (dir.next! + data.length) >>> 0;
    }
  }

  private skipHole(conn: Connection, direction: Direction, dir: DirectionState): void {
    if (dir.pending.length === 0) return;
    const missing = seqDiff(dir.pending[0].seq, dir.next!);
    if (missing > 0) {
      this.handler.onGap?.(conn.info, direction, dir.delivered, missing);
      dir.delivered += missing;
      dir.next = dir.pending[0].seq;
    }
    this.drain(conn, direction, dir);
  }

  private checkFin(conn: Connection, direction: Direction, dir: DirectionState): void {
    if (dir.ended || dir.finSeq === undefined || dir.next === undefined) return;
    if (seqDiff(dir.next, dir.finSeq) >= 0) {
      dir.ended = true;
      this.handler.onEnd?.(conn.info, direction, 'fin');
      if (conn.fromClient.ended && conn.fromServer.ended) this.close(conn);
    }
  }

  private finish(conn: Connection, reason: 'rst' | 'eof'): void {
    if (conn.closed) return;
    for (const [direction, dir] of [['client', conn.fromClient], ['server', conn.fromServer]] as const) {
      if (dir.ended) continue;
      while (dir.pending.length > 0) this.skipHole(conn, direction, dir);
      dir.ended = true;
      this.handler.onEnd?.(conn.info, direction, reason);
    }
    this.close(conn);
  }

  private close(conn: Connection): void {
    if (conn.closed) return;
    conn.closed = true;
    this.handler.onClose?.(conn.info);
  }
}

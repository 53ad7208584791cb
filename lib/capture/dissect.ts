// One pass over a capture: frames -> IP reassembly -> UDP datagrams and TCP streams -> HTTP/1.1 messages.
import { type DecodedPacket, IpReassembler } from './decode.ts';
import { type HttpErrorEvent, type HttpMessage, HttpConnectionParser } from './http.ts';
import type { Endpoint } from './inet.ts';
import { type CapturedFrame, readCapture } from './read.ts';
import { type Direction, type TcpConnectionInfo, TcpReassembler } from './tcp.ts';

export interface UdpDatagram {
  frames: number[];
  time: number;
  src: Endpoint;
  dst: Endpoint;
  payload: Buffer;
}

export interface DissectorHandlers {
  onUdp?(datagram: UdpDatagram): void;
  onHttpMessage?(conn: TcpConnectionInfo, message: HttpMessage): void;
  onHttpError?(conn: TcpConnectionInfo, from: Direction, event: HttpErrorEvent): void;
  /** Frames that could not be decoded down to UDP/TCP (non-IP, truncated, other protocols). */
  onUndecoded?(packet: DecodedPacket): void;
  onConnectionClose?(conn: TcpConnectionInfo): void;
}

export interface DissectorOptions {
  /** Which TCP connections to parse as HTTP (default: all). */
  isHttp?: (conn: TcpConnectionInfo) => boolean;
  /** Server side of connections whose SYN is not in the capture. */
  isServer?: (ep: Endpoint) => boolean;
}

/** Push-style dissector; `readCaptureInto` drives it from a file. */
export class Dissector {
  private readonly ip = new IpReassembler();
  private readonly tcp: TcpReassembler;
  private readonly http = new Map<number, HttpConnectionParser | null>();

  constructor(private readonly handlers: DissectorHandlers, private readonly options: DissectorOptions = {}) {
    this.tcp = new TcpReassembler(
      {
        onOpen: (conn) => {
          const parse = this.options.isHttp?.(conn) ?? true;
          this.http.set(
            conn.id,
            parse
              ? new HttpConnectionParser({
                  onMessage: (m) => this.handlers.onHttpMessage?.(conn, m),
                  onError: (e) => this.handlers.onHttpError?.(conn, e.stream === 'request' ? 'client' : 'server', e),
                })
              : null,
          );
        },
        onData: (conn, from, chunk) => {
          const p = this.http.get(conn.id);
          if (p) (from === 'client' ? p.requests : p.responses).push(chunk);
        },
        onGap: (conn, from, offset, length) => {
          const p = this.http.get(conn.id);
          if (p) (from === 'client' ? p.requests : p.responses).gap(offset, length);
        },
        onEnd: (conn, from) => {
          const p = this.http.get(conn.id);
          if (p) (from === 'client' ? p.requests : p.responses).end();
        },
        onClose: (conn) => {
          this.http.delete(conn.id);
          this.handlers.onConnectionClose?.(conn);
        },
      },
      { isServer: options.isServer },
    );
  }

  push(frame: CapturedFrame): void {
    const packet = this.ip.push(frame);
    if (!packet) return;
    if (packet.error || !packet.ip) {
      this.handlers.onUndecoded?.(packet);
      return;
    }
    if (packet.udp) {
      this.handlers.onUdp?.({
        frames: packet.frames,
        time: packet.time,
        src: { address: packet.ip.src, port: packet.udp.srcPort },
        dst: { address: packet.ip.dst, port: packet.udp.dstPort },
        payload: packet.payload,
      });
    } else if (packet.tcp) {
      this.tcp.push(packet);
    } else {
      this.handlers.onUndecoded?.(packet);
    }
  }

  /** End of input: flushes held TCP data and ends every stream. */
  end(): void {
    this.tcp.end();
  }
}

/** Reads a whole capture file through a Dissector; resolves with the number of frames read. */
export async function dissectCapture(path: string, handlers: DissectorHandlers, options: DissectorOptions = {}): Promise<number> {
  const dissector = new Dissector(handlers, options);
  let frames = 0;
  for await (const frame of readCapture(path)) {
    frames = frame.frame;
    dissector.push(frame);
  }
  dissector.end();
  return frames;
}

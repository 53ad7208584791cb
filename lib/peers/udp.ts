// A UDP socket of the tester that records every datagram it sends and receives as a MIKEY event of the
// case's LiveTrace (pcap frame + decoded event), so every check can cite the frames that prove it.

import { createSocket, type Socket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import type { LiveTrace, MikeyEvent, Endpoint } from '../trace/index.ts';
import { PeerBindError, PeerClosedError } from './errors.ts';

export class RecordedUdpSocket {
  readonly local: Endpoint;
  private closed = false;

  private constructor(private readonly socket: Socket, private readonly trace: LiveTrace, local: Endpoint) {
    this.local = local;
    socket.on('message', (msg, rinfo) => {
      if (this.closed) return;
      this.trace.recordMikey('received', this.local, { address: rinfo.address, port: rinfo.port }, msg);
    });
    // A late ICMP error (port unreachable on loopback) must not crash the harness.
    socket.on('error', () => undefined);
  }

  static async bind(trace: LiveTrace, what: string, address: string, port: number): Promise<RecordedUdpSocket> {
    const socket = createSocket({ type: isIPv6(address) ? 'udp6' : 'udp4', reuseAddr: false });
    await new Promise<void>((resolve, reject) => {
      const onError = (e: Error) => reject(new PeerBindError(what, address, port, { cause: e }));
      socket.once('error', onError);
      socket.bind({ address, port, exclusive: true }, () => {
        socket.off('error', onError);
        resolve();
      });
    });
    const a = socket.address();
    return new RecordedUdpSocket(socket, trace, { address: a.address, port: a.port });
  }

  /** Sends one datagram and records it (frame written before the send completes, time = now). */
  async send(bytes: Buffer, to: Endpoint): Promise<MikeyEvent> {
    if (this.closed) throw new PeerClosedError('UDP socket');
    const event = this.trace.recordMikey('sent', this.local, to, bytes);
    await new Promise<void>((resolve) => {
      // A send error on loopback (no listener) is not the harness's fault: the event stays recorded.
      this.socket.send(bytes, to.port, to.address, () => resolve());
    });
    return event;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await new Promise<void>((resolve) => this.socket.close(() => resolve()));
  }
}

// Capture backends behind one small interface (DESIGN.md "Capture"): `tap` (no privileges, the
// tester's own sockets), `tcpdump` (the wire, proven to record before the first stimulus) and `raw`
// (raw-socket on loopback, root only).
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { connect as netConnect, type Socket as NetSocket } from 'node:net';
import { accessSync, constants, readFileSync, statSync, watch, type FSWatcher } from 'node:fs';
import { createRequire } from 'node:module';
import { delimiter, join } from 'node:path';
import { decodeFrame } from './decode.ts';
import { CaptureBackendError, CaptureUnavailableError } from './errors.ts';
import { type Endpoint, LinkType } from './inet.ts';
import { PcapWriter } from './pcap-writer.ts';
import { readCapture } from './read.ts';
import { TapRecorder, type TapRecorderOptions, epochMs } from './tap.ts';

export type CaptureKind = 'tap' | 'tcpdump' | 'raw';

/** A capture running for one test case. Versioned by `kind`; start before the first stimulus. */
export interface CaptureBackend {
  readonly kind: CaptureKind;
  readonly path: string;
  /** Resolves once the capture is proven to be recording. */
  start(): Promise<void>;
  /**
   * Stops, flushes and closes the file; `frames` is the number of frames in it. `caughtUp` is false when
   * the closing marker never reached the file, so packets of the last moments may be missing.
   */
  stop(): Promise<{ path: string; frames: number; caughtUp?: boolean }>;
}

export interface TapCaptureOptions extends TapRecorderOptions {}

/** The `tap` backend: nothing to start; peers write into `recorder` (or a LiveTrace built on it). */
export class TapCapture implements CaptureBackend {
  readonly kind = 'tap' as const;
  readonly path: string;
  readonly recorder: TapRecorder;

  constructor(options: TapCaptureOptions) {
    this.path = options.path;
    this.recorder = new TapRecorder(options);
  }

  async start(): Promise<void> {}

  async stop(): Promise<{ path: string; frames: number }> {
    return { path: this.path, frames: this.recorder.close() };
  }
}

/** Start of every marker datagram's payload. */
export const MARKER_PREFIX = Buffer.from('mbms-conform capture marker');

/** Datagram the tcpdump/raw backends send to themselves to prove they are recording. */
export interface MarkerOptions {
  /** Where to send it: default the discard port (RFC 863) on 127.0.0.1. */
  target?: Endpoint;
}

export interface TcpdumpCaptureOptions {
  path: string;
  /** Interface (default 'lo'). */
  iface?: string;
  /** pcap-filter expression; the marker datagram is let through as well. */
  filter?: string;
  /** Marker proving the capture records (default: discard port on 127.0.0.1 when iface is lo or any); false: rely on "listening on" only. */
  marker?: MarkerOptions | false;
  /** tcpdump executable (default: found on PATH). */
  tcpdump?: string;
  /** Bound for start and stop (default 10 s). */
  timeoutMs?: number;
  /** Try even when not root (tcpdump may hold CAP_NET_RAW itself). */
  skipPrivilegeCheck?: boolean;
  /**
   * Kernel capture buffer in KiB (tcpdump -B; default 32768). With libpcap's default 2 MiB ring and a
   * 256 KiB snap length, a busy 2-CPU host overran the ring and dropped packets of short captures
   * (3 to 7 in 20 runs); with 32 MiB none of 20 did.
   */
  bufferKiB?: number;
  /** Snap length in octets (tcpdump -s; default 262144, whole loopback frames). */
  snapLength?: number;
}

/** Finds an executable on PATH, like `which`. */
export function findExecutable(name: string): string | undefined {
  if (name.includes('/')) return isExecutable(name) ? name : undefined;
  const dirs = (process.env.PATH ?? '').split(delimiter).concat(['/usr/sbin', '/sbin', '/usr/bin']);
  for (const dir of dirs) {
    if (dir && isExecutable(join(dir, name))) return join(dir, name);
  }
  return undefined;
}

function isExecutable(p: string): boolean {
  try {
    accessSync(p, constants.X_OK);
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

export function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

/**
 * Sends marker datagrams until `isRecorded()` holds, checking on every change `subscribe` reports and
 * after every send; false when the bound expires first.
 */
function proveWithMarker(
  target: Endpoint,
  token: Buffer,
  isRecorded: () => boolean,
  subscribe: (onChange: () => void) => () => void,
  timeoutMs: number,
): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createSocket(target.address.includes(':') ? 'udp6' : 'udp4');
    socket.on('error', () => {}); // ICMP port unreachable from the discard port is expected
    let settled = false;
    const finish = (ok: boolean) => {
      if (settled) return;
      settled = true;
      clearInterval(resend);
      clearTimeout(bound);
      unsubscribe();
      socket.close();
      resolve(ok);
    };
    const check = () => {
      if (!settled && isRecorded()) finish(true);
    };
    // The first marker can race the filter attachment, so it is resent at a modest pace until seen
    const send = () => socket.send(token, target.port, target.address, check);
    const unsubscribe = subscribe(check);
    const resend = setInterval(send, 100);
    const bound = setTimeout(() => finish(false), timeoutMs);
    send();
  });
}

function fileContains(file: string, token: Buffer): boolean {
  try {
    return readFileSync(file).includes(token);
  } catch {
    return false;
  }
}

function watchFile(file: string, onChange: () => void): () => void {
  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(file, onChange);
    watcher.on('error', () => {});
  } catch {
    // not created yet: the checks after each marker send still run
  }
  return () => watcher?.close();
}

export class TcpdumpCapture implements CaptureBackend {
  readonly kind = 'tcpdump' as const;
  readonly path: string;
  private readonly options: TcpdumpCaptureOptions;
  private child: ChildProcess | undefined;
  private exited: Promise<number | null> | undefined;
  private stderr = '';
  private marker: Endpoint | undefined;

  constructor(options: TcpdumpCaptureOptions) {
    this.path = options.path;
    this.options = options;
  }

  async start(): Promise<void> {
    const executable = findExecutable(this.options.tcpdump ?? 'tcpdump');
    if (!executable) throw new CaptureUnavailableError('tcpdump', 'tcpdump not found on PATH (install it, e.g. apt-get install tcpdump)');
    if (!isRoot() && !this.options.skipPrivilegeCheck) throw new CaptureUnavailableError('tcpdump', 'capturing needs root (run as root, or set skipPrivilegeCheck when tcpdump has CAP_NET_RAW)');
    const iface = this.options.iface ?? 'lo';
    const timeoutMs = this.options.timeoutMs ?? 10_000;
    const marker = this.options.marker === false ? undefined : (this.options.marker?.target ?? (iface === 'lo' || iface === 'any' ? { address: '127.0.0.1', port: 9 } : undefined));
    this.marker = marker;
    let filter = this.options.filter;
    if (filter && marker) filter = `(${filter}) or (udp and dst port ${marker.port} and dst host ${marker.address})`;
    // -U: write each packet as it arrives; --immediate-mode: no kernel buffering delay; -n: no DNS
    // -B: a kernel ring large enough that a loaded host does not drop packets of the case
    const args = ['-i', iface, '-U', '--immediate-mode', '-n', '-s', String(this.options.snapLength ?? 262_144),
      '-B', String(this.options.bufferKiB ?? 32_768), '-w', this.path];
    if (filter) args.push(filter);
    const child = spawn(executable, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    this.child = child;
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    child.stderr!.setEncoding('utf8');
    const listening = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new CaptureBackendError('tcpdump', `no "listening on" within ${timeoutMs} ms; stderr: ${this.stderr.trim()}`)), timeoutMs);
      child.stderr!.on('data', (text: string) => {
        this.stderr += text;
        if (this.stderr.includes('listening on')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('error', (e) => {
        clearTimeout(timer);
        reject(new CaptureBackendError('tcpdump', `cannot run ${executable}: ${e.message}`, { cause: e }));
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        const text = this.stderr.trim();
        const Err = /permission|not permitted|privilege/i.test(text) ? CaptureUnavailableError : CaptureBackendError;
        reject(new Err('tcpdump', `exited with ${code} before recording: ${text}`));
      });
    });
    try {
      await listening;
      if (marker && !(await this.markerRecorded(marker, 'start'))) {
        throw new CaptureBackendError('tcpdump', `marker datagram to ${marker.address}:${marker.port} not recorded within ${timeoutMs} ms`);
      }
    } catch (e) {
      await this.kill();
      throw e;
    }
  }

  /** Sends a marker and resolves once tcpdump has written it (loopback keeps order, so earlier packets are in too). */
  private markerRecorded(marker: Endpoint, phase: 'start' | 'stop'): Promise<boolean> {
    const token = Buffer.concat([MARKER_PREFIX, Buffer.from(` ${phase} ${randomUUID()}`)]);
    return proveWithMarker(marker, token, () => fileContains(this.path, token), (onChange) => watchFile(this.path, onChange), this.options.timeoutMs ?? 10_000);
  }

  async stop(): Promise<{ path: string; frames: number; caughtUp: boolean }> {
    let caughtUp = true;
    if (this.child && this.child.exitCode === null && this.child.signalCode === null) {
      const timeoutMs = this.options.timeoutMs ?? 10_000;
      // SIGINT drops packets tcpdump has not read yet; a closing marker written to the file proves it is caught up
      if (this.marker) caughtUp = await this.markerRecorded(this.marker, 'stop');
      this.child.kill('SIGINT'); // tcpdump flushes and closes the file on SIGINT
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs)));
      const result = await Promise.race([this.exited!, timedOut]);
      clearTimeout(timer);
      if (result === 'timeout') {
        await this.kill();
        throw new CaptureBackendError('tcpdump', `did not exit within ${timeoutMs} ms of SIGINT`);
      }
    }
    let frames = 0;
    for await (const _frame of readCapture(this.path)) frames++;
    return { path: this.path, frames, caughtUp };
  }

  /** tcpdump's own stderr so far (for diagnostics). */
  get diagnostics(): string {
    return this.stderr;
  }

  private async kill(): Promise<void> {
    if (this.child && this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGKILL');
      await this.exited;
    }
  }
}

export interface RawCaptureOptions {
  path: string;
  /** Keep only packets to or from these ports (default: all UDP and TCP on the host). */
  ports?: number[];
  marker?: MarkerOptions | false;
  timeoutMs?: number;
}

interface RawSocketModule {
  createSocket(options: { protocol: number; addressFamily?: number; bufferSize?: number }): RawSocket;
  Protocol: Record<string, number>;
  AddressFamily: Record<string, number>;
}
interface RawSocket {
  on(event: 'message', listener: (buffer: Buffer, source: string) => void): void;
  on(event: 'error', listener: (error: Error) => void): void;
  close(): void;
}

/**
 * The `raw` backend: IPv4 raw sockets for UDP and TCP (Linux hands inbound packets to them with the IP
 * header, and on loopback every packet is inbound once), written as LINKTYPE_RAW. Root only.
 */
export class RawCapture implements CaptureBackend {
  readonly kind = 'raw' as const;
  readonly path: string;
  private readonly options: RawCaptureOptions;
  private writer: PcapWriter | undefined;
  private sockets: RawSocket[] = [];
  private markerWaiter: ((data: Buffer) => void) | undefined;
  private tcpMarkerWaiter: (() => void) | undefined;
  private marker: Endpoint | undefined;

  constructor(options: RawCaptureOptions) {
    this.path = options.path;
    this.options = options;
  }

  async start(): Promise<void> {
    if (!isRoot()) throw new CaptureUnavailableError('raw', 'raw sockets need root');
    let raw: RawSocketModule;
    try {
      raw = createRequire(import.meta.url)('raw-socket') as RawSocketModule;
    } catch (e) {
      throw new CaptureUnavailableError('raw', `raw-socket module not available: ${(e as Error).message}`);
    }
    this.writer = new PcapWriter(this.path, { linkType: LinkType.RAW });
    const ports = this.options.ports ? new Set(this.options.ports) : undefined;
    const marker = this.options.marker === false ? undefined : (this.options.marker?.target ?? { address: '127.0.0.1', port: 9 });
    for (const protocol of [raw.Protocol.UDP, raw.Protocol.TCP]) {
      const socket = raw.createSocket({ protocol, bufferSize: 65536 });
      socket.on('error', () => {});
      socket.on('message', (buffer) => {
        const time = epochMs();
        const packet = decodeFrame({ frame: 0, time, linkType: LinkType.RAW, data: buffer, originalLength: buffer.length, interfaceId: 0 });
        const l4 = packet.udp ?? packet.tcp;
        if (packet.udp && marker && packet.udp.dstPort === marker.port && packet.payload.subarray(0, MARKER_PREFIX.length).equals(MARKER_PREFIX)) {
          this.markerWaiter?.(packet.payload);
          return; // markers stay out of the case's pcap
        }
        if (packet.tcp && marker && (packet.tcp.dstPort === marker.port || packet.tcp.srcPort === marker.port)) {
          // the TCP marker: a connection attempt to the discard port, proving the TCP socket is caught up
          if (packet.tcp.dstPort === marker.port) this.tcpMarkerWaiter?.();
          return;
        }
        if (ports && (!l4 || (!ports.has(l4.srcPort) && !ports.has(l4.dstPort)))) return;
        this.writer?.write(buffer, time);
      });
      this.sockets.push(socket);
    }
    this.marker = marker;
    if (marker && !(await this.markerSeen(marker))) {
      this.marker = undefined;
      await this.stop();
      throw new CaptureBackendError('raw', 'marker datagram not seen on the raw socket');
    }
  }

  /**
   * Sends a UDP marker and a TCP connection attempt to the marker endpoint and resolves once each raw
   * socket delivered its marker: each socket reads in arrival order, so every earlier packet is written.
   * Markers are not written to the file.
   */
  private async markerSeen(marker: Endpoint): Promise<boolean> {
    const token = Buffer.concat([MARKER_PREFIX, Buffer.from(` ${randomUUID()}`)]);
    let udpSeen = false;
    let tcpSeen = false;
    const attempts: NetSocket[] = [];
    const ok = await proveWithMarker(
      marker,
      token,
      () => udpSeen && tcpSeen,
      (onChange) => {
        this.markerWaiter = (data) => {
          if (data.equals(token)) udpSeen = true;
          onChange();
        };
        this.tcpMarkerWaiter = () => {
          tcpSeen = true;
          onChange();
        };
        const attempt = netConnect(marker.port, marker.address);
        attempt.on('error', () => {}); // refused (RST) is the usual answer from the discard port
        attempts.push(attempt);
        return () => {
          this.markerWaiter = undefined;
          this.tcpMarkerWaiter = undefined;
        };
      },
      this.options.timeoutMs ?? 10_000,
    );
    for (const a of attempts) a.destroy();
    return ok;
  }

  async stop(): Promise<{ path: string; frames: number; caughtUp: boolean }> {
    // raw sockets deliver in order: once a closing marker is seen, every earlier packet was written
    const caughtUp = this.marker && this.sockets.length > 0 ? await this.markerSeen(this.marker) : true;
    this.marker = undefined;
    for (const s of this.sockets) s.close();
    this.sockets = [];
    const frames = this.writer?.close() ?? 0;
    return { path: this.path, frames, caughtUp };
  }
}

export type CreateCaptureOptions =
  | ({ kind: 'tap' } & TapCaptureOptions)
  | ({ kind: 'tcpdump' } & TcpdumpCaptureOptions)
  | ({ kind: 'raw' } & RawCaptureOptions);

export function createCapture(kind: 'tap', options: TapCaptureOptions): TapCapture;
export function createCapture(kind: 'tcpdump', options: TcpdumpCaptureOptions): TcpdumpCapture;
export function createCapture(kind: 'raw', options: RawCaptureOptions): RawCapture;
export function createCapture(kind: CaptureKind, options: TapCaptureOptions & TcpdumpCaptureOptions & RawCaptureOptions): CaptureBackend;
export function createCapture(kind: CaptureKind, options: TapCaptureOptions & TcpdumpCaptureOptions & RawCaptureOptions): CaptureBackend {
  switch (kind) {
    case 'tap':
      return new TapCapture(options);
    case 'tcpdump':
      return new TcpdumpCapture(options);
    case 'raw':
      return new RawCapture(options);
    default:
      throw new CaptureUnavailableError(String(kind), 'unknown capture backend (tap, tcpdump, raw)');
  }
}

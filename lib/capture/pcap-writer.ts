// Classic libpcap file writer (https://www.tcpdump.org/manpages/pcap-savefile.5.html,
// draft-ietf-opsawg-pcap): magic 0xa1b2c3d4, version 2.4, microsecond timestamps, one link type.
import { closeSync, fsyncSync, openSync, writeSync } from 'node:fs';
import { CaptureClosedError } from './errors.ts';
import { LinkType } from './inet.ts';

export const PCAP_MAGIC_MICROSECONDS = 0xa1b2c3d4;
export const PCAP_MAGIC_NANOSECONDS = 0xa1b23c4d;
const GLOBAL_HEADER_LENGTH = 24;
const RECORD_HEADER_LENGTH = 16;

export interface PcapWriterOptions {
  /** LINKTYPE_* of every frame (default Ethernet = 1). */
  linkType?: number;
  /** Snapshot length written in the header; longer frames are truncated to it (default 262144). */
  snapLength?: number;
  /**
   * Bytes to collect before a write(2). 0 (default) writes every frame at once so the file is always
   * complete up to the last frame (a session may end abruptly); raise it for bulk generation.
   */
  bufferBytes?: number;
  /** Byte order of the header fields (default 'LE', what libpcap writes on x86). */
  byteOrder?: 'LE' | 'BE';
}

/** Streams frames into a classic pcap file; frame numbers are 1-based in writing order, as Wireshark shows them. */
export class PcapWriter {
  readonly path: string;
  readonly linkType: number;
  readonly snapLength: number;
  private fd: number | undefined;
  private frameCount = 0;
  private readonly bufferBytes: number;
  private readonly littleEndian: boolean;
  private pending: Buffer[] = [];
  private pendingLength = 0;

  constructor(path: string, options: PcapWriterOptions = {}) {
    this.path = path;
    this.linkType = options.linkType ?? LinkType.ETHERNET;
    this.snapLength = options.snapLength ?? 262144;
    this.bufferBytes = options.bufferBytes ?? 0;
    this.littleEndian = (options.byteOrder ?? 'LE') === 'LE';
    this.fd = openSync(path, 'w');
    const header = Buffer.alloc(GLOBAL_HEADER_LENGTH);
    this.u32(header, 0, PCAP_MAGIC_MICROSECONDS);
    this.u16(header, 4, 2);
    this.u16(header, 6, 4);
    // thiszone 0 and sigfigs 0 (bytes 8-15), as every modern writer does
    this.u32(header, 16, this.snapLength);
    this.u32(header, 20, this.linkType);
    writeSync(this.fd, header);
  }

  /** Frames written so far; the next frame gets number `frames + 1`. */
  get frames(): number {
    return this.frameCount;
  }

  get closed(): boolean {
    return this.fd === undefined;
  }

  /**
   * Appends one frame captured at `timeMs` (epoch milliseconds, fractional part kept to the microsecond)
   * and returns its 1-based frame number.
   */
  write(data: Uint8Array, timeMs: number, originalLength: number = data.length): number {
    if (this.fd === undefined) throw new CaptureClosedError(`pcap writer ${this.path}`);
    const captured = Math.min(data.length, this.snapLength);
    const micros = Math.round(timeMs * 1000);
    const seconds = Math.floor(micros / 1e6);
    const record = Buffer.alloc(RECORD_HEADER_LENGTH + captured);
    this.u32(record, 0, seconds >>> 0);
    this.u32(record, 4, micros - seconds * 1e6);
    this.u32(record, 8, captured);
    this.u32(record, 12, originalLength);
    record.set(captured === data.length ? data : data.subarray(0, captured), RECORD_HEADER_LENGTH);
    this.pending.push(record);
    this.pendingLength += record.length;
    if (this.pendingLength >= this.bufferBytes) this.flush();
    return ++this.frameCount;
  }

  /** Writes buffered frames to the file. */
  flush(): void {
    if (this.fd === undefined || this.pending.length === 0) return;
    const chunk = this.pending.length === 1 ? this.pending[0] : Buffer.concat(this.pending, this.pendingLength);
    this.pending = [];
    this.pendingLength = 0;
    let written = 0;
    while (written < chunk.length) written += writeSync(this.fd, chunk, written);
  }

  /** Flushes, syncs and closes the file; returns the number of frames. Closing twice is harmless. */
  close(): number {
    if (this.fd !== undefined) {
      this.flush();
      fsyncSync(this.fd);
      closeSync(this.fd);
      this.fd = undefined;
    }
    return this.frameCount;
  }

  private u32(b: Buffer, offset: number, v: number): void {
    if (this.littleEndian) b.writeUInt32LE(v, offset);
    else b.writeUInt32BE(v, offset);
  }

  private u16(b: Buffer, offset: number, v: number): void {
    if (this.littleEndian) b.writeUInt16LE(v, offset);
    else b.writeUInt16BE(v, offset);
  }
}

// Streaming readers for capture files: classic pcap (microsecond variants through pcap-parser, the
// nanosecond variant here) and pcapng (draft-ietf-opsawg-pcapng). Memory stays bounded by one read
// chunk plus one block, whatever the file size.
import { createReadStream, openSync, readSync, closeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Readable } from 'node:stream';
import { CaptureFormatError } from './errors.ts';
import { RAW_LINKTYPE_ALIASES, LinkType } from './inet.ts';

export interface CapturedFrame {
  /** 1-based position among the packets of the file, as Wireshark numbers them. */
  frame: number;
  /** Capture time, epoch milliseconds (float). */
  time: number;
  /** LINKTYPE_* of the interface the frame was captured on (12/14 read as 101). */
  linkType: number;
  /** Captured bytes (may be shorter than originalLength when the snapshot length cut the frame). */
  data: Buffer;
  originalLength: number;
  /** pcapng interface index within its section (0 for classic pcap). */
  interfaceId: number;
}

export type CaptureFormat = 'pcap' | 'pcap-ns' | 'pcapng';

/** Where a capture file ends inside a record or block (a capture cut short: disk full, copy interrupted). */
export interface CaptureTruncation {
  /** File offset of the incomplete record or block. */
  offset: number;
  /** Frames read before it (all of them complete). */
  afterFrame: number;
  message: string;
}

export interface ReadCaptureOptions {
  /**
   * Called once when the file ends inside a record: the frames before it have been read, and the
   * reader then ends normally. Without it the reader throws a CaptureFormatError there.
   */
  onTruncated?: (truncation: CaptureTruncation) => void;
}

/**
 * The largest record accepted when the file gives no snapshot length (0): 256 KiB, the largest packet
 * any common link type carries (tcpdump's own default snapshot length is 262,144). A record longer
 * than its file's snapshot length, or than this, is refused at once with its offset: a bogus length
 * must never make a reader wait for gigabytes (it would buffer them, and pcap-parser quadratically).
 */
export const MAX_RECORD_WITHOUT_SNAPLEN = 256 * 1024;
/** Upper bound on any snapshot length or pcapng block honoured (bounded memory per record). */
export const MAX_RECORD_OCTETS = 16 * 1024 * 1024;

/** The largest captured length a record may have under a file's or interface's snapshot length. */
export function recordLimit(snapLength: number): number {
  return snapLength > 0 ? Math.min(snapLength, MAX_RECORD_OCTETS) : MAX_RECORD_WITHOUT_SNAPLEN;
}

const require = createRequire(import.meta.url);

interface PcapParserPacket {
  header: { timestampSeconds: number; timestampMicroseconds: number; capturedLength: number; originalLength: number };
  data: Buffer;
}
interface PcapParserInstance {
  stream: Readable;
  on(event: 'globalHeader', listener: (h: { linkLayerType: number }) => void): void;
  on(event: 'packet', listener: (p: PcapParserPacket) => void): void;
  on(event: 'error', listener: (e: Error) => void): void;
  on(event: 'end', listener: () => void): void;
}
const pcapParser = require('pcap-parser') as { parse(input: Readable | string): PcapParserInstance };

const CHUNK_SIZE = 1 << 16;
/** Packets pcap-parser may have handed over before the reader pauses the file stream. */
const HIGH_WATER_PACKETS = 2048;

function normalizeLinkType(linkType: number): number {
  return RAW_LINKTYPE_ALIASES.includes(linkType) ? LinkType.RAW : linkType;
}

/** Detects the file format from its first four bytes. */
export function detectCaptureFormat(path: string): CaptureFormat {
  const fd = openSync(path, 'r');
  try {
    const head = Buffer.alloc(4);
    const n = readSync(fd, head, 0, 4, 0);
    if (n < 4) throw new CaptureFormatError(`${path}: too short for a capture file`, 0);
    const be = head.readUInt32BE(0);
    if (be === 0x0a0d0d0a) return 'pcapng';
    if (be === 0xa1b2c3d4 || be === 0xd4c3b2a1) return 'pcap';
    if (be === 0xa1b23c4d || be === 0x4d3cb2a1) return 'pcap-ns';
    throw new CaptureFormatError(`${path}: unknown magic number ${head.toString('hex')}`, 0);
  } finally {
    closeSync(fd);
  }
}

/**
 * Reads a capture file (pcap in either byte order, microsecond or nanosecond; pcapng) frame by frame.
 * Streaming: the file is read in 64 KiB chunks and paused while the consumer is busy.
 */
export async function* readCapture(path: string, options: ReadCaptureOptions = {}): AsyncGenerator<CapturedFrame> {
  const format = detectCaptureFormat(path);
  // One decision for every reader: a file cut inside a record either ends the frames (with the caller
  // told) or is an error.
  const truncated = (offset: number, afterFrame: number, what: string): void => {
    const message = `${path}: truncated ${what} at offset ${offset} after frame ${afterFrame}`;
    if (!options.onTruncated) throw new CaptureFormatError(message, offset);
    options.onTruncated({ offset, afterFrame, message });
  };
  if (format === 'pcap') yield* readClassicWithPcapParser(path, truncated);
  else if (format === 'pcap-ns') yield* readClassicOwn(path, truncated);
  else yield* readPcapng(path, truncated);
}

type Truncated = (offset: number, afterFrame: number, what: string) => void;

/**
 * The bytes of a classic pcap file cut at record boundaries, for pcap-parser: it reads only whole
 * records, every record length checked against the snapshot length before a byte of it is buffered.
 * pcap-parser keeps waiting (and re-copying its buffer) for any length a header claims, and stops
 * silently inside a partial record; this guard gives it neither.
 */
async function* classicRecords(path: string, truncated: Truncated): AsyncGenerator<Buffer> {
  const src = new ChunkedSource(createReadStream(path, { highWaterMark: CHUNK_SIZE }));
  try {
    if (!(await src.fill(24))) throw new CaptureFormatError(`${path}: truncated pcap header`, 0);
    const header = src.take(24);
    const le = header.readUInt32BE(0) === 0xd4c3b2a1;
    const u32 = (b: Buffer, o: number) => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
    const limit = recordLimit(u32(header, 16));
    yield Buffer.from(header);
    let frame = 0;
    let batch: Buffer[] = [];
    let batched = 0;
    for (;;) {
      const offset = src.offset;
      // The whole records before a problem reach the parser before the problem is raised.
      const flush = function* (): Generator<Buffer> {
        if (batch.length) yield Buffer.concat(batch);
        batch = [];
        batched = 0;
      };
      if (!src.available(16) && !(await src.fill(16))) {
        yield* flush();
        if (src.remaining() > 0) truncated(offset, frame, 'record header');
        break;
      }
      const captured = u32(src.peek(16), 8);
      if (captured > limit) {
        yield* flush();
        throw new CaptureFormatError(`${path}: record at offset ${offset} claims ${captured} octets, more than the snapshot length allows (${limit})`, offset);
      }
      if (!src.available(16 + captured) && !(await src.fill(16 + captured))) {
        yield* flush();
        truncated(offset, frame, 'record');
        break;
      }
      frame++;
      batch.push(src.take(16 + captured));
      batched += 16 + captured;
      if (batched >= CHUNK_SIZE) {
        yield Buffer.concat(batch);
        batch = [];
        batched = 0;
      }
    }
  } finally {
    await src.close();
  }
}

async function* readClassicWithPcapParser(path: string, truncated: Truncated): AsyncGenerator<CapturedFrame> {
  const parser = pcapParser.parse(Readable.from(classicRecords(path, truncated), { objectMode: false }));
  const queue: CapturedFrame[] = [];
  let linkType = -1;
  let frame = 0;
  let consumed = 24; // file offset after the last whole record
  let ended = false;
  let failure: Error | undefined;
  let wake: (() => void) | undefined;
  const notify = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  parser.on('globalHeader', (h) => {
    linkType = normalizeLinkType(h.linkLayerType);
  });
  parser.on('packet', (p) => {
    queue.push({
      frame: ++frame,
      time: p.header.timestampSeconds * 1000 + p.header.timestampMicroseconds / 1000,
      linkType,
      // pcap-parser hands out views into its working buffer; copy so frames outlive the next chunk
      data: Buffer.from(p.data),
      originalLength: p.header.originalLength,
      interfaceId: 0,
    });
    consumed += 16 + p.header.capturedLength;
    if (queue.length >= HIGH_WATER_PACKETS) parser.stream.pause();
    notify();
  });
  parser.on('error', (e) => {
    failure ??= e instanceof CaptureFormatError ? e : new CaptureFormatError(`${path}: ${e.message}`, 0);
    notify();
  });
  parser.on('end', () => {
    // classicRecords hands over whole records only: bytes left in pcap-parser's buffer would be a bug
    const left = (parser as unknown as { buffer: Buffer | null }).buffer;
    if (left && left.length > 0 && !failure) failure = new CaptureFormatError(`${path}: record left incomplete after frame ${frame}`, consumed);
    ended = true;
    notify();
  });
  try {
    let head = 0;
    for (;;) {
      if (head < queue.length) {
        yield queue[head++];
        continue;
      }
      queue.length = 0;
      head = 0;
      if (failure) throw failure;
      if (ended) return;
      const drained = new Promise<void>((resolve) => (wake = resolve));
      if (parser.stream.isPaused()) parser.stream.resume();
      await drained;
    }
  } finally {
    parser.stream.destroy();
  }
}

/** Byte source with a synchronous fast path: `available(n)` then read; `fill(n)` awaits more chunks. */
class ChunkedSource {
  private buffer: Buffer = Buffer.alloc(0);
  private position = 0;
  /** File offset of buffer[0]. */
  private base = 0;
  private readonly iterator: AsyncIterator<Buffer>;
  private done = false;

  constructor(readonly stream: Readable) {
    this.iterator = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  }

  get offset(): number {
    return this.base + this.position;
  }

  available(n: number): boolean {
    return this.buffer.length - this.position >= n;
  }

  /** Makes `n` bytes available; false at end of file (fewer bytes remain). */
  async fill(n: number): Promise<boolean> {
    if (this.available(n)) return true;
    // Chunks are gathered and joined once: linear in n, however many chunks a long record spans.
    const parts = [this.buffer.subarray(this.position)];
    let have = parts[0]!.length;
    while (have < n && !this.done) {
      const next = await this.iterator.next();
      if (next.done) { this.done = true; break; }
      parts.push(next.value);
      have += next.value.length;
    }
    this.base += this.position;
    this.buffer = parts.length === 1 ? parts[0]! : Buffer.concat(parts, have);
    this.position = 0;
    return have >= n;
  }

  remaining(): number {
    return this.buffer.length - this.position;
  }

  /** A view of the next `n` bytes (valid until the next fill), consumed. */
  take(n: number): Buffer {
    const out = this.buffer.subarray(this.position, this.position + n);
    this.position += n;
    return out;
  }

  peek(n: number): Buffer {
    return this.buffer.subarray(this.position, this.position + n);
  }

  async close(): Promise<void> {
    this.stream.destroy();
  }
}

/** Classic pcap read without pcap-parser; used for the nanosecond magic 0xa1b23c4d (draft-ietf-opsawg-pcap 4). */
async function* readClassicOwn(path: string, truncated: Truncated): AsyncGenerator<CapturedFrame> {
  const src = new ChunkedSource(createReadStream(path, { highWaterMark: CHUNK_SIZE }));
  try {
    if (!(await src.fill(24))) throw new CaptureFormatError(`${path}: truncated pcap header`, 0);
    const header = src.take(24);
    const magicBE = header.readUInt32BE(0);
    const le = magicBE === 0xd4c3b2a1 || magicBE === 0x4d3cb2a1;
    const nano = magicBE === 0xa1b23c4d || magicBE === 0x4d3cb2a1;
    const u32 = (b: Buffer, o: number) => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
    // The link type field's upper bits may carry the FCS length (draft-ietf-opsawg-pcap 4, LinkType and additional information)
    const linkType = normalizeLinkType(u32(header, 20) & 0x0fffffff);
    const limit = recordLimit(u32(header, 16));
    let frame = 0;
    for (;;) {
      const offset = src.offset;
      if (!src.available(16) && !(await src.fill(16))) {
        if (src.remaining() > 0) truncated(offset, frame, 'record header');
        return;
      }
      const rec = src.peek(16);
      const seconds = u32(rec, 0);
      const fraction = u32(rec, 4);
      const captured = u32(rec, 8);
      const original = u32(rec, 12);
      if (captured > limit) {
        throw new CaptureFormatError(`${path}: record at offset ${offset} claims ${captured} octets, more than the snapshot length allows (${limit})`, offset);
      }
      if (!src.available(16 + captured) && !(await src.fill(16 + captured))) {
        truncated(offset, frame, 'record');
        return;
      }
      src.take(16);
      yield {
        frame: ++frame,
        time: seconds * 1000 + (nano ? fraction / 1e6 : fraction / 1e3),
        linkType,
        data: Buffer.from(src.take(captured)),
        originalLength: original,
        interfaceId: 0,
      };
    }
  } finally {
    await src.close();
  }
}

interface PcapngInterface {
  linkType: number;
  snapLength: number;
  /** Timestamp units per second (if_tsresol, default 10^6). */
  unitsPerSecond: number;
  unitsPerSecondBig: bigint;
  /** if_tsoffset seconds. */
  offsetSeconds: number;
}

const BLOCK_SHB = 0x0a0d0d0a;
const BLOCK_IDB = 0x00000001;
const BLOCK_PB = 0x00000002; // obsolete Packet Block, still written by old tools
const BLOCK_SPB = 0x00000003;
const BLOCK_EPB = 0x00000006;
const BYTE_ORDER_MAGIC = 0x1a2b3c4d;
const MAX_BLOCK = MAX_RECORD_OCTETS;

/** pcapng reader (draft-ietf-opsawg-pcapng 4): sections in either byte order, several interfaces. */
async function* readPcapng(path: string, truncated: Truncated): AsyncGenerator<CapturedFrame> {
  const src = new ChunkedSource(createReadStream(path, { highWaterMark: CHUNK_SIZE }));
  let le = true;
  let interfaces: PcapngInterface[] = [];
  let frame = 0;
  try {
    for (;;) {
      const blockOffset = src.offset;
      if (!src.available(12) && !(await src.fill(12))) {
        if (src.remaining() > 0) truncated(blockOffset, frame, 'block header');
        return;
      }
      const head = src.peek(12);
      let type = le ? head.readUInt32LE(0) : head.readUInt32BE(0);
      if (head.readUInt32BE(0) === BLOCK_SHB) {
        // 4.1: the byte-order magic decides the endianness of this section and everything in it
        const magic = head.readUInt32LE(8);
        if (magic === BYTE_ORDER_MAGIC) le = true;
        else if (head.readUInt32BE(8) === BYTE_ORDER_MAGIC) le = false;
        else throw new CaptureFormatError(`${path}: bad byte-order magic in section header`, blockOffset);
        type = BLOCK_SHB;
        interfaces = [];
      }
      const totalLength = le ? head.readUInt32LE(4) : head.readUInt32BE(4);
      if (totalLength < 12 || totalLength % 4 !== 0 || totalLength > MAX_BLOCK) {
        throw new CaptureFormatError(`${path}: bad block length ${totalLength} at offset ${blockOffset}`, blockOffset);
      }
      // A packet block longer than its interface's snapshot length allows is refused before it is read.
      if ((type === BLOCK_EPB || type === BLOCK_PB || type === BLOCK_SPB) && interfaces.length > 0) {
        const head12 = src.peek(12);
        const itf = interfaces[type === BLOCK_SPB ? 0 : type === BLOCK_EPB ? u32(head12, 8, le) : u16(head12, 8, le)];
        const limit = recordLimit(itf?.snapLength ?? 0) + 32 + 65_536; // block overhead and room for options
        if (itf && totalLength > limit) {
          throw new CaptureFormatError(`${path}: packet block at offset ${blockOffset} claims ${totalLength} octets, more than the snapshot length allows`, blockOffset);
        }
      }
      if (!src.available(totalLength) && !(await src.fill(totalLength))) {
        truncated(blockOffset, frame, `block of type 0x${type.toString(16)}`);
        return;
      }
      const block = src.take(totalLength);
      if (u32(block, totalLength - 4, le) !== totalLength) {
        throw new CaptureFormatError(`${path}: block trailer length differs from header`, blockOffset);
      }
      switch (type) {
        case BLOCK_SHB:
          if (u16(block, 12, le) !== 1) throw new CaptureFormatError(`${path}: unsupported pcapng major version ${u16(block, 12, le)}`, blockOffset);
          break;
        case BLOCK_IDB:
          interfaces.push(parseInterface(block, totalLength, le, path, blockOffset));
          break;
        case BLOCK_EPB:
        case BLOCK_PB: {
          // EPB: 32-bit interface id; obsolete PB: 16-bit interface id and 16-bit drop count
          const interfaceId = type === BLOCK_EPB ? u32(block, 8, le) : u16(block, 8, le);
          const itf = interfaces[interfaceId];
          if (!itf) throw new CaptureFormatError(`${path}: packet on undeclared interface ${interfaceId}`, blockOffset);
          const captured = u32(block, 20, le);
          if (28 + captured > totalLength - 4) throw new CaptureFormatError(`${path}: packet data overruns its block`, blockOffset);
          if (captured > recordLimit(itf.snapLength)) {
            throw new CaptureFormatError(`${path}: packet at offset ${blockOffset} has ${captured} octets, more than the snapshot length allows (${recordLimit(itf.snapLength)})`, blockOffset);
          }
          yield {
            frame: ++frame,
            time: timestampMs(itf, u32(block, 12, le), u32(block, 16, le)),
            linkType: itf.linkType,
            data: Buffer.from(block.subarray(28, 28 + captured)),
            originalLength: u32(block, 24, le),
            interfaceId,
          };
          break;
        }
        case BLOCK_SPB: {
          // 4.4: no timestamp, interface 0; captured length = min(original, snaplen, room in the block)
          const original = u32(block, 8, le);
          const itf = interfaces[0];
          if (!itf) throw new CaptureFormatError(`${path}: simple packet block before any interface`, blockOffset);
          const room = totalLength - 16;
          const captured = Math.min(original, room, itf.snapLength === 0 ? room : itf.snapLength);
          frame++;
          yield { frame, time: Number.NaN, linkType: itf.linkType, data: Buffer.from(block.subarray(12, 12 + captured)), originalLength: original, interfaceId: 0 };
          break;
        }
        default:
          break; // NRB, ISB, DSB, custom blocks: nothing to decode for frames
      }
    }
  } finally {
    await src.close();
  }
}

function u32(b: Buffer, offset: number, le: boolean): number {
  return le ? b.readUInt32LE(offset) : b.readUInt32BE(offset);
}

function u16(b: Buffer, offset: number, le: boolean): number {
  return le ? b.readUInt16LE(offset) : b.readUInt16BE(offset);
}

function parseInterface(block: Buffer, totalLength: number, le: boolean, path: string, blockOffset: number): PcapngInterface {
  const u16 = (o: number) => (le ? block.readUInt16LE(o) : block.readUInt16BE(o));
  const u32 = (o: number) => (le ? block.readUInt32LE(o) : block.readUInt32BE(o));
  const itf: PcapngInterface = {
    linkType: normalizeLinkType(u16(8)),
    snapLength: u32(12),
    unitsPerSecond: 1e6,
    unitsPerSecondBig: 1000000n,
    offsetSeconds: 0,
  };
  // Options (4.2): code, length, value padded to 32 bits; opt_endofopt (0) ends them
  let o = 16;
  const end = totalLength - 4;
  while (o + 4 <= end) {
    const code = u16(o);
    const length = u16(o + 2);
    if (code === 0) break;
    if (o + 4 + length > end) throw new CaptureFormatError(`${path}: interface option overruns its block`, blockOffset + o);
    const v = o + 4;
    if (code === 9 && length >= 1) {
      // if_tsresol: MSB clear -> 10^-n s, set -> 2^-n s
      const r = block[v];
      const exponent = r & 0x7f;
      itf.unitsPerSecondBig = r & 0x80 ? 1n << BigInt(exponent) : 10n ** BigInt(exponent);
      itf.unitsPerSecond = Number(itf.unitsPerSecondBig);
    } else if (code === 14 && length >= 8) {
      // if_tsoffset: seconds added to every timestamp of the interface
      const big = le ? block.readBigInt64LE(v) : block.readBigInt64BE(v);
      itf.offsetSeconds = Number(big);
    }
    o = v + ((length + 3) & ~3);
  }
  return itf;
}

function timestampMs(itf: PcapngInterface, high: number, low: number): number {
  let ms: number;
  if (high < 0x200000) {
    const units = high * 4294967296 + low; // exact below 2^53
    const whole = Math.floor(units / itf.unitsPerSecond);
    ms = whole * 1000 + ((units - whole * itf.unitsPerSecond) * 1000) / itf.unitsPerSecond;
  } else {
    const units = (BigInt(high) << 32n) | BigInt(low);
    const whole = units / itf.unitsPerSecondBig;
    ms = Number(whole) * 1000 + (Number(units % itf.unitsPerSecondBig) * 1000) / itf.unitsPerSecond;
  }
  return ms + itf.offsetSeconds * 1000;
}

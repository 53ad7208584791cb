// Capture file readers: classic pcap in both byte orders and both timestamp precisions, pcapng sections
// in both endiannesses with several interfaces, link types and timestamp resolutions. The files are
// built here from the format specifications (draft-ietf-opsawg-pcap, draft-ietf-opsawg-pcapng).
import { test, expect } from '@playwright/test';
import { writeFileSync } from 'node:fs';
import { CaptureFormatError, detectCaptureFormat, readCapture, type CapturedFrame } from './index.ts';
import { tempPath } from './test-helpers.ts';

type Endian = 'LE' | 'BE';

class Bytes {
  parts: Buffer[] = [];
  constructor(readonly endian: Endian) {}
  u8(v: number) { this.parts.push(Buffer.from([v])); return this; }
  u16(v: number) { const b = Buffer.alloc(2); this.endian === 'LE' ? b.writeUInt16LE(v) : b.writeUInt16BE(v); this.parts.push(b); return this; }
  u32(v: number) { const b = Buffer.alloc(4); this.endian === 'LE' ? b.writeUInt32LE(v) : b.writeUInt32BE(v); this.parts.push(b); return this; }
  i64(v: bigint) { const b = Buffer.alloc(8); this.endian === 'LE' ? b.writeBigInt64LE(v) : b.writeBigInt64BE(v); this.parts.push(b); return this; }
  raw(b: Buffer) { this.parts.push(b); return this; }
  pad() { const n = this.length % 4; if (n) this.parts.push(Buffer.alloc(4 - n)); return this; }
  get length() { return this.parts.reduce((n, p) => n + p.length, 0); }
  build() { return Buffer.concat(this.parts); }
}

function block(endian: Endian, type: number, body: Buffer): Buffer {
  const total = 12 + body.length;
  return new Bytes(endian).u32(type).u32(total).raw(body).u32(total).build();
}

function shb(endian: Endian): Buffer {
  return block(endian, 0x0a0d0d0a, new Bytes(endian).u32(0x1a2b3c4d).u16(1).u16(0).i64(-1n).build());
}

function idb(endian: Endian, linkType: number, snap: number, opts: { tsresol?: number; tsoffset?: bigint } = {}): Buffer {
  const b = new Bytes(endian).u16(linkType).u16(0).u32(snap);
  if (opts.tsresol !== undefined) b.u16(9).u16(1).u8(opts.tsresol).pad();
  if (opts.tsoffset !== undefined) b.u16(14).u16(8).i64(opts.tsoffset);
  if (opts.tsresol !== undefined || opts.tsoffset !== undefined) b.u16(0).u16(0);
  return block(endian, 1, b.build());
}

function epb(endian: Endian, itf: number, ts: bigint, data: Buffer, original = data.length): Buffer {
  const b = new Bytes(endian).u32(itf).u32(Number(ts >> 32n)).u32(Number(ts & 0xffffffffn)).u32(data.length).u32(original).raw(data).pad();
  b.u16(1).u16(5).raw(Buffer.from('hello')).pad().u16(0).u16(0); // opt_comment then opt_endofopt
  return block(endian, 6, b.build());
}

function spb(endian: Endian, data: Buffer): Buffer {
  return block(endian, 3, new Bytes(endian).u32(data.length).raw(data).pad().build());
}

async function readAll(path: string): Promise<CapturedFrame[]> {
  const out: CapturedFrame[] = [];
  for await (const f of readCapture(path)) out.push(f);
  return out;
}

function classic(endian: Endian, magic: number, linkType: number, records: { s: number; frac: number; data: Buffer; original?: number }[]): Buffer {
  const b = new Bytes(endian).u32(magic).u16(2).u16(4).u32(0).u32(0).u32(65535).u32(linkType);
  for (const r of records) b.u32(r.s).u32(r.frac).u32(r.data.length).u32(r.original ?? r.data.length).raw(r.data);
  return b.build();
}

for (const endian of ['LE', 'BE'] as const) {
  test(`classic pcap ${endian}, microseconds (pcap-parser)`, async () => {
    const path = tempPath('c.pcap');
    writeFileSync(path, classic(endian, 0xa1b2c3d4, 1, [
      { s: 1_700_000_000, frac: 250_000, data: Buffer.from('aa', 'hex') },
      { s: 1_700_000_001, frac: 1, data: Buffer.from('bbcc', 'hex'), original: 60 },
    ]));
    expect(detectCaptureFormat(path)).toBe('pcap');
    const frames = await readAll(path);
    expect(frames.map((f) => [f.frame, f.time, f.linkType, f.data.toString('hex'), f.originalLength, f.interfaceId])).toEqual([
      [1, 1_700_000_000_250, 1, 'aa', 1, 0],
      [2, 1_700_000_001_000.001, 1, 'bbcc', 60, 0],
    ]);
  });

  test(`classic pcap ${endian}, nanoseconds (magic a1b23c4d)`, async () => {
    const path = tempPath('n.pcap');
    writeFileSync(path, classic(endian, 0xa1b23c4d, 12, [{ s: 10, frac: 123_456_789, data: Buffer.from('45', 'hex') }]));
    expect(detectCaptureFormat(path)).toBe('pcap-ns');
    const [f] = await readAll(path);
    expect(f.time).toBeCloseTo(10_123.456789, 6);
    expect(f.linkType).toBe(101); // DLT_RAW 12 read as LINKTYPE_RAW
  });

  test(`pcapng ${endian}: interfaces with own link types, tsresol and tsoffset; EPB and SPB`, async () => {
    const path = tempPath('x.pcapng');
    writeFileSync(path, Buffer.concat([
      shb(endian),
      idb(endian, 1, 0), // Ethernet, microseconds (default resolution)
      idb(endian, 113, 128, { tsresol: 9 }), // SLL, nanoseconds
      idb(endian, 101, 0, { tsresol: 0x80 | 10, tsoffset: 100n }), // raw IP, 2^-10 s, +100 s
      epb(endian, 0, 1_700_000_000_000_001n, Buffer.from('010203', 'hex')),
      block(endian, 5, new Bytes(endian).u32(0).u32(0).u32(0).u16(0).u16(0).build()), // ISB: skipped
      epb(endian, 1, 1_700_000_000_123_456_789n, Buffer.from('0405', 'hex'), 1500),
      epb(endian, 2, 1024n * 5n + 512n, Buffer.from('06', 'hex')),
      spb(endian, Buffer.from('0708090a0b', 'hex')),
    ]));
    expect(detectCaptureFormat(path)).toBe('pcapng');
    const frames = await readAll(path);
    expect(frames.map((f) => [f.frame, f.linkType, f.interfaceId, f.data.toString('hex'), f.originalLength])).toEqual([
      [1, 1, 0, '010203', 3],
      [2, 113, 1, '0405', 1500],
      [3, 101, 2, '06', 1],
      [4, 1, 0, '0708090a0b', 5],
    ]);
    expect(frames[0].time).toBe(1_700_000_000_000.001);
    expect(frames[1].time).toBeCloseTo(1_700_000_000_123.456789, 3);
    expect(frames[2].time).toBe(105_500);
    expect(frames[3].time).toBeNaN(); // SPB carries no timestamp
  });
}

test('pcapng: a second section in the other byte order resets the interfaces', async () => {
  const path = tempPath('two.pcapng');
  writeFileSync(path, Buffer.concat([
    shb('LE'), idb('LE', 1, 0), epb('LE', 0, 1n, Buffer.from('aa', 'hex')),
    shb('BE'), idb('BE', 276, 0), epb('BE', 0, 2n, Buffer.from('bb', 'hex')),
  ]));
  const frames = await readAll(path);
  expect(frames.map((f) => [f.frame, f.linkType, f.data.toString('hex')])).toEqual([[1, 1, 'aa'], [2, 276, 'bb']]);
});

test('pcapng errors: undeclared interface, truncated block, mismatched trailer', async () => {
  const noItf = tempPath('a.pcapng');
  writeFileSync(noItf, Buffer.concat([shb('LE'), epb('LE', 0, 1n, Buffer.from('aa', 'hex'))]));
  await expect(readAll(noItf)).rejects.toThrow(/undeclared interface 0/);
  const truncated = tempPath('b.pcapng');
  const whole = Buffer.concat([shb('LE'), idb('LE', 1, 0), epb('LE', 0, 1n, Buffer.from('aabbcc', 'hex'))]);
  writeFileSync(truncated, whole.subarray(0, whole.length - 6));
  const err = await readAll(truncated).catch((e) => e);
  expect(err).toBeInstanceOf(CaptureFormatError);
  expect(err.code).toBe('ERR_CAPTURE_FORMAT');
  const bad = Buffer.from(whole);
  bad.writeUInt32LE(999, bad.length - 4);
  const mismatched = tempPath('c.pcapng');
  writeFileSync(mismatched, bad);
  await expect(readAll(mismatched)).rejects.toThrow(/trailer length/);
});

test('not a capture file', async () => {
  const path = tempPath('junk.bin');
  writeFileSync(path, Buffer.from('GET / HTTP/1.1\r\n'));
  expect(() => detectCaptureFormat(path)).toThrow(CaptureFormatError);
  await expect(readAll(path)).rejects.toThrow(/unknown magic/);
});

test('reading is streaming: many frames arrive in order through small chunks', async () => {
  const path = tempPath('many.pcap');
  const records = Array.from({ length: 20_000 }, (_, i) => ({ s: i, frac: 0, data: Buffer.from([i & 0xff, (i >> 8) & 0xff]) }));
  writeFileSync(path, classic('LE', 0xa1b2c3d4, 101, records));
  let n = 0;
  for await (const f of readCapture(path)) {
    n++;
    if (f.frame !== n || f.data[0] !== ((n - 1) & 0xff) || f.data[1] !== (((n - 1) >> 8) & 0xff) || f.time !== (n - 1) * 1000) throw new Error(`frame ${n} wrong`);
  }
  expect(n).toBe(20_000);
});

test('breaking out of the iteration early releases the file', async () => {
  const path = tempPath('early.pcap');
  writeFileSync(path, classic('LE', 0xa1b2c3d4, 1, Array.from({ length: 5000 }, (_, i) => ({ s: i, frac: 0, data: Buffer.alloc(100) }))));
  let seen = 0;
  for await (const f of readCapture(path)) {
    seen = f.frame;
    if (seen === 3) break;
  }
  expect(seen).toBe(3);
});

test('a capture cut inside its last record: with onTruncated the whole frames come out and the cut is reported; without, a format error', async () => {
  const cuts: [string, Buffer][] = [
    ['pcap', classic('LE', 0xa1b2c3d4, 1, [{ s: 1, frac: 0, data: Buffer.alloc(20, 1) }, { s: 2, frac: 0, data: Buffer.alloc(20, 2) }])],
    ['pcap-be', classic('BE', 0xa1b2c3d4, 1, [{ s: 1, frac: 0, data: Buffer.alloc(20, 1) }, { s: 2, frac: 0, data: Buffer.alloc(20, 2) }])],
    ['pcap-ns', classic('LE', 0xa1b23c4d, 1, [{ s: 1, frac: 0, data: Buffer.alloc(20, 1) }, { s: 2, frac: 0, data: Buffer.alloc(20, 2) }])],
    ['pcapng', Buffer.concat([shb('LE'), idb('LE', 1, 0), epb('LE', 0, 1n, Buffer.alloc(20, 1)), epb('LE', 0, 2n, Buffer.alloc(20, 2))])],
  ];
  for (const [name, whole] of cuts) {
    const path = tempPath(`cut-${name}.bin`);
    writeFileSync(path, whole.subarray(0, whole.length - 5));
    const reported: { offset: number; afterFrame: number; message: string }[] = [];
    const seen: number[] = [];
    for await (const f of readCapture(path, { onTruncated: (t) => reported.push(t) })) seen.push(f.frame);
    expect(seen, name).toEqual([1]);
    expect(reported, name).toHaveLength(1);
    expect(reported[0]!.afterFrame).toBe(1);
    expect(reported[0]!.message).toMatch(/truncated/);
    expect(reported[0]!.offset, name).toBe(name === 'pcapng' ? whole.length - epb('LE', 0, 2n, Buffer.alloc(20, 2)).length : 24 + 36);
  }
});

test('a record claiming more than the snapshot length is refused at once with its offset, in every reader', async () => {
  const huge = 0x7fffffff;
  const files: [string, Buffer][] = [];
  for (const [endian, magic] of [['LE', 0xa1b2c3d4], ['BE', 0xa1b2c3d4], ['LE', 0xa1b23c4d]] as const) {
    const good = classic(endian, magic, 1, [{ s: 1, frac: 0, data: Buffer.alloc(20, 1) }]);
    const bad = new Bytes(endian).u32(2).u32(0).u32(huge).u32(huge).raw(Buffer.alloc(1 << 20)).build();
    files.push([`${endian}-${magic.toString(16)}`, Buffer.concat([good, bad])]);
  }
  // snaplen 0 ("unknown"): the 256 KiB bound applies
  const zeroSnap = classic('LE', 0xa1b2c3d4, 1, [{ s: 1, frac: 0, data: Buffer.alloc(20, 1) }]);
  zeroSnap.writeUInt32LE(0, 16);
  files.push(['snaplen-0', Buffer.concat([zeroSnap, new Bytes('LE').u32(2).u32(0).u32(300_000).u32(300_000).raw(Buffer.alloc(300_000)).build()])]);
  const pcapngBad = new Bytes('LE').u32(6).u32(0x7ffffff0).u32(0).build();
  files.push(['pcapng', Buffer.concat([shb('LE'), idb('LE', 1, 65535), epb('LE', 0, 1n, Buffer.alloc(20, 1)), pcapngBad, Buffer.alloc(1 << 20)])]);
  for (const [name, bytes] of files) {
    const path = tempPath(`huge-${name}.bin`);
    writeFileSync(path, bytes);
    const started = performance.now();
    const seen: number[] = [];
    const err = await (async () => { for await (const f of readCapture(path, { onTruncated: () => undefined })) seen.push(f.frame); })().catch((e) => e);
    expect(performance.now() - started, name).toBeLessThan(2000);
    expect(seen, name).toEqual([1]);
    expect(err, name).toBeInstanceOf(CaptureFormatError);
    expect(err.message, name).toMatch(/snapshot length|bad block length/);
    expect(err.offset, name).toBe(name === 'pcapng' ? bytes.length - (1 << 20) - 12 : 24 + 36);
  }
});

test('a classic pcap cut inside its last record: the whole frames come out, then a format error', async () => {
  for (const magic of [0xa1b2c3d4, 0xa1b23c4d]) {
    const path = tempPath('cut.pcap');
    const whole = classic('LE', magic, 1, [{ s: 1, frac: 0, data: Buffer.alloc(20, 1) }, { s: 2, frac: 0, data: Buffer.alloc(20, 2) }]);
    writeFileSync(path, whole.subarray(0, whole.length - 5));
    const seen: number[] = [];
    const err = await (async () => {
      for await (const f of readCapture(path)) seen.push(f.frame);
    })().catch((e) => e);
    expect(seen).toEqual([1]);
    expect(err).toBeInstanceOf(CaptureFormatError);
    expect(err.message).toMatch(/truncated/);
  }
});

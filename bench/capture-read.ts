// Capture read benchmark: writes 1,000,000 UDP packets (Ethernet/IPv4/UDP, 100-byte payload) as classic
// pcap and as pcapng, then reads each file in a fresh process and reports throughput and peak RSS, for
// three depths: frames only (readCapture), frames decoded to UDP (IpReassembler), and a full offline
// trace pass (dissectCapture, no MIKEY port so no events are kept).
//
//   npx tsx bench/capture-read.ts [packets]        (default 1000000)
import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { IpReassembler, LinkType, PcapWriter, dissectCapture, ethernetFrame, ipPacket, readCapture, udpDatagram } from '../lib/capture/index.ts';

const SRC = Buffer.from([10, 0, 0, 1]);
const DST = Buffer.from([10, 0, 0, 2]);
const T0 = 1_700_000_000_000;

function frameFor(i: number): Buffer {
  const payload = Buffer.alloc(100, i & 0xff);
  payload.writeUInt32BE(i, 0);
  return ethernetFrame(SRC, DST, ipPacket(SRC, DST, 17, udpDatagram(SRC, 40000 + (i % 1000), DST, 4359, payload), { identification: i & 0xffff }));
}

function writePcap(path: string, packets: number): void {
  const w = new PcapWriter(path, { linkType: LinkType.ETHERNET, bufferBytes: 1 << 20 });
  for (let i = 0; i < packets; i++) w.write(frameFor(i), T0 + i * 0.01);
  w.close();
}

/** Minimal pcapng (SHB, one IDB, EPBs), little-endian, microsecond resolution. */
function writePcapng(path: string, packets: number): void {
  const fd = openSync(path, 'w');
  const shb = Buffer.alloc(28);
  shb.writeUInt32LE(0x0a0d0d0a, 0); shb.writeUInt32LE(28, 4); shb.writeUInt32LE(0x1a2b3c4d, 8);
  shb.writeUInt16LE(1, 12); shb.writeUInt16LE(0, 14); shb.writeBigInt64LE(-1n, 16); shb.writeUInt32LE(28, 24);
  const idb = Buffer.alloc(20);
  idb.writeUInt32LE(1, 0); idb.writeUInt32LE(20, 4); idb.writeUInt16LE(LinkType.ETHERNET, 8); idb.writeUInt32LE(0, 12); idb.writeUInt32LE(20, 16);
  writeSync(fd, Buffer.concat([shb, idb]));
  const chunk: Buffer[] = [];
  let size = 0;
  for (let i = 0; i < packets; i++) {
    const data = frameFor(i);
    const padded = (data.length + 3) & ~3;
    const total = 32 + padded;
    const b = Buffer.alloc(total);
    const ts = BigInt(T0 * 1000 + i * 10);
    b.writeUInt32LE(6, 0); b.writeUInt32LE(total, 4); b.writeUInt32LE(0, 8);
    b.writeUInt32LE(Number(ts >> 32n), 12); b.writeUInt32LE(Number(ts & 0xffffffffn), 16);
    b.writeUInt32LE(data.length, 20); b.writeUInt32LE(data.length, 24); data.copy(b, 28); b.writeUInt32LE(total, total - 4);
    chunk.push(b);
    size += total;
    if (size > 1 << 20) { writeSync(fd, Buffer.concat(chunk)); chunk.length = 0; size = 0; }
  }
  if (chunk.length) writeSync(fd, Buffer.concat(chunk));
  closeSync(fd);
}

type Depth = 'frames' | 'decode' | 'dissect';

async function measure(path: string, depth: Depth): Promise<void> {
  const start = performance.now();
  let frames = 0;
  let checksum = 0;
  if (depth === 'frames') {
    for await (const f of readCapture(path)) { frames++; checksum ^= f.data[f.data.length - 1]; }
  } else if (depth === 'decode') {
    const ip = new IpReassembler();
    for await (const f of readCapture(path)) {
      frames++;
      const p = ip.push(f);
      if (p?.udp) checksum ^= p.payload[0];
    }
  } else {
    let datagrams = 0;
    frames = await dissectCapture(path, { onUdp: () => datagrams++ });
    checksum = datagrams;
  }
  const seconds = (performance.now() - start) / 1000;
  const bytes = statSync(path).size;
  process.stdout.write(JSON.stringify({ frames, seconds, packetsPerSecond: frames / seconds, mbPerSecond: bytes / 1e6 / seconds, maxRssMb: process.resourceUsage().maxRSS / 1024, checksum }) + '\n');
}

async function main(): Promise<void> {
  const [mode, path, depth] = process.argv.slice(2);
  if (mode === 'measure') return measure(path, depth as Depth);
  const packets = Number(mode ?? 1_000_000);
  const dir = mkdtempSync(join(tmpdir(), 'mbms-bench-'));
  try {
    const files = { pcap: join(dir, 'bench.pcap'), pcapng: join(dir, 'bench.pcapng') };
    let t = performance.now();
    writePcap(files.pcap, packets);
    const writeSeconds = (performance.now() - t) / 1000;
    writePcapng(files.pcapng, packets);
    console.log(`node ${process.version}, ${packets} packets of 142 bytes; pcap ${(statSync(files.pcap).size / 1e6).toFixed(1)} MB written in ${writeSeconds.toFixed(2)} s by PcapWriter (${(packets / writeSeconds / 1e3).toFixed(0)} k frames/s); pcapng ${(statSync(files.pcapng).size / 1e6).toFixed(1)} MB`);
    console.log('| file | depth | frames | seconds | packets/s | MB/s | peak RSS MB |');
    console.log('|---|---|---|---|---|---|---|');
    const self = fileURLToPath(import.meta.url);
    for (const [kind, file] of Object.entries(files)) {
      for (const d of ['frames', 'decode', 'dissect'] as Depth[]) {
        t = performance.now();
        // a fresh process per measurement so the peak RSS is the reader's own
        const run = spawnSync(process.execPath, [...process.execArgv, self, 'measure', file, d], { encoding: 'utf8' });
        if (run.status !== 0) throw new Error(run.stderr);
        const r = JSON.parse(run.stdout.trim().split('\n').pop()!);
        if (r.frames !== packets) throw new Error(`${kind}/${d}: read ${r.frames} frames, expected ${packets}`);
        console.log(`| ${kind} | ${d} | ${r.frames} | ${r.seconds.toFixed(2)} | ${Math.round(r.packetsPerSecond).toLocaleString('en')} | ${r.mbPerSecond.toFixed(1)} | ${r.maxRssMb.toFixed(0)} |`);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();

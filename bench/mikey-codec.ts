// Benchmark of the MIKEY layer: strict decode, encode, and the full 33.246 paths (build an MSK message:
// key derivation + AES-CM + MAC; read it back: decode + derivation + MAC check + decryption).
//   npx tsx bench/mikey-codec.ts [iterations]      (default 200,000)
// Figures are recorded in bench/README.md. Each measurement runs after a warm-up of 10% of the iterations
// and reports operations per second and the heap growth over the run.
import { buildMskMessage, decodeMikey, encodeMikey, readKeyMessage } from '../lib/mikey/index.ts';

const iterations = Number(process.argv[2] ?? 200_000);
const muk = Buffer.from('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f', 'hex');
const input = {
  muk, csbId: 0x11223344, counter: 1, rand: Buffer.from('a0a1a2a3a4a5a6a7a8a9aaabacadaeaf', 'hex'),
  keyDomainId: Buffer.from('00f110', 'hex'), mskId: 0x00010001, msk: Buffer.from('2b7e151628aed2a6abf7158809cf4f3c', 'hex'),
  v: true, idi: 'bmsc.example.com', idr: 'AbCdEf0123456789@bsf.example.com',
};
const built = buildMskMessage(input);
const bytes = built.bytes;
const tree = decodeMikey(bytes);

function measure(name: string, op: (i: number) => unknown): void {
  for (let i = 0; i < iterations / 10; i++) op(i);
  globalThis.gc?.();
  const heapBefore = process.memoryUsage().heapUsed;
  const start = process.hrtime.bigint();
  let sink = 0;
  for (let i = 0; i < iterations; i++) sink += op(i) ? 1 : 0;
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const heapGrowth = (process.memoryUsage().heapUsed - heapBefore) / 1e6;
  if (sink !== iterations) throw new Error(`${name}: ${iterations - sink} operations returned nothing`);
  console.log(`| ${name} | ${iterations} | ${seconds.toFixed(2)} | ${Math.round(iterations / seconds).toLocaleString('en')} | ${(seconds / iterations * 1e6).toFixed(2)} | ${heapGrowth.toFixed(1)} |`);
}

console.log(`MIKEY layer, ${bytes.length}-octet MSK message (protocol §8.3 V3), Node ${process.version}`);
console.log('| operation | iterations | seconds | ops/s | µs/op | heap growth MB |');
console.log('|---|---|---|---|---|---|');
measure('decodeMikey (strict)', () => decodeMikey(bytes));
measure('encodeMikey (MAC given)', () => encodeMikey(tree));
measure('buildMskMessage (derive, encrypt, MAC)', (i) => buildMskMessage({ ...input, counter: i + 1 }).bytes);
measure('readKeyMessage (decode, derive, verify, decrypt)', () => {
  const r = readKeyMessage(bytes, { psk: muk });
  if (!r.macValid || r.keyData.length !== 1) throw new Error('V3 must verify and decrypt');
  return r;
});
console.log(`peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`);

// `mbms-conform decode` end to end: the real command in a child process, fed the protocol §8.3 V3 vector.
import { test, expect } from '@playwright/test';
import { runCommand } from '../cli/run-command.ts';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const V3 = '010015801122334400010503000b000300f1100104000100010b02000000010610a0a1a2a3a4a5a6a7a8a9aaabacadaeaf'
  + '06010010626d73632e6578616d706c652e636f6d0101002041624364456630313233343536373839406273662e6578616d70'
  + '6c652e636f6d0001001459e3637f7e9624d7cf07a448ffbc6f8bcf984c9701eceace3d2ee6095d7a76b164f279ef6bfefadcbd';
const MUK = '000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f';
const ACK_TS8 = '01010500112233440001' + '090200000001' + '0001' + '723dfa470fb28c13206a18a146fee2c8a41f1892'; // V4 body ‖ ver data

const run = (args: string[], stdin?: string) => runCommand(['decode', ...args], stdin ?? '');

test('decodes V3 as a readable tree and exits 0', async () => {
  const r = await run([V3]);
  expect(r.code).toBe(0);
  expect(r.stdout).toContain('General Extension (EXT) @ 10');
  expect(r.stdout).toContain('ID data: "AbCdEf0123456789@bsf.example.com"');
  expect(r.stdout).toContain('MAC: eceace3d2ee6095d7a76b164f279ef6bfefadcbd');
});

test('--json --muk: MAC valid and the decrypted MSK in hex, exit 0', async () => {
  const r = await run(['--json', '--muk', MUK, V3]);
  expect(r.code).toBe(0);
  const j = JSON.parse(r.stdout);
  expect(j.macValid).toBe(true);
  expect(j.kind).toBe('msk');
  expect(j.keyData).toEqual([{ next: 0, kdType: 0, kv: 0, length: 16, key: '2b7e151628aed2a6abf7158809cf4f3c' }]);
  expect(j.hdr).toMatchObject({ csbId: 0x11223344, v: true });
  expect(j.payloads.map((p: { type: string; offset: number }) => `${p.type}@${p.offset}`))
    .toEqual(['EXT@10', 'T@25', 'RAND@31', 'ID@49', 'ID@69', 'KEMAC@105']);
});

test('hex on stdin and --file with raw octets decode the same message', async () => {
  const fromStdin = await run(['--json'], `${V3.slice(0, 40)}\n${V3.slice(40)}\n`);
  expect(fromStdin.code).toBe(0);
  const dir = mkdtempSync(join(tmpdir(), 'mikey-cli-'));
  const file = join(dir, 'v3.bin');
  writeFileSync(file, Buffer.from(V3, 'hex'));
  const fromFile = await run(['--json', '--file', file]);
  expect(fromFile.code).toBe(0);
  expect(JSON.parse(fromFile.stdout)).toEqual(JSON.parse(fromStdin.stdout));
});

test('a wrong MUK or a flipped MAC bit gives macValid false and exit 1', async () => {
  const wrongKey = await run(['--json', '--muk', MUK.replace(/f$/, 'e'), V3]);
  expect(wrongKey.code).toBe(1);
  expect(JSON.parse(wrongKey.stdout)).toMatchObject({ macValid: false, keyData: [] });
  const flipped = V3.slice(0, -1) + (V3.endsWith('d') ? 'c' : 'd');
  const bad = await run(['--json', '--muk', MUK, flipped]);
  expect(bad.code).toBe(1);
  expect(JSON.parse(bad.stdout).macValid).toBe(false);
});

test('malformed input exits 2 with one line naming the offset', async () => {
  const trailing = await run([`${V3}00`]);
  expect(trailing.code).toBe(2);
  expect(trailing.stderr.trim().split('\n')).toHaveLength(1);
  expect(trailing.stderr).toContain('offset 150');
  const truncated = await run([V3.slice(0, 2 * 60)]);
  expect(truncated.code).toBe(2);
  expect(truncated.stderr).toMatch(/offset \d+/);
  const notHex = await run(['01zz']);
  expect(notHex.code).toBe(2);
  const usage = await run(['--muk', MUK, '--msk', MUK, V3]);
  expect(usage.code).toBe(2);
});

test('a verification message checks against --original (V4, rfc-ids-ts8)', async () => {
  const ok = await run(['--json', '--muk', MUK, '--original', V3, ACK_TS8]);
  expect(ok.code).toBe(0);
  expect(JSON.parse(ok.stdout)).toMatchObject({ kind: 'ack', macValid: true, echoedCounterMatches: true });
  const other = await run(['--json', '--muk', MUK, '--original', V3, '--variant', 'ts8-only', ACK_TS8]);
  expect(other.code).toBe(1);
  expect(JSON.parse(other.stdout).macValid).toBe(false);
});

test('an MTK message: --msk with --rand (profile O15 msk-rand), usage error without it', async () => {
  const { buildMtkMessage } = await import('./index.ts');
  const msk = '2b7e151628aed2a6abf7158809cf4f3c';
  const rand = 'a0a1a2a3a4a5a6a7a8a9aaabacadaeaf';
  const mtk = buildMtkMessage({
    msk: Buffer.from(msk, 'hex'), mskRand: Buffer.from(rand, 'hex'), csbId: 0x55667788, counter: 3,
    keyDomainId: Buffer.from('00f110', 'hex'), mskId: 0x00010001, mtkId: 2, mtk: Buffer.alloc(16, 0xab), salt: Buffer.alloc(14, 0xcd),
  }).bytes.toString('hex');
  const ok = await run(['--json', '--msk', msk, '--rand', rand, mtk]);
  expect(ok.code).toBe(0);
  expect(JSON.parse(ok.stdout)).toMatchObject({ kind: 'mtk', macValid: true, keyData: [{ kdType: 1, key: 'ab'.repeat(16), salt: 'cd'.repeat(14) }] });
  const noRand = await run(['--msk', msk, mtk]);
  expect(noRand.code).toBe(2);
  expect(noRand.stderr).toContain('--rand');
  const emptyRand = await run(['--json', '--msk', msk, '--mtk-rand-source', 'empty', mtk]);
  expect(emptyRand.code).toBe(1);
  expect(JSON.parse(emptyRand.stdout).macValid).toBe(false);
});

// Input bounds: a MIKEY message travels in one UDP datagram (at most 65,527 octets); anything longer is
// refused before a payload is read, so decode time and memory stay bounded whatever the input claims.
test('a message larger than a UDP datagram is refused at once with exit 2, from a file and from stdin', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'decode-big-'));
  const file = join(dir, 'big.bin');
  // HDR (next = EXT) then 262,144 empty general-extension payloads: 1 MiB that would walk for seconds.
  const hdr = Buffer.from('01001500000000000000', 'hex');
  const ext = Buffer.from([21, 0xff, 0, 0]);
  writeFileSync(file, Buffer.concat([hdr, Buffer.concat(Array.from({ length: 262_144 }, () => ext))]));
  const started = performance.now();
  const fromFile = await run(['--file', file]);
  expect(fromFile.code).toBe(2);
  expect(fromFile.stderr).toMatch(/larger than a UDP datagram can carry \(at most 65527\)/);
  const fromStdin = await run([], 'ab'.repeat(70_000));
  expect(fromStdin.code).toBe(2);
  expect(fromStdin.stderr).toMatch(/larger than a UDP datagram can carry/);
  expect(performance.now() - started).toBeLessThan(10_000);
});

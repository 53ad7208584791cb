// `mbms-conform decode`: decodes one MIKEY message (hex argument, hex on stdin, or --file with raw octets),
// prints the readable tree or JSON, and with a key verifies the MAC and decrypts the key data.
// Exit: 0 decoded (and MAC valid when checked), 1 MAC invalid or decryption failed, 2 malformed input or usage.
import { readFileSync, statSync } from 'node:fs';
import { parseArgs } from 'node:util';
import {
  MAX_MIKEY_MESSAGE_OCTETS, decodeMikey, decodeMikeyLenient, describeKeyData, describeMikey, keyDataToJSON, mikeyProfile, mikeyToJSON,
  readKeyMessage, verifyVerificationMessage, verificationMacVariants, MikeyDecodeError,
  type MikeyProfile, type VerificationMacVariant, type DeepPartial,
} from '../mikey/index.ts';

const USAGE = `usage: mbms-conform decode [<hex>] [--file <bin>] [--json]
                          [--muk <hex> | --msk <hex>] [--rand <hex>] [--mtk-rand-source msk-rand|empty]
                          [--original <hex>] [--variant rfc-ids-ts8|rfc-ids-ts4|ts8-only] [--profile <file>]
  <hex>            the message as hex (whitespace and ':' ignored); read from stdin when absent
  --file <bin>     the message as raw octets in a file
  --json           print JSON instead of the readable tree
  --muk <hex>      MUK: verify the MAC of an MSK message or trigger and decrypt its key data
  --msk <hex>      MSK: verify the MAC of an MTK message and decrypt its key data
  --rand <hex>     RAND of the MSK message, for MTK messages that carry no RAND (profile O15 'msk-rand')
  --original <hex> the MSK message a verification message (ACK) acknowledges; with --muk checks the V MAC
  --variant <v>    verification MAC variant (profile O16), default from the profile
  --profile <file> an mbms-conform profile (YAML/JSON); its MIKEY section applies
`;

class UsageError extends Error {}

function parseHex(text: string, what: string): Buffer {
  const clean = text.replace(/^0x/i, '').replace(/[\s:]/g, '');
  const bad = clean.search(/[^0-9a-fA-F]/);
  if (bad >= 0) throw new UsageError(`${what}: not hex at character ${bad}`);
  if (clean.length % 2 !== 0) throw new UsageError(`${what}: odd number of hex digits (${clean.length})`);
  return Buffer.from(clean, 'hex');
}

async function readStdin(): Promise<string> {
  if (process.stdin.isTTY) throw new UsageError('no message: give <hex>, --file <bin> or hex on stdin');
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of process.stdin) {
    chunks.push(chunk as Buffer);
    total += (chunk as Buffer).length;
    // Hex with separators takes at most 3 characters an octet: past that, stop reading (bounded memory).
    if (total > 3 * MAX_MIKEY_MESSAGE_OCTETS + 2) {
      throw new UsageError(`message on stdin longer than a UDP datagram can carry (at most ${MAX_MIKEY_MESSAGE_OCTETS} octets)`);
    }
  }
  return Buffer.concat(chunks).toString('utf8');
}

async function loadMikeyProfile(path: string | undefined): Promise<MikeyProfile> {
  if (!path) return mikeyProfile();
  const { loadProfile } = await import('../mbms/index.ts');
  const full = loadProfile(path) as { mikey?: unknown };
  return mikeyProfile((full.mikey ?? {}) as DeepPartial<MikeyProfile>);
}

function out(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}

function fail(code: number, message: string): number {
  process.stderr.write(`mbms-conform decode: ${message}\n`);
  return code;
}

export async function decodeCommand(argv: string[]): Promise<number> {
  try {
    return await run(argv);
  } catch (e) {
    if (e instanceof UsageError) return fail(2, `${e.message} (see mbms-conform decode --help)`);
    if (e instanceof MikeyDecodeError) return fail(2, e.message);
    const code = (e as { code?: unknown }).code;
    if (e instanceof Error && typeof code === 'string' && code.startsWith('ERR_')) return fail(2, e.message.split('\n')[0]!);
    throw e;
  }
}

async function run(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv, allowPositionals: true, strict: true,
      options: {
        file: { type: 'string' }, json: { type: 'boolean', default: false }, muk: { type: 'string' }, msk: { type: 'string' },
        rand: { type: 'string' }, 'mtk-rand-source': { type: 'string' }, original: { type: 'string' },
        variant: { type: 'string' }, profile: { type: 'string' }, help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (e) {
    throw new UsageError((e as Error).message.split('\n')[0]!);
  }
  const { values: opt, positionals } = parsed;
  if (opt.help) {
    out(USAGE);
    return 0;
  }
  if (positionals.length > 1) throw new UsageError(`one message at a time (${positionals.length} arguments given)`);
  if (positionals.length && opt.file) throw new UsageError('give either <hex> or --file, not both');
  if (opt.muk && opt.msk) throw new UsageError('give either --muk or --msk, not both');

  const profile = await loadMikeyProfile(opt.profile);
  const src = opt['mtk-rand-source'];
  if (src !== undefined) {
    if (src !== 'msk-rand' && src !== 'empty') throw new UsageError(`--mtk-rand-source must be msk-rand or empty, not '${src}'`);
    profile.mtkRandSource = src;
  }
  if (opt.variant !== undefined) {
    if (!verificationMacVariants.includes(opt.variant as VerificationMacVariant)) {
      throw new UsageError(`--variant must be one of ${verificationMacVariants.join(', ')}`);
    }
    profile.verification.macVariant = opt.variant as VerificationMacVariant;
  }

  let bytes: Buffer;
  if (opt.file) {
    try {
      const size = statSync(opt.file).size;
      if (size > MAX_MIKEY_MESSAGE_OCTETS) {
        throw new UsageError(`${opt.file}: ${size} octets, larger than a UDP datagram can carry (at most ${MAX_MIKEY_MESSAGE_OCTETS}); not read`);
      }
      bytes = readFileSync(opt.file);
    } catch (e) {
      if (e instanceof UsageError) throw e;
      throw new UsageError(`cannot read ${opt.file}: ${(e as Error).message}`);
    }
  } else {
    bytes = parseHex(positionals[0] ?? (await readStdin()), 'message');
  }
  if (bytes.length === 0) throw new UsageError('empty message');
  const muk = opt.muk !== undefined ? parseHex(opt.muk, '--muk') : undefined;
  const msk = opt.msk !== undefined ? parseHex(opt.msk, '--msk') : undefined;
  const rand = opt.rand !== undefined ? parseHex(opt.rand, '--rand') : undefined;
  const original = opt.original !== undefined ? decodeMikey(parseHex(opt.original, '--original')) : undefined;

  const decoded = decodeMikeyLenient(bytes);
  if (decoded.error) {
    if (opt.json) {
      const { offset, payload, reason } = decoded.error;
      out(JSON.stringify({ length: bytes.length, error: { offset, payload, reason }, partial: mikeyToJSON(decoded.message) }, null, 2));
    }
    return fail(2, decoded.error.message);
  }
  const message = decoded.message;
  const psk = muk ?? msk;
  const json: Record<string, unknown> = { length: bytes.length, ...mikeyToJSON(message) };
  const text = [`MIKEY message, ${bytes.length} octets`, describeMikey(message)];
  let code = 0;

  if (psk && message.hdr.dataType === 1) {
    // A verification message: its MAC can only be checked against the message it acknowledges.
    if (!original) throw new UsageError('a verification message (data type 1) needs --original <hex> to check its MAC');
    const check = verifyVerificationMessage(bytes, { original, psk, rand }, profile);
    Object.assign(json, { kind: 'ack', macValid: check.macValid, csbIdMatches: check.csbIdMatches, echoedCounterMatches: check.echoedCounterMatches });
    if (check.error) json.error = check.error;
    text.push(`Verification MAC (${profile.verification.macVariant}): ${check.macValid ? 'valid' : 'INVALID'}`);
    if (check.error) text.push(`Problem: ${check.error}`);
    code = check.macValid ? 0 : 1;
  } else if (psk) {
    const reading = readKeyMessage(bytes, { psk, rand }, profile);
    if (!reading.macValid && reading.error?.startsWith('no RAND')) {
      throw new UsageError('the message carries no RAND: give --rand <hex> (RAND of the MSK message) or --mtk-rand-source empty');
    }
    json.kind = reading.kind;
    json.macValid = reading.macValid;
    json.keyData = keyDataToJSON(reading.keyData);
    if (reading.error) json.error = reading.error;
    text.push(`Kind: ${reading.kind}`, `KEMAC MAC (${muk ? 'MUK' : 'MSK'}-derived auth key): ${reading.macValid ? 'valid' : 'INVALID'}`);
    if (reading.keyData.length) text.push('Decrypted key data:', describeKeyData(reading.keyData, '  '));
    if (reading.error) text.push(`Problem: ${reading.error}`);
    code = reading.macValid && !reading.decodeError ? 0 : 1;
  }
  out(opt.json ? JSON.stringify(json, null, 2) : text.join('\n'));
  return code;
}

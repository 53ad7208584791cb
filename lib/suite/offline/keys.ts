// The secrets file of `mbms-conform analyze` (docs/analyze.md): per-UE Ks_NAF / MUK by B-TID and MSKs by
// (Key Domain ID, MSK ID), schema-checked (keys.schema.json) with errors naming file, line and field.
// Kept apart from the profile so that a profile can be shared without secrets.
import { readFileSync } from 'node:fs';
import { isScalar } from 'yaml';
import { readYaml, schemaProblems, type YamlSource } from '../yaml-source.ts';
import { schemaValidator } from '../../mbms/schema-validator.ts';
import { AnalyzeKeysError } from './errors.ts';

export interface UeKeys {
  btid: string;
  /** Ks_(ext)_NAF: base64 of it is the Digest password (protocol §3.3). */
  ksNaf?: Buffer;
  /** MUK: protects MSK messages and triggers; defaults to ksNaf (GBA_ME). */
  muk?: Buffer;
  address?: string;
  mikeyPort?: number;
}

export interface MskKey {
  keyDomainId: string; // hex, lower case
  mskId: string;       // hex, lower case
  key: Buffer;
  rand?: Buffer;
}

export interface AnalyzeKeys { ues: UeKeys[]; msks: MskKey[] }

export const KEYS_SCHEMA_URL = new URL('./keys.schema.json', import.meta.url);

export function emptyKeys(): AnalyzeKeys {
  return { ues: [], msks: [] };
}

const hexBuffer = (s: string | undefined): Buffer | undefined => (s === undefined ? undefined : Buffer.from(s, 'hex'));

/** Reads and checks a keys file (YAML or JSON). */
export function loadKeys(file: string): AnalyzeKeys {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new AnalyzeKeysError(file, `cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  return parseKeys(text, file);
}

export function parseKeys(text: string, file = '<keys>'): AnalyzeKeys {
  const validate = schemaValidator(KEYS_SCHEMA_URL);
  // A JSON keys file (what a generator writes for thousands of UEs) is read as JSON: the YAML reader keeps
  // a document with positions, about fifty times the file in memory. Only a file that fails the schema is
  // read again as YAML, for the line of the error.
  const json = /^\s*\{/.test(text) ? parseJson(text) : undefined;
  if (json !== undefined && validate(json)) return keysOf(json, file);
  const source = readYaml(file, text);
  if ('error' in source) throw new AnalyzeKeysError(file, `YAML: ${source.error}`, source.line);
  const data = (source as YamlSource).data ?? {};
  restoreHexText(source as YamlSource, data);
  if (!validate(data)) {
    const p = schemaProblems(source as YamlSource, validate.errors ?? [])[0];
    throw new AnalyzeKeysError(file, p ? `${p.field}: ${p.message}` : 'does not match keys.schema.json', p?.line);
  }
  return keysOf(data, file);
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined; // YAML after all (or broken: the YAML reader names the line)
  }
}

/** The keys of a document that passed the schema. */
function keysOf(data: unknown, file: string): AnalyzeKeys {
  const raw = data as { ues?: Record<string, unknown>[]; msks?: Record<string, unknown>[] };
  const ues = (raw.ues ?? []).map((u): UeKeys => ({
    btid: String(u.btid),
    ksNaf: hexBuffer(u.ksNaf as string | undefined),
    muk: hexBuffer((u.muk ?? u.ksNaf) as string | undefined),
    ...(u.address !== undefined ? { address: String(u.address) } : {}),
    ...(u.mikeyPort !== undefined ? { mikeyPort: Number(u.mikeyPort) } : {}),
  }));
  const seen = new Set<string>();
  for (const [i, u] of ues.entries()) {
    if (seen.has(u.btid)) throw new AnalyzeKeysError(file, `ues[${i}].btid: B-TID '${u.btid}' listed twice`);
    seen.add(u.btid);
  }
  const msks = (raw.msks ?? []).map((m): MskKey => ({
    keyDomainId: String(m.keyDomainId).toLowerCase(),
    mskId: String(m.mskId).toLowerCase(),
    key: Buffer.from(String(m.key), 'hex'),
    ...(m.rand !== undefined ? { rand: Buffer.from(String(m.rand), 'hex') } : {}),
  }));
  return { ues, msks };
}

const HEX_FIELDS: Record<string, string[]> = { ues: ['ksNaf', 'muk'], msks: ['keyDomainId', 'mskId', 'key', 'rand'] };

/**
 * Hex written unquoted with digits only (`mskId: 00010001`, `ksNaf: 0011...`) is a number to YAML, and
 * loses its leading zeros; the value is taken back as written, so a key never depends on quoting.
 */
function restoreHexText(source: YamlSource, data: unknown): void {
  if (!data || typeof data !== 'object') return;
  for (const [list, fields] of Object.entries(HEX_FIELDS)) {
    const items = (data as Record<string, unknown>)[list];
    if (!Array.isArray(items)) continue;
    items.forEach((item, i) => {
      if (!item || typeof item !== 'object') return;
      for (const field of fields) {
        const value = (item as Record<string, unknown>)[field];
        if (typeof value !== 'number') continue;
        const node = source.doc.getIn([list, i, field], true);
        if (isScalar(node) && typeof node.source === 'string') (item as Record<string, unknown>)[field] = node.source;
      }
    });
  }
}

// Configuration of the reference BM-SC: the resolved form the class takes, and the loader for the YAML/JSON
// file of `mbms-conform reference bmsc --config FILE` (errors name file, line and field).

import { dirname, isAbsolute, resolve } from 'node:path';
import {
  defaultProfile, deepMerge, loadProfile, referenceProfile, validateProfile,
  type MbmsProfile,
} from '../../mbms/index.ts';
import {
  ReferenceConfigError, parseKeyDomainId, parseKsNaf, parseMskIdHex, readConfigFile, resolveFaults, type ConfigFile, type Endpoint, type FieldPath,
} from '../common/index.ts';
import { BMSC_FAULTS } from './faults.ts';

/** The services a user may receive MSKs for: key groups of one key domain. */
export interface BmscSubscription {
  keyDomainId: Buffer;
  keyGroups: number[];
}

export interface BmscUser {
  /** B-TID: the Digest username (protocol §3.3). */
  btid: string;
  /** Ks_NAF = MUK (GBA_ME, protocol §3.4); the Digest password is base64(Ks_NAF). */
  ksNaf: Buffer;
  /** Where MIKEY goes; default: source address of the user's last MSK request (O17 mirror). */
  ueAddress?: string;
  /** UE MIKEY port; default profile.ports.ueMikey (O1). */
  uePort?: number;
  subscriptions: BmscSubscription[];
}

/** One MBMS user service: a key group of a key domain, with its own MSK sequence. */
export interface BmscService {
  keyDomainId: Buffer;
  keyGroup: number;
  name?: string;
}

export interface ReferenceBmscConfig {
  /** FQDN of the BM-SC acting as NAF: realm `3GPP-bootstrapping@<nafFqdn>`, IDi of MIKEY messages. */
  nafFqdn: string;
  /** MSK request server (6.3.1). Port 0 = ephemeral. */
  http: Endpoint;
  /** Source socket of MIKEY messages, also where ACKs arrive (O17 'source'). */
  mikey: Endpoint;
  /** Control API (docs/control-api.md). */
  control: Endpoint;
  users: BmscUser[];
  services: BmscService[];
  profile: MbmsProfile;
  /** Active fault names (BMSC_FAULTS). */
  faults: string[];
  /** JSON file for keys and counters; without it state lives in memory only (lost on restart). */
  stateFile?: string;
  /** V flag of MSK messages (request an ACK, protocol §1.2). Default true. */
  mskAck: boolean;
  /** V flag of solicited-pull triggers (O20 "V configurable"). Default true. */
  triggerAck: boolean;
  /** Send a new MTK under each current MSK every profile.timers.rekeyMs. Default false (on demand only). */
  mtkRekey: boolean;
  /** Fixed list of MTK receivers (the "bearer"); default: every UE the BM-SC knows an address for. */
  mtkTargets?: Endpoint[];
  /**
   * COUNTER values reserved per write of the counter journal (default 1000; the next block is reserved in
   * the background, so no message waits for the disk in the steady state; a restart skips at most this many).
   */
  counterReserveBlock: number;
}

/** Options of the constructor: everything but the protocol basics may be left out. */
export type ReferenceBmscOptions = Pick<ReferenceBmscConfig, 'nafFqdn'> & Partial<Omit<ReferenceBmscConfig, 'nafFqdn'>>;

/** Fills the defaults of a partial configuration (loopback, ephemeral ports, §9 default profile). */
export function resolveBmscConfig(options: ReferenceBmscOptions): ReferenceBmscConfig {
  const loopback = (e?: Endpoint): Endpoint => e ?? { address: '127.0.0.1', port: 0 };
  const config: ReferenceBmscConfig = {
    nafFqdn: options.nafFqdn,
    http: loopback(options.http),
    mikey: loopback(options.mikey),
    control: loopback(options.control),
    users: options.users ?? [],
    services: options.services ?? [],
    profile: options.profile ?? defaultProfile(),
    faults: options.faults ?? [],
    mskAck: options.mskAck ?? true,
    triggerAck: options.triggerAck ?? true,
    mtkRekey: options.mtkRekey ?? false,
    counterReserveBlock: options.counterReserveBlock ?? 1000,
    ...(options.stateFile ? { stateFile: options.stateFile } : {}),
    ...(options.mtkTargets ? { mtkTargets: options.mtkTargets } : {}),
  };
  resolveFaults(BMSC_FAULTS, 'bmsc', config.faults);
  for (const user of config.users) {
    // A subscription must name a service the BM-SC runs, else it could never be served.
    for (const sub of user.subscriptions) {
      for (const group of sub.keyGroups) {
        if (!config.services.some((s) => s.keyDomainId.equals(sub.keyDomainId) && s.keyGroup === group)) {
          config.services.push({ keyDomainId: sub.keyDomainId, keyGroup: group });
        }
      }
    }
  }
  return config;
}

// ---- parsing of the JSON/YAML forms (file and control API share them) ------------------------------------

export interface SubscriptionInput { keyDomainId: string; keyGroups?: number[]; mskIds?: string[] }
export interface UserInput { btid: string; ksNaf: string; ueAddress?: string; uePort?: number; subscriptions?: SubscriptionInput[] }

/** A user from its JSON form (config file or POST /users); `at` prefixes field names in errors. */
export function parseUser(input: UserInput, fail: (field: FieldPath, message: string) => Error = plainFail): BmscUser {
  if (typeof input.btid !== 'string' || input.btid === '') throw fail(['btid'], 'must be a non-empty string (the B-TID)');
  if (typeof input.ksNaf !== 'string') throw fail(['ksNaf'], 'must be a hex string');
  let ksNaf: Buffer;
  try { ksNaf = parseKsNaf(input.ksNaf); } catch (e) { throw fail(['ksNaf'], (e as Error).message); }
  if (input.ueAddress !== undefined && (typeof input.ueAddress !== 'string' || input.ueAddress === '')) throw fail(['ueAddress'], 'must be an IP address');
  if (input.uePort !== undefined && !isPort(input.uePort, false)) throw fail(['uePort'], 'must be a port 1..65535');
  const subscriptions = (input.subscriptions ?? []).map((s, i): BmscSubscription => {
    let keyDomainId: Buffer;
    try { keyDomainId = parseKeyDomainId(String(s.keyDomainId)); } catch (e) { throw fail(['subscriptions', i, 'keyDomainId'], (e as Error).message); }
    const groups = new Set<number>();
    (s.keyGroups ?? []).forEach((g, j) => {
      if (!Number.isInteger(g) || g < 0 || g > 0xffff) throw fail(['subscriptions', i, 'keyGroups', j], 'must be an integer 0..65535');
      groups.add(g);
    });
    (s.mskIds ?? []).forEach((m, j) => {
      try { groups.add(Math.floor(parseMskIdHex(String(m)) / 0x10000)); } catch (e) { throw fail(['subscriptions', i, 'mskIds', j], (e as Error).message); }
    });
    if (groups.size === 0) throw fail(['subscriptions', i], 'names no key group (keyGroups or mskIds)');
    return { keyDomainId, keyGroups: [...groups] };
  });
  return {
    btid: input.btid, ksNaf, subscriptions,
    ...(input.ueAddress !== undefined ? { ueAddress: input.ueAddress } : {}),
    ...(input.uePort !== undefined ? { uePort: input.uePort } : {}),
  };
}

function plainFail(field: FieldPath, message: string): Error {
  return new ReferenceConfigError(message, { field: field.join('.') });
}

function isPort(value: unknown, zeroAllowed: boolean): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= (zeroAllowed ? 0 : 1) && value <= 65535;
}

const TOP_LEVEL_FIELDS = new Set([
  'nafFqdn', 'http', 'mikey', 'control', 'users', 'services', 'profile', 'profileBase', 'faults', 'stateFile',
  'mskAck', 'triggerAck', 'mtkRekey', 'mtkTargets', 'counterReserveBlock',
]);

export interface LoadBmscConfigOverrides {
  httpPort?: number;
  mikeyPort?: number;
  controlPort?: number;
  /** Added to the file's faults. */
  faults?: string[];
  stateFile?: string;
}

/**
 * Reads a BM-SC configuration file. `profile` in the file is either a path to a profile file (relative to
 * the config file) or an inline overlay; `profileBase` is 'default' (§9, real devices) or 'reference'
 * (short timers). Relative `stateFile` paths are relative to the config file.
 */
export function loadBmscConfig(path: string, overrides: LoadBmscConfigOverrides = {}): ReferenceBmscConfig {
  const file = readConfigFile(path);
  const data = file.data;
  if (typeof data !== 'object' || data === null || Array.isArray(data)) throw file.error([], 'must be a mapping');
  const raw = data as Record<string, unknown>;
  for (const key of Object.keys(raw)) {
    if (!TOP_LEVEL_FIELDS.has(key)) throw file.error([key], `unknown field (known: ${[...TOP_LEVEL_FIELDS].join(', ')})`);
  }
  const baseDir = dirname(path);
  if (typeof raw.nafFqdn !== 'string' || !/^[A-Za-z0-9.-]+$/.test(raw.nafFqdn)) throw file.error(['nafFqdn'], 'required: the BM-SC FQDN (letters, digits, dots, hyphens)');
  const endpoint = (name: 'http' | 'mikey' | 'control', port?: number): Endpoint => {
    const value = raw[name] ?? {};
    if (typeof value !== 'object' || value === null) throw file.error([name], 'must be { address, port }');
    const e = value as Record<string, unknown>;
    const address = e.address ?? '127.0.0.1';
    if (typeof address !== 'string' || address === '') throw file.error([name, 'address'], 'must be an IP address');
    const p = port ?? e.port ?? 0;
    if (!isPort(p, true)) throw file.error([name, 'port'], 'must be a port 0..65535');
    return { address, port: p };
  };
  const users = arrayField(file, raw, 'users').map((u, i) => {
    if (typeof u !== 'object' || u === null) throw file.error(['users', i], 'must be a mapping');
    return parseUser(u as UserInput, (field, message) => file.error(['users', i, ...field], message));
  });
  const services = arrayField(file, raw, 'services').map((s, i): BmscService => {
    const svc = s as Record<string, unknown>;
    let keyDomainId: Buffer;
    try { keyDomainId = parseKeyDomainId(String(svc.keyDomainId)); } catch (e) { throw file.error(['services', i, 'keyDomainId'], (e as Error).message); }
    const keyGroup = svc.keyGroup;
    if (typeof keyGroup !== 'number' || !Number.isInteger(keyGroup) || keyGroup < 0 || keyGroup > 0xffff) {
      throw file.error(['services', i, 'keyGroup'], 'must be an integer 0..65535');
    }
    return { keyDomainId, keyGroup, ...(typeof svc.name === 'string' ? { name: svc.name } : {}) };
  });
  const faults = [...arrayField(file, raw, 'faults').map((f, i) => {
    if (typeof f !== 'string') throw file.error(['faults', i], 'must be a fault name');
    return f;
  }), ...(overrides.faults ?? [])];
  try {
    resolveFaults(BMSC_FAULTS, 'bmsc', faults);
  } catch (e) {
    throw file.error(['faults'], (e as Error).message);
  }
  const profile = resolveProfile(file, raw.profile, raw.profileBase, baseDir);
  const bool = (name: string, fallback: boolean): boolean => {
    const v = raw[name];
    if (v === undefined) return fallback;
    if (typeof v !== 'boolean') throw file.error([name], 'must be true or false');
    return v;
  };
  const mtkTargets = raw.mtkTargets === undefined ? undefined : arrayField(file, raw, 'mtkTargets').map((t, i) => {
    const e = t as Record<string, unknown>;
    if (typeof e?.address !== 'string' || !isPort(e.port, false)) throw file.error(['mtkTargets', i], 'must be { address, port }');
    return { address: e.address, port: e.port };
  });
  const block = raw.counterReserveBlock ?? 1000;
  if (typeof block !== 'number' || !Number.isInteger(block) || block < 1) throw file.error(['counterReserveBlock'], 'must be an integer >= 1');
  const stateFile = overrides.stateFile ?? (raw.stateFile === undefined ? undefined : String(raw.stateFile));
  return resolveBmscConfig({
    nafFqdn: raw.nafFqdn,
    http: endpoint('http', overrides.httpPort),
    mikey: endpoint('mikey', overrides.mikeyPort),
    control: endpoint('control', overrides.controlPort),
    users, services, profile, faults,
    mskAck: bool('mskAck', true),
    triggerAck: bool('triggerAck', true),
    mtkRekey: bool('mtkRekey', false),
    counterReserveBlock: block,
    ...(mtkTargets ? { mtkTargets } : {}),
    ...(stateFile ? { stateFile: isAbsolute(stateFile) ? stateFile : resolve(baseDir, stateFile) } : {}),
  });
}

function arrayField(file: ConfigFile, raw: Record<string, unknown>, name: string): unknown[] {
  const v = raw[name];
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw file.error([name], 'must be a list');
  return v;
}

function resolveProfile(file: ConfigFile, value: unknown, baseName: unknown, baseDir: string): MbmsProfile {
  if (baseName !== undefined && baseName !== 'default' && baseName !== 'reference') {
    throw file.error(['profileBase'], "must be 'default' or 'reference'");
  }
  const base = baseName === 'reference' ? referenceProfile() : defaultProfile();
  try {
    if (value === undefined || value === null) return base;
    if (typeof value === 'string') {
      return loadProfile(isAbsolute(value) ? value : resolve(baseDir, value), { base: baseName === 'reference' ? 'reference' : 'default' });
    }
    if (typeof value === 'object' && !Array.isArray(value)) return validateProfile(deepMerge(base, value), `${file.path} (profile)`);
  } catch (e) {
    throw file.error(['profile'], (e as Error).message);
  }
  throw file.error(['profile'], 'must be a profile file path or an inline profile mapping');
}

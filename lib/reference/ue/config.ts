// Configuration of the reference UE: GBA credentials, where the BM-SC is, where to listen, the MBMS profile,
// active faults and the services (key domains and MSKs) the UE joins. Read from YAML/JSON with errors that
// name the file, the line and the field (lib/reference/common readConfigFile).
import { dirname, resolve } from 'node:path';
import {
  deepMerge, defaultProfile, loadProfile, referenceProfile, validateProfile,
  ProfileError, type MbmsProfile,
} from '../../mbms/index.ts';
import { parseKeyDomainId, parseKsNaf, parseMskIdHex, readConfigFile, ReferenceConfigError, type Endpoint, type FieldPath } from '../common/index.ts';
import { UE_FAULT_NAMES } from './faults.ts';

/** One service the UE takes part in: a key domain and the MSKs (key groups) it wants. */
export interface UeService {
  /** 6 hex digits or MCC-MNC (e.g. '001-01' = 00f110), as in the control API. */
  keyDomainId: string;
  /** MSK IDs as 8 hex digits (Key Group || Key Number). */
  mskIds: string[];
}

export interface UeConfig {
  /** GBA credentials as after a Ub run (protocol §3.3): B-TID and Ks_NAF (hex, 32 octets). Optional: POST /bootstrap. */
  btid?: string;
  ksNaf?: string;
  /** MIKEY pre-shared key (MUK) as hex when it differs from Ks_NAF: Ks_int_NAF under GBA_U (protocol §3.4, O23). */
  muk?: string;
  /** Origin of the BM-SC's HTTP server, e.g. 'http://127.0.0.1:4380'; the path comes from profile.http (O2). */
  bmscUrl: string;
  /** BM-SC FQDN: realm host (O6) and NAF_ID. */
  nafFqdn: string;
  /** MIKEY UDP socket (O1); port 0 = ephemeral. Default 127.0.0.1 and profile.ports.ueMikey. */
  mikey?: Endpoint;
  /** Control API (docs/control-api.md); port 0 = ephemeral. Default 127.0.0.1:0. Set to null for none. */
  control?: Endpoint | null;
  profile?: MbmsProfile;
  faults?: string[];
  services?: UeService[];
  /** JSON file keeping the replay counters across restarts (protocol §6.1). In memory when absent. */
  statePath?: string;
}

/** Checks a configuration given in code; throws ReferenceConfigError naming the field. */
export function checkUeConfig(config: UeConfig): void {
  const fail = (field: string, message: string): never => { throw new ReferenceConfigError(message, { field }); };
  if ((config.btid === undefined) !== (config.ksNaf === undefined)) fail(config.btid === undefined ? 'btid' : 'ksNaf', 'btid and ksNaf go together');
  if (config.ksNaf !== undefined) try { parseKsNaf(config.ksNaf); } catch (e) { fail('ksNaf', (e as Error).message); }
  if (config.muk !== undefined) {
    if (config.ksNaf === undefined) fail('muk', 'muk needs btid and ksNaf');
    try { parseKsNaf(config.muk); } catch (e) { fail('muk', (e as Error).message.replace('ksNaf', 'muk')); }
  }
  try { new URL(config.bmscUrl); } catch { fail('bmscUrl', `'${config.bmscUrl}' is not a URL`); }
  if (!/^https?:$/.test(new URL(config.bmscUrl).protocol)) fail('bmscUrl', 'only http:// is supported');
  if (!config.nafFqdn) fail('nafFqdn', 'required');
  for (const [i, name] of (config.faults ?? []).entries()) {
    if (!UE_FAULT_NAMES.includes(name)) fail(`faults[${i}]`, `unknown ue fault '${name}' (known: ${UE_FAULT_NAMES.join(', ')})`);
  }
  for (const [i, s] of (config.services ?? []).entries()) {
    try { parseKeyDomainId(s.keyDomainId); } catch (e) { fail(`services[${i}].keyDomainId`, (e as Error).message); }
    for (const [j, id] of (s.mskIds ?? []).entries()) {
      try { parseMskIdHex(id); } catch (e) { fail(`services[${i}].mskIds[${j}]`, (e as Error).message); }
    }
  }
  if (config.profile) validateProfile(config.profile);
}

const CONFIG_KEYS = new Set(['btid', 'ksNaf', 'muk', 'bmscUrl', 'nafFqdn', 'mikey', 'control', 'profile', 'profileBase', 'faults', 'services', 'statePath']);

/**
 * Reads a UE configuration file (YAML or JSON). `profile` is either a path to a profile file (relative to
 * the configuration file) or an inline mapping merged over `profileBase` ('default' or 'reference').
 */
export function loadUeConfig(path: string): UeConfig {
  const file = readConfigFile(path);
  const data = file.data as Record<string, unknown> | null;
  if (typeof data !== 'object' || data === null || Array.isArray(data)) throw file.error([], 'the configuration must be a mapping');
  for (const key of Object.keys(data)) if (!CONFIG_KEYS.has(key)) throw file.error([key], 'unknown field');
  const str = (field: string, required: boolean): string | undefined => {
    const v = data[field];
    if (v === undefined && !required) return undefined;
    if (typeof v !== 'string' || v === '') throw file.error([field], 'must be a non-empty string');
    return v;
  };
  const endpoint = (field: string): Endpoint | undefined => {
    const v = data[field] as Record<string, unknown> | undefined;
    if (v === undefined) return undefined;
    if (typeof v !== 'object' || v === null) throw file.error([field], 'must be { address, port }');
    if (typeof v.address !== 'string') throw file.error([field, 'address'], 'must be a string');
    if (!Number.isInteger(v.port) || (v.port as number) < 0 || (v.port as number) > 65535) throw file.error([field, 'port'], 'must be 0..65535');
    return { address: v.address, port: v.port as number };
  };
  const base = data.profileBase ?? 'default';
  if (base !== 'default' && base !== 'reference') throw file.error(['profileBase'], "must be 'default' or 'reference'");
  let profile: MbmsProfile;
  const raw = data.profile;
  try {
    if (typeof raw === 'string') profile = loadProfile(resolve(dirname(path), raw), { base });
    else {
      profile = deepMerge(base === 'reference' ? referenceProfile() : defaultProfile(), raw ?? {});
      validateProfile(profile, path);
    }
  } catch (error) {
    if (error instanceof ProfileError && typeof raw !== 'string') {
      throw file.error(['profile', ...error.field.split('.').filter(Boolean)] as FieldPath, error.reason);
    }
    throw error;
  }
  const config: UeConfig = {
    bmscUrl: str('bmscUrl', true)!, nafFqdn: str('nafFqdn', true)!, profile,
    ...(data.btid !== undefined ? { btid: str('btid', true)! } : {}),
    ...(data.ksNaf !== undefined ? { ksNaf: str('ksNaf', true)! } : {}),
    ...(data.muk !== undefined ? { muk: str('muk', true)! } : {}),
    ...(data.statePath !== undefined ? { statePath: resolve(dirname(path), str('statePath', true)!) } : {}),
  };
  const mikey = endpoint('mikey');
  if (mikey) config.mikey = mikey;
  const control = endpoint('control');
  if (control) config.control = control;
  if (data.faults !== undefined) {
    if (!Array.isArray(data.faults) || data.faults.some((f) => typeof f !== 'string')) throw file.error(['faults'], 'must be a list of fault names');
    config.faults = data.faults as string[];
  }
  if (data.services !== undefined) {
    if (!Array.isArray(data.services)) throw file.error(['services'], 'must be a list of { keyDomainId, mskIds }');
    config.services = (data.services as Record<string, unknown>[]).map((s, i) => {
      if (typeof s?.keyDomainId !== 'string') throw file.error(['services', i, 'keyDomainId'], 'must be a string');
      if (!Array.isArray(s.mskIds ?? [])) throw file.error(['services', i, 'mskIds'], 'must be a list');
      return { keyDomainId: s.keyDomainId, mskIds: ((s.mskIds ?? []) as unknown[]).map(String) };
    });
  }
  try {
    checkUeConfig(config);
  } catch (error) {
    if (error instanceof ReferenceConfigError && error.field) {
      const parts = error.field.split(/\.|\[|\]/).filter(Boolean).map((p) => (/^\d+$/.test(p) ? Number(p) : p));
      throw file.error(parts, error.message.replace(/^[^:]*: /, ''));
    }
    throw error;
  }
  return config;
}

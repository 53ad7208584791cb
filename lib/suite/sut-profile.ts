// Capability statements and SUT profiles from YAML, schema-checked with file/line/field errors, and the
// provider for an external SUT (MBMS_SUT=<profile.yaml>). A run without a capability statement is an
// error: the suite never assumes "everything is supported".

import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { ProfileError, defaultProfile, deepMerge, loadProfile, referenceProfile, validateProfile, type MbmsProfile, type MskRequestEntry } from '../mbms/index.ts';
import { SutProfileError, TriggerError } from './errors.ts';
import {
  ControlApiAdapter, NoAdapter, PromptAdapter, ShellAdapter, controlCall,
  type CapabilityStatement, type SessionRequest, type SutAdapter, type SutProvider, type SutSession, type TesterPorts, type TriggerAction,
} from './sut.ts';
import { fieldName, locate, readYaml, schemaProblems, type YamlSource } from './yaml-source.ts';
import { schemaValidator } from '../mbms/schema-validator.ts';
import type { Role } from './verdict.ts';

export const PICS_SCHEMA = new URL('./pics.schema.json', import.meta.url);
export const SUT_SCHEMA = new URL('./sut.schema.json', import.meta.url);

function loadChecked(file: string, schema: URL, what: string): { data: unknown; source: YamlSource } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new SutProfileError({ file }, `${what}: cannot read: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
  const source = readYaml(file, text);
  if ('error' in source) throw new SutProfileError({ file, line: source.line, column: source.column }, `${what}: YAML syntax: ${source.error}`);
  const validate = schemaValidator(schema);
  if (!validate(source.data)) {
    // The first problem is the most specific one (schemaProblems): it is the one a user must fix.
    const [first, ...rest] = schemaProblems(source, validate.errors ?? []);
    throw new SutProfileError({ file, line: first!.line, column: first!.column, field: first!.field }, `${what}: ${first!.message}${rest.length ? ` (and ${rest.length} more)` : ''}`);
  }
  return { data: source.data, source };
}

/** Reads a capability statement (lib/suite/pics.schema.json). */
export function loadCapabilityStatement(file: string): CapabilityStatement {
  return loadChecked(file, PICS_SCHEMA, 'capability statement').data as CapabilityStatement;
}

/** Checks an inline capability statement. */
export function checkCapabilityStatement(value: unknown, where: string): CapabilityStatement {
  const validate = schemaValidator(PICS_SCHEMA);
  if (!validate(value)) {
    const e = validate.errors?.[0];
    throw new SutProfileError({ file: where, field: e?.instancePath || undefined }, `capability statement: ${e?.message ?? 'invalid'}`);
  }
  return value as CapabilityStatement;
}

interface SutProfileFile {
  name: string;
  role: Role;
  capabilities: string | object;
  profile?: { base?: 'default' | 'reference'; file?: string; overrides?: object };
  sut: { nafFqdn: string; http?: { address: string; port: number }; mikey?: { address: string; port: number } };
  tester?: { address?: string; perWorker?: boolean; httpPort?: number; mikeyPort?: number };
  identities: { btid: string; ksNaf: string }[];
  unknownIdentity?: { btid: string; ksNaf: string };
  keys: { subscribed: { keyDomainId: string; mskId: string }[]; unsubscribed: { keyDomainId: string; mskId: string }[] };
  trigger: { kind: 'control-api' | 'shell' | 'prompt' | 'none'; url?: string; provision?: boolean; commands?: Record<string, string>; prompts?: Record<string, string>; timeoutMs?: number };
}

/** The address of worker i: the last IPv4 octet increased by i (127.0.0.10 -> 127.0.0.10+i). */
export function workerAddress(base: string, worker: number, perWorker: boolean): string {
  if (!perWorker) return base;
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(base);
  if (!m) return base;
  const last = Number(m[4]) + worker;
  if (last > 254) throw new SutProfileError({ file: '<tester>' }, `worker ${worker} has no address left after ${base}`);
  return `${m[1]}.${m[2]}.${m[3]}.${last}`;
}

/**
 * The port of worker i. Workers sharing one address get a configured base port plus i, so they do not
 * collide (a SUT set up for N workers is told ports base .. base+N-1); workers with their own address
 * (`perWorker`) all keep the base port. 0 stays ephemeral.
 */
export function workerPort(base: number, worker: number, perWorkerAddress: boolean): number {
  if (base === 0 || perWorkerAddress) return base;
  const port = base + worker;
  if (port > 65535) throw new SutProfileError({ file: '<tester>' }, `worker ${worker} has no port left after ${base}`);
  return port;
}

const entry = (k: { keyDomainId: string; mskId: string }): MskRequestEntry => ({ keyDomainId: Buffer.from(k.keyDomainId, 'hex'), mskId: parseInt(k.mskId, 16) });

/** Reads a SUT profile (lib/suite/sut.schema.json) and returns the provider of an external SUT. */
export function loadSutProfile(file: string): SutProvider {
  const { data: raw, source } = loadChecked(file, SUT_SCHEMA, 'SUT profile');
  const data = raw as SutProfileFile;
  // Every error after the schema check names the profile's own line and field, also when the problem
  // is in a file the profile points to (a missing capability statement names 'capabilities').
  const at = (path: (string | number)[], reason: string): SutProfileError =>
    new SutProfileError({ file, ...locate(source, path), field: fieldName(path) }, reason);
  const dir = dirname(resolve(file));
  const rel = (p: string) => (isAbsolute(p) ? p : resolve(dir, p));
  const referenced = <T>(path: string[], target: string, load: () => T): T => {
    if (!existsSync(target)) throw at(path, `${target}: no such file`);
    return load();
  };
  const capabilities = typeof data.capabilities === 'string'
    ? referenced(['capabilities'], rel(data.capabilities), () => loadCapabilityStatement(rel(data.capabilities as string)))
    : checkCapabilityStatement(data.capabilities, file);
  if (capabilities.role !== data.role) {
    throw at(['capabilities'], `the capability statement is for a ${capabilities.role}, the SUT is a ${data.role}`);
  }
  const base = data.profile?.base === 'reference' ? referenceProfile() : defaultProfile();
  let profile: MbmsProfile = data.profile?.file
    ? referenced(['profile', 'file'], rel(data.profile.file), () => loadProfile(rel(data.profile!.file!), { base })) : base;
  if (data.profile?.overrides) {
    try {
      profile = validateProfile(deepMerge(profile, data.profile.overrides), `${file} (profile.overrides)`);
    } catch (e) {
      if (!(e instanceof ProfileError)) throw e;
      const path = ['profile', 'overrides', ...e.field.split('.').filter(Boolean)];
      throw at(path, `profile value: ${e.reason}`);
    }
  }
  if (data.role === 'bmsc' && !data.sut.http) throw at(['sut'], 'a BM-SC under test needs its MSK request endpoint (sut.http)');
  if (data.role === 'ue' && !data.sut.mikey) throw at(['sut'], "a UE under test needs the UE's MIKEY endpoint (sut.mikey)");
  if (data.role === 'bmsc' && data.tester?.httpPort !== undefined) {
    throw at(['tester', 'httpPort'], 'tester.httpPort is the tester BM-SC\'s port: only for a UE under test');
  }
  const trigger = data.trigger;
  if (trigger.kind === 'control-api' && !trigger.url) throw at(['trigger'], 'control-api needs the base url (trigger.url)');
  if (trigger.kind === 'shell' && !trigger.commands) throw at(['trigger'], 'shell needs commands per action (trigger.commands)');
  const timeoutMs = trigger.timeoutMs ?? 10_000;
  const adapter: SutAdapter = trigger.kind === 'control-api' ? new ControlApiAdapter(trigger.url!, timeoutMs)
    : trigger.kind === 'shell' ? new ShellAdapter(trigger.commands as Partial<Record<TriggerAction, string>>, timeoutMs)
      : trigger.kind === 'prompt' ? new PromptAdapter(timeoutMs, trigger.prompts as Partial<Record<TriggerAction, string>>)
        : new NoAdapter();
  const testerBase = data.tester?.address ?? '127.0.0.1';
  const perWorker = data.tester?.perWorker ?? false;
  return {
    name: data.name, role: data.role, embedded: false, identityCount: data.identities.length, profile, capabilities,
    declared: {
      nafFqdn: data.sut.nafFqdn, ...(data.sut.http ? { http: data.sut.http } : {}),
      keys: { subscribed: data.keys.subscribed.map(entry), unsubscribed: data.keys.unsubscribed.map(entry) },
    },
    ...(trigger.kind === 'shell' ? { triggerActions: Object.keys(trigger.commands ?? {}) as TriggerAction[] } : trigger.kind === 'none' ? { triggerActions: [] } : {}),
    testerAddress: (worker) => workerAddress(testerBase, worker, perWorker),
    testerPorts: (worker): TesterPorts => ({
      // The tester BM-SC's MSK request endpoint (UE under test): known in advance when configured.
      httpPort: data.tester?.httpPort !== undefined ? workerPort(data.tester.httpPort, worker, perWorker) : 0,
      // Default: a BM-SC under test sends to the profile's UE MIKEY port (O1; the same for every worker,
      // so parallel workers need perWorker addresses); the tester BM-SC's MIKEY socket is ephemeral.
      mikeyPort: data.tester?.mikeyPort !== undefined ? workerPort(data.tester.mikeyPort, worker, perWorker)
        : data.role === 'bmsc' ? profile.ports.ueMikey : 0,
    }),
    ...(trigger.kind === 'control-api' && trigger.provision && data.role === 'bmsc' ? {
      provisionUser: async (user) => {
        const answer = await controlCall(trigger.url!, 'POST', '/users', user, timeoutMs).catch((e: Error) => ({ status: 0, body: e.message }));
        if (answer.status < 200 || answer.status >= 300) throw new TriggerError('provision', `control API answered ${answer.status}: ${JSON.stringify(answer.body)}`);
      },
    } : {}),
    async open(req: SessionRequest): Promise<SutSession> {
      const id = data.identities[req.worker % data.identities.length]!;
      const identity = { btid: id.btid, ksNaf: Buffer.from(id.ksNaf, 'hex') };
      const unknown = data.unknownIdentity ?? { btid: `unknown-${randomBytes(6).toString('hex')}@bsf.mbms-conform.invalid`, ksNaf: randomBytes(32).toString('hex') };
      if (trigger.kind === 'control-api' && trigger.provision) {
        const body = data.role === 'bmsc'
          ? { btid: identity.btid, ksNaf: id.ksNaf, ...(req.testerMikey ? { ueAddress: req.testerMikey.address, uePort: req.testerMikey.port } : {}), subscriptions: groupsOf(data.keys.subscribed) }
          : { btid: identity.btid, ksNaf: id.ksNaf };
        const answer = await controlCall(trigger.url!, 'POST', data.role === 'bmsc' ? '/users' : '/bootstrap', body, timeoutMs, req.signal).catch((e: Error) => ({ status: 0, body: e.message }));
        if (answer.status < 200 || answer.status >= 300) {
          throw new TriggerError('provision', `control API answered ${answer.status}: ${JSON.stringify(answer.body)}`);
        }
      }
      return {
        nafFqdn: data.sut.nafFqdn,
        ...(data.sut.http ? { http: data.sut.http } : {}),
        ...(data.sut.mikey ? { mikey: data.sut.mikey } : {}),
        identity,
        unknownIdentity: { btid: unknown.btid, ksNaf: Buffer.from(unknown.ksNaf, 'hex') },
        keys: { subscribed: data.keys.subscribed.map(entry), unsubscribed: data.keys.unsubscribed.map(entry) },
        adapter,
        close: async () => undefined,
      };
    },
  };
}

function groupsOf(keys: { keyDomainId: string; mskId: string }[]): { keyDomainId: string; keyGroups: number[] }[] {
  const byDomain = new Map<string, Set<number>>();
  for (const k of keys) {
    const set = byDomain.get(k.keyDomainId) ?? new Set<number>();
    set.add(Math.floor(parseInt(k.mskId, 16) / 0x10000));
    byDomain.set(k.keyDomainId, set);
  }
  return [...byDomain].map(([keyDomainId, groups]) => ({ keyDomainId, keyGroups: [...groups] }));
}

/** The provider selected by the environment: MBMS_SUT=<profile.yaml>, else undefined (embedded references). */
export function sutFromEnv(env: NodeJS.ProcessEnv = process.env): SutProvider | undefined {
  const file = env.MBMS_SUT;
  return file ? loadSutProfile(file) : undefined;
}

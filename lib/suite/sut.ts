// The system under test as the engine sees it: a provider (embedded reference or external SUT described by a
// SUT profile) that opens one session per case, and adapters that trigger the SUT's procedures (control API,
// shell command, operator prompt). Independent of Playwright; fixtures/ supplies the embedded provider.

import { spawn } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { MbmsProfile, MskRequestEntry } from '../mbms/index.ts';
import type { UeIdentity } from '../peers/index.ts';
import type { Endpoint } from './trace-types.ts';
import { TriggerError } from './errors.ts';
import type { Role } from './verdict.ts';

/** The capability statement (PICS, lib/suite/pics.schema.json). */
export interface CapabilityStatement {
  role: Role;
  name: string;
  description?: string;
  capabilities: Record<string, unknown>;
}

export type TriggerAction = 'msk-push' | 'rotate-msk' | 'solicited-pull' | 'mtk-update' | 'msk-request' | 'delete-msk' | 'bootstrap';

/** Placeholders whose values are secrets: substituted in the command, never shown (protocol §3.4). */
const SECRET_PLACEHOLDERS = new Set(['ksNaf']);

export interface TriggerParams {
  btid?: string;
  v?: boolean;
  keyDomainId?: string;   // hex
  keyGroup?: number;
  mskId?: string;         // hex
  push?: boolean;
  /** rotate-msk: announce the new MSK to every subscribed user by a solicited-pull trigger. */
  solicitedPull?: boolean;
  keys?: { keyDomainId: string; mskId: string }[];
  ksNaf?: string;         // hex, bootstrap
}

export interface TriggerOutcome {
  /** What the adapter did, for the trace note (e.g. 'POST /push -> 200'). */
  summary: string;
  /** The SUT's answer when it has one (control API body). Informational only: never judged. */
  detail?: unknown;
}

/** How the suite asks the SUT to start a procedure. */
export interface SutAdapter {
  readonly kind: 'control-api' | 'shell' | 'prompt' | 'none';
  trigger(action: TriggerAction, params: TriggerParams, signal?: AbortSignal): Promise<TriggerOutcome>;
}

/** What the engine needs of the SUT for one case. */
export interface SutSession {
  /** BM-SC FQDN (NAF): Host header, realm host, IDi. */
  nafFqdn: string;
  /** BM-SC under test: its MSK request endpoint. UE under test: unused. */
  http?: Endpoint;
  /** The SUT's MIKEY socket (BM-SC: source of MSK messages; UE: where MIKEY is sent to). */
  mikey?: Endpoint;
  /** The identity the tester plays (UE role) or serves (BM-SC role), provisioned in the SUT. */
  identity: UeIdentity;
  /** A B-TID the SUT does not know (A-B7), with some Ks_NAF. */
  unknownIdentity: UeIdentity;
  /** MSKs the identity is subscribed to, and MSKs of a service it is not subscribed to (A-B12). */
  keys: { subscribed: MskRequestEntry[]; unsubscribed: MskRequestEntry[] };
  adapter: SutAdapter;
  close(): Promise<void>;
}

export interface SessionRequest {
  /** Local address of the tester's sockets. */
  testerAddress: string;
  /** BM-SC under test: where the tester UE receives MIKEY. */
  testerMikey?: Endpoint;
  /** UE under test: the tester BM-SC's HTTP and MIKEY endpoints. */
  testerHttp?: Endpoint;
  testerBmscMikey?: Endpoint;
  /** Parallel worker index (identities and addresses per worker). */
  worker: number;
  signal?: AbortSignal;
}

/** Local ports of the tester's sockets (0 = ephemeral). */
export interface TesterPorts { httpPort: number; mikeyPort: number }

export interface SutProvider {
  name: string;
  role: Role;
  embedded: boolean;
  /** Injected faults (embedded references in the fault matrix). */
  faults?: string[];
  /** External SUT: how many identities its profile provisions (one per parallel worker). */
  identityCount?: number;
  /**
   * External SUT: what its profile declares of it (NAF FQDN, MSK request endpoint, key groups), read
   * without contacting it (open() may provision).
   */
  declared?: { nafFqdn: string; http?: Endpoint; keys: SutSession['keys'] };
  /**
   * The trigger actions the SUT can be made to perform (its profile's shell commands, or none); absent:
   * every action (control API, operator prompts, the embedded references). A case that needs another is
   * NOT-APPLICABLE: the SUT's make has no such operation, which says nothing about its conformance.
   */
  triggerActions?: readonly TriggerAction[];
  profile: MbmsProfile;
  capabilities: CapabilityStatement;
  /** Bind address of the tester for a worker (loopback, or the worker's own address). */
  testerAddress(worker: number): string;
  /**
   * Ports of the tester's sockets for a worker (0 = ephemeral; absent = both ephemeral). BM-SC under test:
   * `mikeyPort` is where the tester UE receives MIKEY. UE under test: `httpPort` is the tester BM-SC's MSK
   * request endpoint and `mikeyPort` its MIKEY socket, so an external UE can be configured with them.
   */
  testerPorts?(worker: number): TesterPorts;
  open(request: SessionRequest): Promise<SutSession>;
  /**
   * Provisions one more user in a BM-SC under test (a load run's population): present only when the SUT
   * profile lets the tester provision (trigger.kind control-api with provision: true), as POST /users.
   */
  provisionUser?(user: { btid: string; ksNaf: string; ueAddress?: string; uePort?: number; subscriptions: { keyDomainId: string; keyGroups: number[] }[] }): Promise<void>;
}

// ---- adapters --------------------------------------------------------------------------------------------

/** Control API paths per action (docs/control-api.md, lib/reference/common/control-api.schema.json). */
const CONTROL_PATHS: Record<TriggerAction, string> = {
  'msk-push': '/push', 'rotate-msk': '/rotate-msk', 'solicited-pull': '/solicited-pull', 'mtk-update': '/mtk-update',
  'msk-request': '/msk-request', 'delete-msk': '/delete-msk', 'bootstrap': '/bootstrap',
};

function controlBody(action: TriggerAction, p: TriggerParams): Record<string, unknown> {
  switch (action) {
    case 'msk-push': return { btid: p.btid, ...(p.v !== undefined ? { v: p.v } : {}), ...(p.mskId && p.keyDomainId ? { msk: { keyDomainId: p.keyDomainId, mskId: p.mskId } } : {}) };
    case 'solicited-pull': return { btid: p.btid, ...(p.v !== undefined ? { v: p.v } : {}) };
    case 'rotate-msk': return { ...(p.keyDomainId ? { keyDomainId: p.keyDomainId } : {}), ...(p.keyGroup !== undefined ? { keyGroup: p.keyGroup } : {}), ...(p.push !== undefined ? { push: p.push } : {}), ...(p.solicitedPull !== undefined ? { solicitedPull: p.solicitedPull } : {}) };
    case 'mtk-update': return { ...(p.keyDomainId ? { keyDomainId: p.keyDomainId } : {}), ...(p.mskId ? { mskId: p.mskId } : {}) };
    case 'msk-request': return p.keys ? { keys: p.keys } : {};
    case 'delete-msk': return { ...(p.keyDomainId ? { keyDomainId: p.keyDomainId } : {}), ...(p.mskId ? { mskId: p.mskId } : {}) };
    case 'bootstrap': return { btid: p.btid, ksNaf: p.ksNaf };
  }
}

/**
 * A JSON call of the control API, bounded in time. One connection per call (no pooled keep-alive socket): a
 * SUT that restarted between two calls must not make the next call fail on a stale connection.
 */
export function controlCall(base: string, method: string, path: string, body: unknown, timeoutMs: number, signal?: AbortSignal): Promise<{ status: number; body: unknown }> {
  const url = new URL(path, base);
  const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body), 'utf8');
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, {
      method, agent: false, timeout: timeoutMs, ...(signal ? { signal } : {}),
      headers: { connection: 'close', ...(payload ? { 'content-type': 'application/json', 'content-length': String(payload.length) } : {}) },
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let parsed: unknown = text;
        try { parsed = text ? JSON.parse(text) : undefined; } catch { /* keep the text */ }
        resolve({ status: res.statusCode ?? 0, body: parsed });
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(payload);
  });
}

/** Triggers through the mbms-conform control API (HTTP + JSON). */
export class ControlApiAdapter implements SutAdapter {
  readonly kind = 'control-api' as const;
  constructor(readonly baseUrl: string, readonly timeoutMs: number) {}

  async trigger(action: TriggerAction, params: TriggerParams, signal?: AbortSignal): Promise<TriggerOutcome> {
    const path = CONTROL_PATHS[action];
    let answer: { status: number; body: unknown };
    try {
      answer = await controlCall(this.baseUrl, 'POST', path, controlBody(action, params), this.timeoutMs, signal);
    } catch (e) {
      throw new TriggerError(action, `control API ${this.baseUrl} unreachable: ${(e as Error).message}`, { cause: e });
    }
    if (answer.status < 200 || answer.status >= 300) {
      throw new TriggerError(action, `POST ${path} answered ${answer.status}: ${JSON.stringify(answer.body)}`);
    }
    return { summary: `POST ${path} -> ${answer.status}`, detail: answer.body };
  }
}

/** Runs a configured shell command per action; `{name}` placeholders are replaced by parameters (shell-quoted). */
export class ShellAdapter implements SutAdapter {
  readonly kind = 'shell' as const;
  constructor(readonly commands: Partial<Record<TriggerAction, string>>, readonly timeoutMs: number) {}

  async trigger(action: TriggerAction, params: TriggerParams, signal?: AbortSignal): Promise<TriggerOutcome> {
    const template = this.commands[action];
    if (!template) throw new TriggerError(action, 'no command configured for this action in the SUT profile');
    const values: Record<string, string> = Object.fromEntries(Object.entries(params).filter(([, v]) => v !== undefined).map(([k, v]) => [k, typeof v === 'object' ? JSON.stringify(v) : String(v)]));
    const quote = (v: string) => `'${v.replace(/'/g, `'\\''`)}'`;
    const command = template.replace(/\{([A-Za-z]+)\}/g, (_m, name: string) => quote(values[name] ?? ''));
    // What the trace and the report show: the command with its secrets left as placeholders.
    const shown = template.replace(/\{([A-Za-z]+)\}/g, (m, name: string) => (SECRET_PLACEHOLDERS.has(name) ? m : quote(values[name] ?? '')));
    const { code, output } = await new Promise<{ code: number | null; output: string }>((resolve, reject) => {
      const child = spawn('/bin/sh', ['-c', command], { stdio: ['ignore', 'pipe', 'pipe'], signal: signal ?? undefined, timeout: this.timeoutMs });
      let output = '';
      child.stdout.on('data', (d: Buffer) => { output += d.toString(); });
      child.stderr.on('data', (d: Buffer) => { output += d.toString(); });
      child.on('error', reject);
      child.on('close', (c) => resolve({ code: c, output }));
    }).catch((e: Error) => { throw new TriggerError(action, `command failed to run: ${e.message}`, { cause: e }); });
    if (code !== 0) throw new TriggerError(action, `command exited with ${code}: ${output.trim().slice(0, 500)}`);
    return { summary: `$ ${shown} -> exit 0`, detail: output.trim().slice(0, 2000) };
  }
}

/** Asks an operator on the controlling terminal to perform the action; no terminal = cannot trigger. */
export class PromptAdapter implements SutAdapter {
  readonly kind = 'prompt' as const;
  constructor(readonly timeoutMs: number, readonly texts: Partial<Record<TriggerAction, string>> = {}) {}

  async trigger(action: TriggerAction, params: TriggerParams, signal?: AbortSignal): Promise<TriggerOutcome> {
    const text = (this.texts[action] ?? `Please make the SUT perform '${action}' ${JSON.stringify(params)}`);
    let tty: ReturnType<typeof createReadStream>;
    try {
      tty = createReadStream('/dev/tty');
    } catch (e) {
      throw new TriggerError(action, 'no terminal for the operator prompt', { cause: e });
    }
    process.stderr.write(`\n[mbms-conform] OPERATOR: ${text}\n[mbms-conform] press Enter when done (${Math.round(this.timeoutMs / 1000)} s)... `);
    const rl = createInterface({ input: tty });
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new TriggerError(action, `no operator confirmation within ${this.timeoutMs} ms`)), this.timeoutMs);
        tty.once('error', (e) => { clearTimeout(timer); reject(new TriggerError(action, `no terminal for the operator prompt: ${e.message}`)); });
        signal?.addEventListener('abort', () => { clearTimeout(timer); reject(new TriggerError(action, 'aborted')); }, { once: true });
        rl.once('line', () => { clearTimeout(timer); resolve(); });
      });
    } finally {
      rl.close();
      tty.destroy();
    }
    return { summary: `operator confirmed: ${text}` };
  }
}

/** A SUT that cannot be triggered: cases that need a trigger are INCONC. */
export class NoAdapter implements SutAdapter {
  readonly kind = 'none' as const;
  async trigger(action: TriggerAction): Promise<TriggerOutcome> {
    throw new TriggerError(action, 'the SUT profile declares no way to trigger procedures');
  }
}

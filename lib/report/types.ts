// The shared data model as lib/report consumes it (docs/architecture.md, "Shared data model").
// lib/trace and lib/suite own these types; this file restates the fields the report reads so
// that the report layer compiles on its own, and structural typing keeps the two in step:
// a lib/suite CaseResult is assignable to this one as long as the contract holds.

export interface Endpoint { address: string; port: number }

export type Actor = 'tester' | 'sut' | 'ue' | 'bmsc';

export interface TraceEventBase {
  id: number;
  time: number;
  frames: number[];
  src: Endpoint;
  dst: Endpoint;
  actor: Actor;
}
export interface HttpRequestEvent extends TraceEventBase {
  kind: 'http-request'; conn: number; method: string; target: string; headers: [string, string][]; body: Buffer;
}
export interface HttpResponseEvent extends TraceEventBase {
  kind: 'http-response'; conn: number; status: number; reason: string; headers: [string, string][]; body: Buffer; requestId?: number;
}
export interface MikeyEvent extends TraceEventBase {
  kind: 'mikey'; bytes: Buffer; message?: unknown; decodeError?: { offset: number; payload: string; reason: string };
}
export interface NoteEvent extends TraceEventBase { kind: 'note'; text: string }
export type TraceEvent = HttpRequestEvent | HttpResponseEvent | MikeyEvent | NoteEvent;

export type Verdict = 'PASS' | 'FAIL' | 'INCONC' | 'ERROR' | 'NOT-APPLICABLE';
export const VERDICTS: readonly Verdict[] = ['PASS', 'FAIL', 'INCONC', 'ERROR', 'NOT-APPLICABLE'];

export interface Finding {
  verdict: Verdict; check: string; message: string;
  expected?: unknown; actual?: unknown;
  evidence: { events: number[]; frames: number[] };
  step?: number;
}
export interface StepResult {
  index: number; action: string; title: string; verdict: Verdict;
  startedAt: number; durationMs: number; events: number[]; findings: Finding[];
}
export type SutRole = 'bmsc' | 'ue';
export type Severity = 'blocker' | 'critical' | 'normal' | 'minor' | 'trivial';
export interface CaseResult {
  id: string;
  role: SutRole; clause: string; procedure: string; title: string; requirement: string;
  references: string[]; severity: Severity; tags: string[];
  mandatory: boolean;
  verdict: Verdict; findings: Finding[]; steps: StepResult[];
  trace: TraceEvent[]; pcapPath?: string;
  sut: { name: string; role: SutRole; embedded: boolean; faults?: string[] };
  startedAt: number; durationMs: number;
}

/**
 * What a run knows once, beside the cases: who was tested, with which profile (PIXIT) and
 * capability statement (PICS). The SUT fixture writes it with `writeRunInfo`; the
 * certification summary and environment.properties read it.
 */
export interface RunInfo {
  sut: { name: string; role?: SutRole; embedded?: boolean; vendor?: string; model?: string; version?: string; address?: string };
  profileName?: string;
  /** Profile values (reference §9); secrets are redacted when written unless `allowSecrets`. */
  profile?: Record<string, unknown>;
  /** Capability statement: capability name -> supported / value. */
  capabilities?: Record<string, unknown>;
  /** The profile lets secrets (Ks_NAF, MUK, MSK, MTK) into reports. */
  allowSecrets?: boolean;
  suiteVersion?: string;
  startedAt?: number;
}

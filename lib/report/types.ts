// The shared data model as lib/report consumes it (docs/architecture.md, "Shared data model").
// The trace types come from lib/trace. The verdict types (lib/suite) are restated here until
// lib/suite exports them from its index.ts; structural typing keeps the two in step: a lib/suite
// CaseResult is assignable to this one as long as the contract holds.

export type { Endpoint, Actor, TraceEventBase, HttpRequestEvent, HttpResponseEvent, MikeyEvent, NoteEvent, TraceEvent } from '../trace/index.ts';
import type { TraceEvent } from '../trace/index.ts';

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

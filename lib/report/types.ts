// The shared data model as lib/report consumes it (docs/architecture.md, "Shared data model"):
// trace types from lib/trace, verdict types from lib/suite (type-only imports), plus RunInfo, which
// the report layer owns.

export type { Endpoint, Actor, TraceEventBase, HttpRequestEvent, HttpResponseEvent, MikeyEvent, NoteEvent, TraceEvent } from '../trace/index.ts';

export type { Verdict, Finding, StepResult, CaseResult, Severity } from '../suite/index.ts';
import type { Verdict, CaseResult } from '../suite/index.ts';

/** The five verdicts (type-only import above: the report layer does not load the engine at run time). */
export const VERDICTS: readonly Verdict[] = ['PASS', 'FAIL', 'INCONC', 'ERROR', 'NOT-APPLICABLE'];
export type SutRole = CaseResult['role'];

/**
 * What a run knows once, beside the cases: who was tested, with which profile (PIXIT) and
 * capability statement (PICS). The SUT fixture writes it with `writeRunInfo`; the
 * certification summary and environment.properties read it.
 */
export interface RunInfo {
  sut: { name: string; role?: SutRole; embedded?: boolean; vendor?: string; model?: string; version?: string; address?: string };
  profileName?: string;
  /** Profile values (protocol §9); secrets are redacted when written unless `allowSecrets`. */
  profile?: Record<string, unknown>;
  /** Capability statement: capability name -> supported / value. */
  capabilities?: Record<string, unknown>;
  /** The profile lets secrets (Ks_NAF, MUK, MSK, MTK) into reports. */
  allowSecrets?: boolean;
  suiteVersion?: string;
  startedAt?: number;
}

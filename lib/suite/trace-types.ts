// The trace data model of docs/architecture.md ("Shared data model"). lib/trace owns it; this module
// re-exports it so lib/suite names one place (kept as a local copy only until lib/trace/index.ts exports it).

import type { MikeyMessage } from './mikey-types.ts';

export interface Endpoint { address: string; port: number }
export interface TraceEventBase {
  id: number; time: number; frames: number[];
  src: Endpoint; dst: Endpoint;
  actor: 'tester' | 'sut' | 'ue' | 'bmsc';
}
export interface HttpRequestEvent extends TraceEventBase { kind: 'http-request'; conn: number; method: string; target: string; headers: [string, string][]; body: Buffer }
export interface HttpResponseEvent extends TraceEventBase { kind: 'http-response'; conn: number; status: number; reason: string; headers: [string, string][]; body: Buffer; requestId?: number }
export interface MikeyEvent extends TraceEventBase { kind: 'mikey'; bytes: Buffer; message?: MikeyMessage; decodeError?: { offset: number; payload: string; reason: string } }
export interface NoteEvent extends TraceEventBase { kind: 'note'; text: string }
export type TraceEvent = HttpRequestEvent | HttpResponseEvent | MikeyEvent | NoteEvent;

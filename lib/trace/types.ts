// The shared trace data model (docs/architecture.md, "Shared data model"), consumed by lib/suite,
// lib/report and lib/cli. Kept exactly as the contract states.
import type { MikeyMessage } from '../mikey/index.ts';

export interface Endpoint { address: string; port: number }
export interface TraceEventBase {
  id: number;            // unique in the trace, increasing in time order
  time: number;          // ms (float), capture timestamp
  frames: number[];      // pcap frame numbers (1-based) the event was carried in
  src: Endpoint; dst: Endpoint;
  actor: 'tester' | 'sut' | 'ue' | 'bmsc';   // who sent it (live: tester/sut; offline: ue/bmsc)
}
export interface HttpRequestEvent  extends TraceEventBase { kind: 'http-request';  conn: number; method: string; target: string; headers: [string, string][]; body: Buffer }
export interface HttpResponseEvent extends TraceEventBase { kind: 'http-response'; conn: number; status: number; reason: string; headers: [string, string][]; body: Buffer; requestId?: number }
export interface MikeyEvent        extends TraceEventBase { kind: 'mikey'; bytes: Buffer; message?: MikeyMessage; decodeError?: { offset: number; payload: string; reason: string } }
export interface NoteEvent         extends TraceEventBase { kind: 'note'; text: string }   // tester actions (trigger via control API, prompt, ...)
export type TraceEvent = HttpRequestEvent | HttpResponseEvent | MikeyEvent | NoteEvent;

export type Actor = TraceEventBase['actor'];
export type TraceEventKind = TraceEvent['kind'];
/** An event before the trace gives it an id. */
export type TraceEventInput = TraceEvent extends infer E ? (E extends TraceEvent ? Omit<E, 'id'> : never) : never;

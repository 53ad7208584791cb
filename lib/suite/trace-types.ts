// The trace data model lib/suite works on, from lib/trace (docs/architecture.md "Shared data model").
export type {
  Endpoint, TraceEventBase, HttpRequestEvent, HttpResponseEvent, MikeyEvent, NoteEvent, TraceEvent,
} from '../trace/index.ts';

// Public API of lib/trace (docs/architecture.md): the shared event model, the Trace timeline, traces
// from capture files, and LiveTrace for the tester's own sockets.
export type * from './types.ts';
export * from './errors.ts';
export { Trace, type CorrelateOptions, type HttpEvent, type TraceProblem, type UeGroup, type WaitOptions, btidOf, endpointMatches, normalizeAddress, sameAddress } from './trace.ts';
export { traceFromCapture, type TraceFromCaptureOptions } from './from-capture.ts';
export { LiveTrace, LiveTcpConnection, canonicalEndpoint, type LiveDirection, type LiveHttpResult, type LiveTraceOptions } from './live.ts';
export { decodeMikeyFields } from './mikey-event.ts';

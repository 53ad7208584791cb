// Public API of lib/suite/offline: re-judging a recorded capture (pcap or pcapng) of any BM-SC and any UE
// against a profile and a keys file (docs/analyze.md).
export * from './errors.ts';
export { analyzeCapture, type AnalyzeCaptureOptions, type AnalysisResult } from './analyze.ts';
export { OfflineAnalyzer, type AnalyzerOptions, type AnalyzerOutput } from './analyzer.ts';
export { streamCapture, type EventConsumer, type StreamOptions, type StreamSummary, type UdpRecord } from './events.ts';
export { PROCEDURE_INFO, DEFAULT_LIMITS, type ProcedureKind, type ProcedureResult, type CheckCounts, type InstanceLimits } from './instance.ts';
export { loadKeys, parseKeys, emptyKeys, KEYS_SCHEMA_URL, type AnalyzeKeys, type UeKeys, type MskKey } from './keys.ts';
export { formatSummary, analysisJson, procedureJson, procedureLine, summaryLine, exitCodeOf } from './summary.ts';
export { writeAllureResults, type AllureAttachmentSource, type WriteAllureOptions } from './allure.ts';

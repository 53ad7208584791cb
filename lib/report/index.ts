// Public API of lib/report (docs/architecture.md): Allure labels and attachments, ladder SVG,
// CaseResult files, certification summary, report generation, shard merge and quality gates.
export * from './errors.ts';
export * from './types.ts';
export { el, raw, render, escapeText, escapeAttr, type MarkupNode, type Attrs, type Child } from './markup.ts';
export * from './status.ts';
export * from './results.ts';
export { ladderSvg, eventLabel, mikeyKind, formatOffset, type LadderOptions, type LadderRoles } from './ladder.ts';
export { toReportJson, isSecretName, REDACTED } from './redact.ts';
export * from './evidence.ts';
export { reportCase, allureReporterOptions, applyVerdictStatus, environmentInfo, caseLabels, referenceUrl, PCAP_CONTENT_TYPE, SPEC_URL, type ReportCaseOptions, type AllureReporterSetup } from './allure.ts';
export { packageVersion } from './version.ts';
export * from './gate.ts';
export * from './summary.ts';
export * from './certification.ts';
export * from './generate.ts';
export * from './merge.ts';
export * from './pipeline.ts';
export { playwrightReporters, progressReporterPath, planReporterPath } from './config.ts';
export * from './run-plan.ts';
export * from './junit.ts';
export { shownVerdict } from './progress-reporter.ts';

// Public API of lib/suite: suite schema and loader, applicability expressions, the engine (runCase), step
// handlers, verifiers, verdicts and their Playwright/Allure mapping, capability statements and SUT profiles.
export * from './errors.ts';
export * from './verdict.ts';
export * from './status-map.ts';
export { parseExpression, evaluate, isApplicable, namesIn, type Expr } from './expr.ts';
export {
  loadSuiteFile, loadSuites, loadCases, writeCasesFile, CASES_FILE_ENV, capabilityNames, STEP_ACTIONS, SUITES_DIR, SUITE_SCHEMA_URL, PICS_SCHEMA_URL,
  type CaseDef, type StepDef, type StepAction, type SuiteFile,
} from './loader.ts';
export { runCase, runCaseJudged, testerWasStarved, estimateCaseTimeout, describeStep, STEP_HANDLERS, type CaseEnv } from './engine.ts';
export type { CaseRun, Named, ReceivedMessage, StepHandler, StepOutcome } from './context.ts';
export {
  ControlApiAdapter, ShellAdapter, PromptAdapter, NoAdapter, controlCall,
  type CapabilityStatement, type SutAdapter, type SutProvider, type TesterPorts, type SutSession, type SessionRequest,
  type TriggerAction, type TriggerParams, type TriggerOutcome,
} from './sut.ts';
export { loadCapabilityStatement, checkCapabilityStatement, loadSutProfile, sutFromEnv, workerAddress, workerPort } from './sut-profile.ts';
export { verifyKeyMessage, verifyAck, classifyDatagram, keyIdsJson, type CheckOutcome, type KeyMessageVerdict } from './verify/mikey.ts';
export { verifyChallenge, verifyAuthenticationInfo, verifyMskResponseBody } from './verify/http.ts';
export {
  runFaultMatrix, writeFaultMatrix, faultMatrixMarkdown, loadExpectedCatches, observedCatches, shuffled,
  type FaultMatrix, type FaultMatrixInput, type FaultMatrixCell, type FaultInfo, type ExpectedCatches,
} from './fault-matrix.ts';
export { CHECKS, coverage, type Coverage } from './checks.ts';
export {
  captureKindFromEnv, wireFilter, startWireCapture, stopWireCapture, reconcileWithCapture, remapFinding, applyWireCapture,
} from './capture-wire.ts';

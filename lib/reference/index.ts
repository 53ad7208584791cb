// Public API of lib/reference: the reference BM-SC and reference UE on real sockets, their control API and
// fault injection (docs/architecture.md).
export * from './common/index.ts';
export * from './bmsc/index.ts';
export {
  ReferenceUe, UE_FAULTS, UE_FAULT_NAMES, loadUeConfig, checkUeConfig, UeKeyStore, processDatagram, pullKeys,
  MskRequester, UE_PRODUCT,
  type ReferenceUeEvents, type MikeyInEvent, type AckOutEvent, type ErrorOutEvent, type HttpRequestEvent, type HttpResponseEvent,
  type KeyInstalledEvent, type DiscardedEvent, type ProcessedEvent, type UeStateSnapshot, type UeMskState, type UeConfig,
  type UeService, type HeldMsk, type HeldMtk, type UeCounters, type MskInstallOutcome, type MtkInstallOutcome,
  type ProcessContext, type ProcessResult, type ProcessAction, type DiscardReason, type InstalledKey,
  type MskRequestOutcome, type MskRequestReason, type HttpExchangeRecord,
} from './ue/index.ts';

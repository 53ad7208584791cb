// Public API of the reference UE (protocol §1, §6): ReferenceUe, its configuration, fault table and the
// pieces it is built from (key store, MIKEY processing, MSK request client).
export { ReferenceUe } from './ue.ts';
export type {
  ReferenceUeEvents, MikeyInEvent, AckOutEvent, ErrorOutEvent, HttpRequestEvent, HttpResponseEvent, KeyInstalledEvent,
  DiscardedEvent, ProcessedEvent, UeStateSnapshot, UeMskState,
} from './ue.ts';
export { UE_FAULTS, UE_FAULT_NAMES } from './faults.ts';
export {
  loadUeConfig, checkUeConfig, type UeConfig, type UeService,
} from './config.ts';
export { UeKeyStore, type HeldMsk, type HeldMtk, type UeCounters, type MskInstallOutcome, type MtkInstallOutcome } from './key-store.ts';
export {
  processDatagram, pullKeys, type ProcessContext, type ProcessResult, type ProcessAction, type DiscardReason, type InstalledKey,
} from './mikey-processor.ts';
export { MskRequester, UE_PRODUCT, type MskRequestOutcome, type MskRequestReason, type HttpExchangeRecord } from './msk-request.ts';

// Shared parts of the reference BM-SC and reference UE: fault table shape, control API server and schema,
// persistent state, socket and configuration helpers.
export {
  ReferenceConfigError, UnknownFaultError, ReferenceStateError, ControlApiError, ReferenceListenError,
} from './errors.ts';
export {
  type ReferenceRole, type ReferenceProcedure, type FaultDefinition, PROCEDURE_CLAUSES,
  checkFaultTable, resolveFaults, FaultSet,
} from './faults.ts';
export { JsonStateStore } from './state-store.ts';
export { CounterBook, ReservationJournal, MAX_COUNTER, type CounterValues, type CounterBookOptions } from './counter-journal.ts';
export {
  ControlServer, controlApiSchema, controlApiEndpoints, controlApiValidator, describeSchemaErrors, errorAnswer,
  callControlApi, CONTROL_API_SCHEMA_PATH,
  type ControlEndpointSpec, type ControlHandler, type ControlRequestContext, type ControlServerOptions,
} from './control-server.ts';
export { listenHttp, bindUdp, closeHttp, closeUdp, formatEndpoint, readRequestBody, type Endpoint } from './net.ts';
export { nextEvent, now } from './events.ts';
export { readConfigFile, formatFieldPath, type ConfigFile, type FieldPath } from './config-file.ts';
export { parseKeyDomainId, parseMskIdHex, parseKsNaf } from './key-values.ts';

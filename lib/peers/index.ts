// Public API of lib/peers: the tester's UE and BM-SC emulators that drive a SUT, every socket recorded
// through lib/trace's LiveTrace (pcap per case).
export { PeerBindError, PeerClosedError, PeerArgumentError } from './errors.ts';
export { serializeRequest, serializeResponse } from './http-wire.ts';
export { RecordedUdpSocket } from './udp.ts';
export { TesterUe, type TesterUeOptions, type UeIdentity, type HttpExchange } from './tester-ue.ts';
export { TesterBmsc, type TesterBmscOptions, type PendingRequest, type HttpAnswer } from './tester-bmsc.ts';

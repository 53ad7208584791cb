// Public API of lib/capture (docs/architecture.md): pcap/pcapng read and write, link/IP/UDP/TCP
// decoding, IP fragment and TCP reassembly, HTTP/1.1 framing, capture backends.
export * from './errors.ts';
export { type Endpoint, LinkType, addressToBytes, bytesToAddress, formatEndpoint, internetChecksum, normalizeAddress } from './inet.ts';
export { PcapWriter, type PcapWriterOptions, PCAP_MAGIC_MICROSECONDS, PCAP_MAGIC_NANOSECONDS } from './pcap-writer.ts';
export { TcpFlags, type TcpSegmentFields, ethernetFrame, ipPacket, tcpSegment, udpDatagram, syntheticMac } from './build.ts';
export { TapRecorder, type TapRecorderOptions, type TapTcpConnection, DEFAULT_MIKEY_PORT, decodeAsArguments, epochMs } from './tap.ts';
export {
  type CapturedFrame, type CaptureFormat, type CaptureTruncation, type ReadCaptureOptions, detectCaptureFormat, readCapture,
  recordLimit, MAX_RECORD_OCTETS, MAX_RECORD_WITHOUT_SNAPLEN,
} from './read.ts';
export { type DecodedPacket, type IpHeader, type UdpHeader, type TcpHeader, type IpReassemblerOptions, IpReassembler, decodeFrame, tcpFlagNames } from './decode.ts';
export { type Direction, type StreamChunk, type TcpConnectionInfo, type TcpReassemblerOptions, type TcpStreamHandler, TcpReassembler } from './tcp.ts';
export {
  type HttpErrorEvent,
  type HttpHeaders,
  type HttpMessage,
  type HttpRequestMessage,
  type HttpResponseMessage,
  type HttpStreamCallbacks,
  type HttpStreamParserOptions,
  HttpConnectionParser,
  HttpStreamParser,
} from './http.ts';
export { type DissectorHandlers, type DissectorOptions, type UdpDatagram, Dissector, dissectCapture } from './dissect.ts';
export {
  type CaptureBackend,
  type CaptureKind,
  type CreateCaptureOptions,
  type MarkerOptions,
  type RawCaptureOptions,
  type TapCaptureOptions,
  type TcpdumpCaptureOptions,
  RawCapture,
  TapCapture,
  TcpdumpCapture,
  createCapture,
  findExecutable,
  isRoot,
  MARKER_PREFIX,
} from './backends.ts';

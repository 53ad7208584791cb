// HTTP/1.1 messages as octets (RFC 9112): the tester writes its own request and response bytes so the
// pcap and the trace hold exactly what was on the connection, faults included (a body that does not match
// its digest, a wrong Content-Type). Header values are given as data; the start line and fields are joined
// per RFC 9112 §3 and §5, never with user-controlled CR/LF.

import { PeerArgumentError } from './errors.ts';

function checkToken(what: string, value: string): void {
  if (/[\r\n]/.test(value)) throw new PeerArgumentError(`${what} contains CR or LF: ${JSON.stringify(value)}`);
}

export function serializeRequest(method: string, target: string, headers: readonly [string, string][], body: Buffer): Buffer {
  checkToken('method', method);
  checkToken('request-target', target);
  const lines = [`${method} ${target} HTTP/1.1`];
  for (const [name, value] of headers) {
    checkToken('field name', name);
    checkToken('field value', value);
    lines.push(`${name}: ${value}`);
  }
  return Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), body]);
}

export function serializeResponse(status: number, reason: string, headers: readonly [string, string][], body: Buffer): Buffer {
  checkToken('reason', reason);
  const lines = [`HTTP/1.1 ${status} ${reason}`];
  for (const [name, value] of headers) {
    checkToken('field name', name);
    checkToken('field value', value);
    lines.push(`${name}: ${value}`);
  }
  return Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), body]);
}

// The tester UE on real loopback sockets: what it writes is what the trace and the pcap hold, Digest faults
// change only what they name, and MIKEY datagrams in both directions are recorded.
import { test, expect } from '@playwright/test';
import { createSocket } from 'node:dgram';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { parseCredentials, type DigestChallenge } from '../digest/index.ts';
import { defaultProfile } from '../mbms/index.ts';
import { LiveTrace, traceFromCapture } from '../trace/index.ts';
import { TesterUe } from './tester-ue.ts';

const md5 = (s: string | Buffer) => createHash('md5').update(s).digest('hex');
const identity = { btid: 'ue-1@bsf.example', ksNaf: Buffer.alloc(32, 3) };
const challenge: DigestChallenge = { realm: '3GPP-bootstrapping@bmsc.example', nonce: 'abc', qop: ['auth-int'], algorithm: 'MD5', extra: {} };

async function withServer(answer: Buffer) {
  const received: Buffer[] = [];
  const server = createServer((s) => s.on('data', (d) => { received.push(d); if (Buffer.concat(received).includes('\r\n\r\n')) s.end(answer); }));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { server, port: (server.address() as { port: number }).port, received };
}

test('an exchange records exactly the octets sent and received, as HTTP events with frames, in the pcap', async () => {
  const pcapPath = join(mkdtempSync(join(tmpdir(), 'ue-')), 'c.pcap');
  const trace = new LiveTrace({ pcapPath, testerRole: 'ue' });
  const answer = Buffer.from('HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Digest realm="r", nonce="n"\r\nContent-Length: 0\r\n\r\n');
  const { server, port, received } = await withServer(answer);
  const ue = await TesterUe.start({ trace, bindAddress: '127.0.0.1', mikeyPort: 0, identity, profile: defaultProfile(), bmscHttp: { address: '127.0.0.1', port }, host: 'bmsc.example' });
  const raw = ue.buildRequest('/keymanagement?requesttype=msk-request', Buffer.from('<x/>'));
  const ex = await ue.exchange(raw, 2000);
  await ue.close();
  server.close();
  expect(Buffer.concat(received).equals(raw)).toBe(true);
  expect(ex.request?.method).toBe('POST');
  expect(ex.request?.body.toString()).toBe('<x/>');
  expect(ex.response?.status).toBe(401);
  expect(ex.response?.requestId).toBe(ex.request?.id);
  expect(ex.request!.frames.length).toBeGreaterThan(0);
  trace.close();
  // Offline reading of the pcap finds the same exchange.
  const offline = await traceFromCapture(pcapPath, { mikeyPorts: [4359] });
  const requests = offline.byKind('http-request');
  expect(requests).toHaveLength(1);
  expect(requests[0]!.body.toString()).toBe('<x/>');
  expect(offline.byKind('http-response')[0]!.status).toBe(401);
});

test('Digest faults change only what they name; the response is the RFC 2617 auth-int digest otherwise', async () => {
  const trace = new LiveTrace({ pcapPath: join(mkdtempSync(join(tmpdir(), 'ue-')), 'c.pcap'), testerRole: 'ue' });
  const ue = await TesterUe.start({ trace, bindAddress: '127.0.0.1', mikeyPort: 0, identity, profile: defaultProfile() });
  const body = Buffer.from('<mskRequest/>');
  const req = { method: 'POST', uri: '/keymanagement?requesttype=msk-request', body };
  const good = parseCredentials(ue.authorize(challenge, req).header);
  const password = identity.ksNaf.toString('base64');
  // RFC 2617 §3.2.2.1-3: computed here with node:crypto, independently of lib/digest.
  const ha1 = md5(`${identity.btid}:${challenge.realm}:${password}`);
  const ha2 = md5(`POST:${req.uri}:${md5(body)}`);
  expect(good.response).toBe(md5(`${ha1}:abc:${good.nc}:${good.cnonce}:auth-int:${ha2}`));
  expect(good.nc).toBe('00000001');
  const second = parseCredentials(ue.authorize(challenge, req).header);
  expect(second.nc).toBe('00000002');
  const wrongUri = parseCredentials(ue.authorize(challenge, req, { uri: '/other' }).header);
  expect(wrongUri.uri).toBe('/other');
  expect(wrongUri.username).toBe(identity.btid);
  const other = parseCredentials(ue.authorize(challenge, req, {}, { btid: 'x@bsf', ksNaf: Buffer.alloc(32) }).header);
  expect(other.username).toBe('x@bsf');
  await ue.close();
  trace.close();
});

test('MIKEY datagrams from the SUT and to it become events with their source and frames', async () => {
  const trace = new LiveTrace({ pcapPath: join(mkdtempSync(join(tmpdir(), 'ue-')), 'c.pcap'), testerRole: 'ue' });
  const ue = await TesterUe.start({ trace, bindAddress: '127.0.0.1', mikeyPort: 0, identity, profile: defaultProfile() });
  const sut = createSocket('udp4');
  await new Promise<void>((r) => sut.bind(0, '127.0.0.1', () => r()));
  const arrived = trace.waitFor((e) => e.kind === 'mikey' && e.actor === 'sut', 2000);
  sut.send(Buffer.from([1, 0, 0, 0]), ue.mikeyEndpoint.port, '127.0.0.1');
  const inbound = await arrived;
  expect(inbound?.src.port).toBe((sut.address()).port);
  const gotBack = new Promise<Buffer>((r) => sut.once('message', (m) => r(m)));
  const out = await ue.sendMikey(Buffer.from([1, 1, 0, 0]), { address: '127.0.0.1', port: sut.address().port });
  expect((await gotBack).equals(Buffer.from([1, 1, 0, 0]))).toBe(true);
  expect(out.actor).toBe('tester');
  expect(out.frames).toHaveLength(1);
  sut.close();
  await ue.close();
  trace.close();
});

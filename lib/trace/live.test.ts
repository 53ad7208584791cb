// LiveTrace on real loopback sockets: each datagram and byte chunk is reported once, and the pcap it
// writes, read back offline by traceFromCapture, yields the same events with the same frame numbers.
import { test, expect } from '@playwright/test';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { mkdtempSync } from 'node:fs';
import { createServer, connect, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeMikeyLenient } from '../mikey/index.ts';
import { decodeFrame, readCapture } from '../capture/index.ts';
import { LiveTrace, traceFromCapture, TraceClosedError, type TraceEvent, type MikeyEvent } from './index.ts';

const tempPcap = (name: string) => join(mkdtempSync(join(tmpdir(), 'mbms-trace-')), name);
const h = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
// Protocol §8.3 vector V3: a 150-octet MIKEY MSK message (CSB ID 0x11223344)
const V3 = h(`010015801122334400010503000b000300f1100104000100010b02000000010610a0a1a2a3a4a5a6a7a8a9aaabacadaeaf
06010010626d73632e6578616d706c652e636f6d0101002041624364456630313233343536373839406273662e6578616d70
6c652e636f6d0001001459e3637f7e9624d7cf07a448ffbc6f8bcf984c9701eceace3d2ee6095d7a76b164f279ef6bfefadcbd`);

/** Fields both a live and an offline trace must agree on (actor is compared through the role map). */
function comparable(e: TraceEvent) {
  const { id: _id, actor: _actor, ...rest } = e as TraceEvent & { message?: unknown };
  const out: Record<string, unknown> = { ...rest };
  delete out.message;
  if (e.kind === 'mikey') out.bytes = e.bytes.toString('hex');
  if (e.kind === 'http-request' || e.kind === 'http-response') out.body = e.body.toString('latin1');
  out.time = Math.round(e.time * 1000); // the pcap keeps microseconds
  return out;
}

test('MIKEY over real UDP sockets: decoded event, decode error with offset, frames numbered', async () => {
  const pcap = tempPcap('mikey.pcap');
  const trace = new LiveTrace({ pcapPath: pcap, testerRole: 'bmsc', mikeyPorts: [4359] });
  const tester = createSocket('udp4');
  const ue = createSocket('udp4');
  tester.bind(0, '127.0.0.1');
  ue.bind(0, '127.0.0.1');
  await Promise.all([once(tester, 'listening'), once(ue, 'listening')]);
  const local = { address: '127.0.0.1', port: tester.address().port };
  const remote = { address: '127.0.0.1', port: ue.address().port };
  // the SUT side answers with a truncated copy, so its event carries a decode error
  ue.on('message', (msg, rinfo) => ue.send(msg.subarray(0, 40), rinfo.port, rinfo.address));
  const answered = trace.waitFor((e): e is MikeyEvent => e.kind === 'mikey' && e.actor === 'sut', 5_000);
  tester.on('message', (msg, rinfo) => trace.recordMikey('received', local, { address: rinfo.address, port: rinfo.port }, msg));
  tester.send(V3, remote.port, remote.address);
  const sent = trace.recordMikey('sent', local, remote, V3);
  const answer = await answered;
  tester.close();
  ue.close();
  expect(sent).toMatchObject({ id: 1, kind: 'mikey', frames: [1], src: local, dst: remote, actor: 'tester' });
  expect(sent.message?.hdr).toMatchObject({ version: 1, dataType: 0, csbId: 0x11223344 });
  expect(sent.message?.payloads.map((p) => p.type)).toEqual(['EXT', 'T', 'RAND', 'ID', 'ID', 'KEMAC']);
  expect(sent.decodeError).toBeUndefined();
  expect(answer).toMatchObject({ id: 2, frames: [2], src: remote, dst: local, actor: 'sut' });
  // RAND starts at 31 and is cut at byte 40: the error lies inside it and keeps lib/mikey's offset and reason
  const expected = decodeMikeyLenient(V3.subarray(0, 40)).error!;
  expect(answer!.decodeError).toEqual({ offset: expected.offset, payload: 'RAND', reason: expected.reason });
  expect(answer!.decodeError!.offset).toBeGreaterThanOrEqual(31);
  expect(answer!.message?.payloads.map((p) => p.type)).toEqual(['EXT', 'T']);
  expect(trace.recordUdp('sent', local, remote, Buffer.from('not mikey'))).toEqual([3]);
  expect(trace.close()).toEqual({ path: pcap, frames: 3 });

  const offline = await traceFromCapture(pcap, { mikeyPorts: [remote.port] });
  expect(offline.events.map((e) => e.actor)).toEqual(['bmsc', 'ue', 'bmsc']); // to the MIKEY port: from the BM-SC
  expect(offline.byKind('mikey').slice(0, 2).map(comparable)).toEqual(trace.byKind('mikey').map(comparable));
  expect(offline.byKind('mikey')[1].decodeError).toEqual(answer!.decodeError);
});

async function httpServer(handler: (socket: Socket) => void) {
  const server = createServer(handler);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, endpoint: { address: '127.0.0.1', port: (server.address() as AddressInfo).port } };
}

test('HTTP over a real TCP connection: keep-alive requests, chunked response, 401 then 200, same events offline', async () => {
  const pcap = tempPcap('http.pcap');
  const trace = new LiveTrace({ pcapPath: pcap, testerRole: 'ue', mss: 64 });
  let n = 0;
  const { server, endpoint } = await httpServer((s) => {
    let buffered = '';
    s.on('data', (d) => {
      buffered += d.toString('latin1');
      while (buffered.includes('\r\n\r\n')) {
        const end = buffered.indexOf('\r\n\r\n') + 4;
        const length = Number(/content-length: (\d+)/i.exec(buffered.slice(0, end))?.[1] ?? 0);
        if (buffered.length < end + length) return;
        buffered = buffered.slice(end + length);
        n++;
        if (n === 1) s.write('HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Digest realm="r", nonce="n", qop="auth"\r\nContent-Length: 0\r\n\r\n');
        else s.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n' + '5\r\nhello\r\n' + '40\r\n' + 'k'.repeat(64) + '\r\n0\r\nX-Check: 1\r\n\r\n');
      }
    });
  });
  const socket = connect(endpoint.port, endpoint.address);
  await once(socket, 'connect');
  const local = { address: socket.localAddress!, port: socket.localPort! };
  const conn = trace.openTcp(true, local, endpoint);
  expect(conn.openFrames).toEqual([1, 2, 3]);
  socket.on('data', (d) => conn.received(d));
  const send = (text: string) => {
    socket.write(text);
    return conn.sent(Buffer.from(text, 'latin1'));
  };
  const first = send('POST /keys HTTP/1.1\r\nHost: bmsc\r\nContent-Length: 5\r\n\r\nabcde');
  expect(first.events.map((e) => e.kind)).toEqual(['http-request']);
  const challenge = await trace.waitFor((e) => e.kind === 'http-response', 5_000, { after: 0 });
  expect(challenge).toMatchObject({ kind: 'http-response', status: 401, requestId: first.events[0].id, actor: 'sut', conn: conn.id });
  const auth = 'Digest username="ue-btid@bsf.example.com", realm="r", nonce="n", uri="/keys", response="0123456789abcdef0123456789abcdef", qop=auth, nc=00000001, cnonce="c"';
  const second = send(`POST /keys HTTP/1.1\r\nHost: bmsc\r\nAuthorization: ${auth}\r\nContent-Length: 5\r\n\r\nabcde`);
  expect(second.frames.length).toBeGreaterThan(1); // MSS 64 splits it
  const ok = await trace.waitFor((e) => e.kind === 'http-response' && e.status === 200, 5_000, { after: second.events[0].id });
  expect(ok).toMatchObject({ kind: 'http-response', status: 200, reason: 'OK', requestId: second.events[0].id });
  if (ok?.kind !== 'http-response') throw new Error('no response');
  expect(ok.body.toString()).toBe('hello' + 'k'.repeat(64));
  expect(ok.headers).toEqual([['Transfer-Encoding', 'chunked']]);
  socket.end();
  await once(socket, 'close');
  server.close();
  const closeFrames = conn.close('tester');
  expect(closeFrames).toHaveLength(3);
  expect(() => conn.sent(Buffer.from('late'))).toThrow(TraceClosedError);
  const { frames } = trace.close();
  expect(frames).toBe(closeFrames[2]);
  expect(trace.problems).toEqual([]);
  expect(trace.correlate().map((g) => g.btids)).toEqual([['ue-btid@bsf.example.com']]);

  const offline = await traceFromCapture(pcap, { mikeyPorts: [4359], httpPorts: [endpoint.port] });
  expect(offline.events.map(comparable)).toEqual(trace.events.map(comparable));
  expect(offline.events.map((e) => e.actor)).toEqual(['ue', 'bmsc', 'ue', 'bmsc']);
  expect(offline.exchanges().map((x) => [x.request.id, x.response?.status])).toEqual([[1, 401], [3, 200]]);
});

test('a connection opened by the SUT to the tester (tester is the HTTP server)', async () => {
  const pcap = tempPcap('server.pcap');
  const trace = new LiveTrace({ pcapPath: pcap, testerRole: 'bmsc' });
  const sut = { address: '127.0.0.1', port: 50123 };
  const tester = { address: '127.0.0.1', port: 8080 };
  const conn = trace.openTcp(false, tester, sut, 1000);
  const r1 = conn.received(Buffer.from('GET /x HTTP/1.1\r\n\r\n'), 1001);
  const r2 = conn.sent(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi'), 1002);
  conn.close('sut', 1003);
  trace.close();
  expect(r1.events[0]).toMatchObject({ kind: 'http-request', actor: 'sut', src: sut, dst: tester, frames: [4], time: 1001 });
  expect(r2.events[0]).toMatchObject({ kind: 'http-response', actor: 'tester', src: tester, dst: sut, frames: [5], requestId: r1.events[0].id });
  const offline = await traceFromCapture(pcap, { mikeyPorts: [4359] });
  expect(offline.events.map(comparable)).toEqual(trace.events.map(comparable));
});

test('malformed HTTP from the SUT is a problem on the trace, not an exception', async () => {
  const trace = new LiveTrace({ pcapPath: tempPcap('bad.pcap'), testerRole: 'ue' });
  const conn = trace.openTcp(true, { address: '::1', port: 40000 }, { address: '::1', port: 80 });
  conn.sent(Buffer.from('GET / HTTP/1.1\r\n\r\n'));
  const r = conn.received(Buffer.from('HTTP/1.1 abc\r\n\r\n'));
  expect(r.events).toEqual([]);
  expect(trace.problems).toMatchObject([{ kind: 'http-error', code: 'ERR_HTTP_PARSE', conn: conn.id, frames: [r.frames[0]] }]);
  trace.close();
  const offline = await traceFromCapture(trace.pcapPath, { mikeyPorts: [] });
  expect(offline.problems).toMatchObject([{ kind: 'http-error', code: 'ERR_HTTP_PARSE', conn: 1, frames: r.frames }]);
});

test('notes are on the timeline without frames', () => {
  const trace = new LiveTrace({ pcapPath: tempPcap('note.pcap'), testerRole: 'ue' });
  const n = trace.note('trigger push via control API', {}, 5);
  expect(n).toMatchObject({ id: 1, kind: 'note', frames: [], actor: 'tester', time: 5, text: 'trigger push via control API' });
  expect(trace.close().frames).toBe(0);
});

test('attachSocket records an http.request client socket by itself: handshake, request, response, FIN', async () => {
  const { request, createServer: createHttpServer } = await import('node:http');
  const server = createHttpServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => res.end(`got ${body}`));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  const pcap = tempPcap('attach.pcap');
  const trace = new LiveTrace({ pcapPath: pcap, testerRole: 'ue' });
  let attached: Promise<import('./index.ts').LiveTcpConnection> | undefined;
  let socket: Socket | undefined;
  const responseEvent = trace.waitFor((e) => e.kind === 'http-response', 5_000);
  const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/keys', agent: false, headers: { 'Content-Type': 'application/xml' } });
  req.on('socket', (s) => {
    socket = s;
    attached = trace.attachSocket(s, true);
  });
  req.end('<keys/>');
  const [res] = (await once(req, 'response')) as [import('node:http').IncomingMessage];
  let text = '';
  for await (const chunk of res) text += chunk;
  expect(text).toBe('got <keys/>');
  const conn = await attached!;
  const response = await responseEvent;
  if (!socket!.destroyed) await once(socket!, 'close'); // agent: false closes after the response
  expect(conn.closed).toBe(true);
  server.close();
  expect(trace.byKind('http-request')).toMatchObject([{ method: 'POST', target: '/keys', actor: 'tester', conn: conn.id }]);
  expect(trace.byKind('http-request')[0].body.toString()).toBe('<keys/>');
  expect(response).toMatchObject({ kind: 'http-response', status: 200, requestId: 1, actor: 'sut' });
  trace.close();
  const offline = await traceFromCapture(pcap, { mikeyPorts: [], httpPorts: [port] });
  expect(offline.events.map(comparable)).toEqual(trace.events.map(comparable));
});

test('attachSocket on a raw net socket: the SUT closes first', async () => {
  const { server, endpoint } = await httpServer((s) => s.end('HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n'));
  const pcap = tempPcap('attach2.pcap');
  const trace = new LiveTrace({ pcapPath: pcap, testerRole: 'ue' });
  const socket = connect(endpoint.port, endpoint.address);
  const attached = trace.attachSocket(socket, true);
  socket.write('GET /x HTTP/1.1\r\nHost: b\r\n\r\n'); // written before the connection is up: recorded after the handshake
  socket.resume();
  const conn = await attached;
  await once(socket, 'close');
  server.close();
  expect(conn.closed).toBe(true);
  expect(trace.events.map((e) => (e.kind === 'http-request' ? e.target : e.kind === 'http-response' ? e.status : e.kind))).toEqual(['/x', 503]);
  const { frames } = trace.close();
  expect(frames).toBe(3 + 1 + 1 + 3); // handshake, request, response, FIN exchange
  const fins: string[] = [];
  for await (const f of readCapture(pcap)) {
    const p = decodeFrame(f);
    if (p.tcp && p.tcp.flags & 1) fins.push(`${p.tcp.srcPort}`);
  }
  expect(fins).toEqual([`${endpoint.port}`, `${conn.tester.port}`]); // the SUT's FIN first
  const offline = await traceFromCapture(pcap, { mikeyPorts: [] });
  expect(offline.events.map(comparable)).toEqual(trace.events.map(comparable));
});

test('endpoints are named as the pcap shows them: IPv4-mapped IPv6 as IPv4, canonical IPv6 text', async () => {
  const pcap = tempPcap('canon.pcap');
  const trace = new LiveTrace({ pcapPath: pcap, testerRole: 'bmsc' });
  const e1 = trace.recordMikey('sent', { address: '::ffff:127.0.0.1', port: 1 }, { address: '127.0.0.1', port: 4359 }, V3);
  const e2 = trace.recordMikey('received', { address: '0:0:0:0:0:0:0:1', port: 2 }, { address: 'FE80:0:0:0:0:0:0:0001', port: 4359 }, V3);
  expect([e1.src, e1.dst]).toEqual([{ address: '127.0.0.1', port: 1 }, { address: '127.0.0.1', port: 4359 }]);
  expect([e2.src, e2.dst]).toEqual([{ address: 'fe80::1', port: 4359 }, { address: '::1', port: 2 }]);
  trace.close();
  const offline = await traceFromCapture(pcap, { mikeyPorts: [4359] });
  expect(offline.events.map(comparable)).toEqual(trace.events.map(comparable));
});

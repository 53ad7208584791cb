// Capture backends on loopback: tap always; tcpdump and raw when running as root with the tools present
// (CI installs tcpdump and runs as root). Real sockets, ephemeral ports.
import { test, expect } from '@playwright/test';
import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { createServer, connect, type AddressInfo } from 'node:net';
import { CaptureUnavailableError, Dissector, TapCapture, createCapture, findExecutable, isRoot, readCapture, type HttpMessage, type UdpDatagram } from './index.ts';
import { tempPath } from './test-helpers.ts';

async function udpPair(): Promise<{ a: Socket; b: Socket; aPort: number; bPort: number }> {
  const a = createSocket('udp4');
  const b = createSocket('udp4');
  a.bind(0, '127.0.0.1');
  b.bind(0, '127.0.0.1');
  await Promise.all([once(a, 'listening'), once(b, 'listening')]);
  return { a, b, aPort: a.address().port, bPort: b.address().port };
}

async function dissect(path: string) {
  const udp: UdpDatagram[] = [];
  const http: HttpMessage[] = [];
  const d = new Dissector({ onUdp: (x) => udp.push(x), onHttpMessage: (_c, m) => http.push(m) });
  for await (const f of readCapture(path)) d.push(f);
  d.end();
  return { udp, http };
}

test('createCapture("tap") starts at once and stops with the frame count', async () => {
  const cap = createCapture('tap', { path: tempPath('tap.pcap') });
  expect(cap).toBeInstanceOf(TapCapture);
  await cap.start();
  cap.recorder.udp({ address: '127.0.0.1', port: 1 }, { address: '127.0.0.1', port: 4359 }, Buffer.from('x'));
  expect(await cap.stop()).toEqual({ path: cap.path, frames: 1 });
});

test('unknown backend and missing tcpdump are clear errors', async () => {
  expect(() => createCapture('wireshark' as never, { path: tempPath('x') })).toThrow(/unknown capture backend/);
  const cap = createCapture('tcpdump', { path: tempPath('t.pcap'), tcpdump: '/nonexistent/tcpdump' });
  const err = await cap.start().catch((e) => e);
  expect(err).toBeInstanceOf(CaptureUnavailableError);
  expect(err.code).toBe('ERR_CAPTURE_UNAVAILABLE');
  expect(err.message).toMatch(/tcpdump not found/);
});

test('tcpdump backend records loopback UDP and TCP, proven recording before the first stimulus', async () => {
  test.skip(!isRoot(), 'needs root to capture (CI runs as root)');
  test.skip(!findExecutable('tcpdump'), 'tcpdump is not installed (CI installs it)');
  const { a, b, aPort, bPort } = await udpPair();
  const server = createServer((s) => s.on('data', () => s.end('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok')));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const httpPort = (server.address() as AddressInfo).port;
  const path = tempPath('td.pcap');
  const cap = createCapture('tcpdump', { path, iface: 'lo', filter: `udp port ${bPort} or tcp port ${httpPort}` });
  try {
    await cap.start();
    // the first stimulus right after start() must be in the file
    a.send(Buffer.from('first datagram'), bPort, '127.0.0.1');
    await once(b, 'message');
    const client = connect(httpPort, '127.0.0.1');
    await once(client, 'connect');
    client.write('GET /x HTTP/1.1\r\nHost: a\r\n\r\n');
    client.resume(); // consume the response so 'end' is emitted
    await once(client, 'end');
    client.end();
    await once(client, 'close');
  } finally {
    const { frames } = await cap.stop();
    a.close();
    b.close();
    server.close();
    expect(frames).toBeGreaterThan(6);
  }
  const { udp, http } = await dissect(path);
  const first = udp.find((d) => d.dst.port === bPort)!;
  expect(first).toBeDefined();
  expect(first).toMatchObject({ src: { address: '127.0.0.1', port: aPort }, dst: { address: '127.0.0.1', port: bPort } });
  expect(first.payload.toString()).toBe('first datagram');
  expect(udp.some((d) => d.dst.port === 9 && d.payload.toString().startsWith('mbms-conform capture marker'))).toBe(true);
  expect(http.map((m) => (m.kind === 'request' ? `${m.method} ${m.target}` : `${m.status} ${m.body}`))).toEqual(['GET /x', '200 ok']);
});

test('raw backend records loopback UDP and TCP as raw IP', async () => {
  test.skip(!isRoot(), 'raw sockets need root (CI runs as root)');
  const { a, b, aPort, bPort } = await udpPair();
  const server = createServer((s) => s.on('data', () => s.end('HTTP/1.1 204 No Content\r\n\r\n')));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const httpPort = (server.address() as AddressInfo).port;
  const path = tempPath('raw.pcap');
  const cap = createCapture('raw', { path, ports: [bPort, httpPort] });
  try {
    await cap.start();
  } catch (e) {
    a.close();
    b.close();
    server.close();
    test.skip(e instanceof CaptureUnavailableError, `raw-socket unavailable: ${(e as Error).message}`);
    throw e;
  }
  a.send(Buffer.from('raw one'), bPort, '127.0.0.1');
  await once(b, 'message');
  b.send(Buffer.from('raw two'), aPort, '127.0.0.1'); // from the filtered port
  await once(a, 'message');
  a.send(Buffer.from('ignored'), aPort, '127.0.0.1'); // neither port is filtered in
  await once(a, 'message');
  const client = connect(httpPort, '127.0.0.1');
  await once(client, 'connect');
  client.end('GET /raw HTTP/1.1\r\n\r\n');
  client.resume();
  await once(client, 'close');
  const { frames } = await cap.stop(); // waits for a closing marker, so everything above is in
  a.close();
  b.close();
  server.close();
  const { udp, http } = await dissect(path);
  let n = 0;
  for await (const f of readCapture(path)) {
    n++;
    expect(f.linkType).toBe(101);
  }
  expect(frames).toBe(n);
  expect(udp.map((d) => `${d.src.port}>${d.dst.port} ${d.payload}`)).toEqual([`${aPort}>${bPort} raw one`, `${bPort}>${aPort} raw two`]);
  expect(http.map((m) => (m.kind === 'request' ? `${m.method} ${m.target}` : `${m.status}`))).toEqual(['GET /raw', '204']);
});

// TCP reassembly and HTTP/1.1 framing: segments in any order, duplicated and overlapping, several
// connections, keep-alive, chunked bodies with trailers, 100-continue, HEAD, malformed input.
import { test, expect } from '@playwright/test';
import fc from 'fast-check';
import {
  type DecodedPacket, type HttpErrorEvent, type HttpMessage, type HttpRequestMessage, type HttpResponseMessage,
  HttpConnectionParser, HttpStreamParser, TcpReassembler, type TcpConnectionInfo,
} from './index.ts';

const SYN = 2, ACK = 0x10, FIN = 1, RST = 4, PSH = 8;
const C = { address: '10.0.0.1', port: 40000 };
const S = { address: '10.0.0.2', port: 80 };

function seg(from: { address: string; port: number }, to: { address: string; port: number }, seq: number, flags: number, data = '', frame = 0, time = frame): DecodedPacket {
  return {
    frames: [frame], time, linkType: 101,
    ip: { version: 4, src: from.address, dst: to.address, protocol: 6, ttl: 64 },
    tcp: { srcPort: from.port, dstPort: to.port, seq: seq >>> 0, ack: 0, flags, window: 65535, checksum: 0 },
    payload: Buffer.from(data, 'latin1'),
  };
}

/** Splits a byte string into segments at the given cut points, with client-side sequence numbers from isn+1. */
function segments(from: typeof C, to: typeof S, isn: number, text: string, cuts: number[]): { seq: number; data: string }[] {
  const points = [...new Set([0, ...cuts.map((c) => c % (text.length + 1)), text.length])].sort((a, b) => a - b);
  const out: { seq: number; data: string }[] = [];
  for (let i = 0; i + 1 < points.length; i++) out.push({ seq: isn + 1 + points[i], data: text.slice(points[i], points[i + 1]) });
  return out;
}

interface Collected { messages: (HttpMessage & { conn: number })[]; errors: (HttpErrorEvent & { conn: number })[]; streams: Map<string, string>; conns: TcpConnectionInfo[] }

function collector(): { reassembler: TcpReassembler; got: Collected } {
  const got: Collected = { messages: [], errors: [], streams: new Map(), conns: [] };
  const parsers = new Map<number, HttpConnectionParser>();
  const reassembler = new TcpReassembler({
    onOpen: (conn) => {
      got.conns.push(conn);
      parsers.set(conn.id, new HttpConnectionParser({ onMessage: (m) => got.messages.push({ ...m, conn: conn.id }), onError: (e) => got.errors.push({ ...e, conn: conn.id }) }));
    },
    onData: (conn, from, chunk) => {
      const k = `${conn.id}/${from}`;
      got.streams.set(k, (got.streams.get(k) ?? '') + chunk.data.toString('latin1'));
      const p = parsers.get(conn.id)!;
      (from === 'client' ? p.requests : p.responses).push(chunk);
    },
    onGap: (conn, from, offset, length) => {
      const p = parsers.get(conn.id)!;
      (from === 'client' ? p.requests : p.responses).gap(offset, length);
    },
    onEnd: (conn, from) => {
      const p = parsers.get(conn.id)!;
      (from === 'client' ? p.requests : p.responses).end();
    },
  });
  return { reassembler, got };
}

function shuffle<T>(items: T[], seed: number): T[] {
  const a = [...items];
  let s = seed + 7;
  for (let i = a.length - 1; i > 0; i--) {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    const j = s % (i + 1);
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

const REQUESTS = [
  'POST /keys HTTP/1.1\r\nHost: bmsc\r\nContent-Length: 11\r\n\r\nhello world',
  'GET /a HTTP/1.1\r\nHost: bmsc\r\n\r\n',
  'PUT /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nWiki\r\n5;ext=1\r\npedia\r\n0\r\nX-Trailer: yes\r\n\r\n',
].join('');

test('segments shuffled, duplicated and overlapping reassemble to the exact byte stream and messages (property)', () => {
  fc.assert(
    fc.property(
      fc.array(fc.nat(), { maxLength: 30 }),
      fc.array(fc.record({ start: fc.nat(), length: fc.integer({ min: 1, max: 40 }) }), { maxLength: 6 }),
      fc.nat(),
      fc.integer({ min: 0, max: 2 ** 32 - 1 }),
      (cuts, overlaps, seed, isn) => {
        const parts = segments(C, S, isn, REQUESTS, cuts);
        // overlapping retransmissions: arbitrary slices of the same stream with the right sequence numbers
        for (const o of overlaps) {
          const start = o.start % REQUESTS.length;
          parts.push({ seq: isn + 1 + start, data: REQUESTS.slice(start, start + o.length) });
        }
        parts.push(parts[seed % parts.length]); // an exact duplicate
        const { reassembler, got } = collector();
        let frame = 1;
        reassembler.push(seg(C, S, isn, SYN, '', frame++));
        reassembler.push(seg(S, C, 9, SYN | ACK, '', frame++));
        for (const p of shuffle(parts, seed)) reassembler.push(seg(C, S, p.seq, ACK, p.data, frame++));
        reassembler.push(seg(C, S, isn + 1 + REQUESTS.length, FIN | ACK, '', frame++));
        reassembler.end();
        expect(got.streams.get('1/client')).toBe(REQUESTS);
        expect(got.errors).toEqual([]);
        const reqs = got.messages as HttpRequestMessage[];
        expect(reqs.map((m) => [m.method, m.target, m.body.toString()])).toEqual([
          ['POST', '/keys', 'hello world'],
          ['GET', '/a', ''],
          ['PUT', '/c', 'Wikipedia'],
        ]);
        expect(reqs[2].trailers).toEqual([['X-Trailer', 'yes']]);
        expect(reqs[2].chunked).toBe(true);
      },
    ),
    { numRuns: 300 },
  );
});

test('frame numbers and first/last byte times of each message', () => {
  const { reassembler, got } = collector();
  const text = 'GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\nContent-Length: 4\r\n\r\nbody';
  reassembler.push(seg(C, S, 99, SYN, '', 1));
  reassembler.push(seg(C, S, 100, ACK, text.slice(0, 10), 2, 20));
  reassembler.push(seg(C, S, 100 + 30, ACK, text.slice(30, 50), 4, 40)); // out of order
  reassembler.push(seg(C, S, 100 + 10, ACK, text.slice(10, 30), 3, 30));
  reassembler.push(seg(C, S, 100 + 50, ACK | PSH, text.slice(50), 5, 50));
  const [m1, m2] = got.messages;
  expect(m1).toMatchObject({ target: '/1', frames: [2, 3], firstTime: 20, lastTime: 30, streamStart: 0, streamEnd: 19, index: 0 });
  expect(m2).toMatchObject({ target: '/2', frames: [3, 4, 5], firstTime: 30, lastTime: 50, streamStart: 19, streamEnd: text.length, index: 1 });
});

test('several connections interleaved, keep-alive with many requests, responses paired by index', () => {
  const { reassembler, got } = collector();
  const clients = [1, 2, 3].map((i) => ({ address: '10.0.0.1', port: 40000 + i }));
  const n = 25;
  let frame = 1;
  const state = clients.map(() => ({ c: 1000, s: 5000 }));
  clients.forEach((c, i) => {
    reassembler.push(seg(c, S, 999, SYN, '', frame++));
    reassembler.push(seg(S, c, 4999, SYN | ACK, '', frame++));
  });
  for (let k = 0; k < n; k++) {
    clients.forEach((c, i) => {
      const req = `GET /c${i}/r${k} HTTP/1.1\r\nHost: x\r\n\r\n`;
      reassembler.push(seg(c, S, state[i].c, ACK | PSH, req, frame++));
      state[i].c += req.length;
    });
    clients.forEach((c, i) => {
      const body = `resp ${i}/${k}`;
      const res = `HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
      reassembler.push(seg(S, c, state[i].s, ACK | PSH, res, frame++));
      state[i].s += res.length;
    });
  }
  reassembler.end();
  expect(got.conns.map((c) => [c.id, c.client.port, c.server.port])).toEqual([[1, 40001, 80], [2, 40002, 80], [3, 40003, 80]]);
  for (const [i] of clients.entries()) {
    const mine = got.messages.filter((m) => m.conn === i + 1);
    const reqs = mine.filter((m): m is HttpRequestMessage & { conn: number } => m.kind === 'request');
    const resps = mine.filter((m): m is HttpResponseMessage & { conn: number } => m.kind === 'response');
    expect(reqs).toHaveLength(n);
    expect(resps).toHaveLength(n);
    resps.forEach((r, k) => {
      expect(r.requestIndex).toBe(k);
      expect(r.body.toString()).toBe(`resp ${i}/${k}`);
      expect(reqs[k].target).toBe(`/c${i}/r${k}`);
    });
  }
  expect(got.errors).toEqual([]);
});

function runConnection(requests: string, responses: string): { messages: HttpMessage[]; errors: HttpErrorEvent[] } {
  const messages: HttpMessage[] = [];
  const errors: HttpErrorEvent[] = [];
  const p = new HttpConnectionParser({ onMessage: (m) => messages.push(m), onError: (e) => errors.push(e) });
  p.requests.push({ data: Buffer.from(requests, 'latin1'), frame: 1, time: 1, offset: 0 });
  p.responses.push({ data: Buffer.from(responses, 'latin1'), frame: 2, time: 2, offset: 0 });
  p.requests.end();
  p.responses.end();
  return { messages, errors };
}

test('HEAD, 204 and 304 responses have no body even with Content-Length; read-until-close body', () => {
  const { messages, errors } = runConnection(
    'HEAD /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\nGET /c HTTP/1.1\r\n\r\nGET /d HTTP/1.1\r\n\r\n',
    'HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\nHTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\nHTTP/1.0 200 OK\r\n\r\nuntil the end',
  );
  expect(errors).toEqual([]);
  const res = messages.filter((m): m is HttpResponseMessage => m.kind === 'response');
  expect(res.map((r) => [r.status, r.requestIndex, r.body.toString()])).toEqual([
    [200, 0, ''], [204, 1, ''], [304, 2, ''], [200, 3, 'until the end'],
  ]);
});

test('Expect: 100-continue: the interim response points at the request, the final one too', () => {
  const messages: HttpMessage[] = [];
  const p = new HttpConnectionParser({ onMessage: (m) => messages.push(m), onError: (e) => { throw e.error; } });
  p.requests.push({ data: Buffer.from('POST /k HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n'), frame: 1, time: 1, offset: 0 });
  p.responses.push({ data: Buffer.from('HTTP/1.1 100 Continue\r\n\r\n'), frame: 2, time: 2, offset: 0 });
  p.requests.push({ data: Buffer.from('abc'), frame: 3, time: 3, offset: 62 });
  p.responses.push({ data: Buffer.from('HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n'), frame: 4, time: 4, offset: 25 });
  expect(messages.map((m) => (m.kind === 'request' ? `req ${m.body}` : `res ${m.status} -> ${m.requestIndex}`))).toEqual(['res 100 -> 0', 'req abc', 'res 401 -> 0']);
  const req = messages[1] as HttpRequestMessage;
  expect(req.frames).toEqual([1, 3]);
});

test('header details: obs-fold, bare LF line ends, leading empty lines, repeated equal Content-Length', () => {
  const { messages, errors } = runConnection('\r\nGET /x HTTP/1.1\nA: 1\n  continued\nContent-Length: 2, 2\n\nok', 'HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n');
  expect(errors).toEqual([]);
  expect(messages[0]).toMatchObject({ kind: 'request', target: '/x', headers: [['A', '1 continued'], ['Content-Length', '2, 2']] });
  expect(messages[0].body.toString()).toBe('ok');
  expect(messages[1]).toMatchObject({ kind: 'response', status: 200, reason: '' });
});

for (const [title, requests, pattern] of [
  ['bad request line', 'GARBAGE\r\n\r\n', /bad request line/],
  ['binary junk', '\x16\x03\x01\x02\x00\x01\x00\x01', /not an HTTP request/],
  ['header without colon', 'GET / HTTP/1.1\r\nNoColon\r\n\r\n', /bad header field/],
  ['space before colon', 'GET / HTTP/1.1\r\nHost : x\r\n\r\n', /bad header field/],
  ['conflicting Content-Length', 'POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab', /bad Content-Length/],
  ['non-numeric Content-Length', 'POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n', /bad Content-Length/],
  ['bad chunk size', 'POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n', /bad chunk size/],
  ['chunk without CRLF', 'POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabX\r\n0\r\n\r\n', /not followed by CRLF/],
  ['request TE not chunked', 'POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n', /Transfer-Encoding/],
  ['truncated body', 'POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc', /truncated/],
] as const) {
  test(`malformed HTTP becomes an error event: ${title}`, () => {
    const { errors, messages } = runConnection(requests, '');
    expect(messages.filter((m) => m.kind === 'request')).toEqual([]);
    expect(errors).toHaveLength(1);
    expect(errors[0].error.code).toBe('ERR_HTTP_PARSE');
    expect(errors[0].stream).toBe('request');
    expect(errors[0].error.message).toMatch(pattern);
    expect(errors[0].frames).toEqual([1]);
  });
}

test('a hole never filled: the bytes after it are delivered at the end and the parser reports the gap', () => {
  const { reassembler, got } = collector();
  reassembler.push(seg(C, S, 0, SYN, '', 1));
  reassembler.push(seg(C, S, 1, ACK, 'GET /1 HTTP/1.1\r\n\r\n', 2));
  reassembler.push(seg(C, S, 1 + 19 + 5, ACK, 'after the hole', 3));
  reassembler.end();
  expect(got.messages).toHaveLength(1);
  expect(got.errors).toHaveLength(1);
  expect(got.errors[0].error.message).toMatch(/5 bytes missing/);
});

test('capture started mid-connection: no SYN, the server is the lower port, the stream starts at the first data seen', () => {
  const { reassembler, got } = collector();
  reassembler.push(seg(S, C, 7000, ACK, '', 1)); // bare ACK of an unknown connection opens nothing
  expect(got.conns).toEqual([]);
  reassembler.push(seg(C, S, 5000, ACK, 'GET /x HTTP/1.1\r\n', 2));
  reassembler.push(seg(C, S, 4990, ACK, 'older byteGET /x HTTP/1.1\r\n', 3)); // bytes before the start: only its new part counts
  reassembler.push(seg(C, S, 5017, ACK, '\r\nGET /y', 4));
  reassembler.push(seg(S, C, 7000, ACK, 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n', 5));
  reassembler.end();
  expect(got.conns[0].client).toEqual(C);
  expect(got.streams.get('1/client')).toBe('GET /x HTTP/1.1\r\n\r\nGET /y');
  expect(got.messages.map((m) => (m.kind === 'request' ? m.target : m.status))).toEqual(['/x', 200]);
  expect(got.errors.map((e) => e.error.message)).toEqual([expect.stringMatching(/truncated/)]); // GET /y never finished
});

test('FIN ends a direction in sequence order; RST ends the connection; a new SYN on the 4-tuple is a new connection', () => {
  const ends: string[] = [];
  const r = new TcpReassembler({
    onData: () => {},
    onEnd: (c, from, reason) => ends.push(`${c.id}:${from}:${reason}`),
    onClose: (c) => ends.push(`${c.id}:closed`),
  });
  r.push(seg(C, S, 0, SYN, '', 1));
  r.push(seg(S, C, 100, SYN | ACK, '', 2));
  r.push(seg(C, S, 4, FIN | ACK, '', 3)); // FIN before the data it follows
  expect(ends).toEqual([]);
  r.push(seg(C, S, 1, ACK, 'abc', 4));
  expect(ends).toEqual(['1:client:fin']);
  r.push(seg(S, C, 101, RST, '', 5));
  expect(ends).toEqual(['1:client:fin', '1:server:rst', '1:closed']);
  r.push(seg(C, S, 5000, SYN, '', 6));
  r.end();
  expect(ends.slice(3)).toEqual(['2:client:eof', '2:server:eof', '2:closed']);
});

test('HttpStreamParser alone: a response parser without a request queue assumes GET', () => {
  const out: HttpMessage[] = [];
  const p = new HttpStreamParser('response', { onMessage: (m) => out.push(m), onError: (e) => { throw e.error; } });
  p.push({ data: Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi'), frame: 9, time: 1, offset: 0 });
  expect(out[0]).toMatchObject({ kind: 'response', status: 200, reason: 'OK', frames: [9] });
  expect((out[0] as HttpResponseMessage).requestIndex).toBeUndefined();
  expect(p.messages).toBe(1);
});

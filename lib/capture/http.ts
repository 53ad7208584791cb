// HTTP/1.1 message framing over reassembled TCP streams (RFC 9112): start line, header fields, and the
// message body length rules of RFC 9112 6.3 (Content-Length, chunked with trailers, read-until-close,
// no body for HEAD/1xx/204/304). Malformed input becomes an error event; the parser never throws.
import { HttpParseError } from './errors.ts';
import type { StreamChunk } from './tcp.ts';

export type HttpHeaders = [string, string][];

interface HttpMessageCommon {
  /** 'HTTP/1.1' or 'HTTP/1.0'. */
  version: string;
  headers: HttpHeaders;
  /** The body with any chunked transfer coding removed. */
  body: Buffer;
  /** Trailer fields of a chunked body (RFC 9112 7.1.2). */
  trailers: HttpHeaders;
  chunked: boolean;
  /** Frames that carried at least one byte of the message, ascending. */
  frames: number[];
  /** Capture times of the frames carrying the first and last byte. */
  firstTime: number;
  lastTime: number;
  /** [streamStart, streamEnd) in the sender's byte stream. */
  streamStart: number;
  streamEnd: number;
  /** 0-based position among the messages of this kind on the connection. */
  index: number;
}

export interface HttpRequestMessage extends HttpMessageCommon {
  kind: 'request';
  method: string;
  target: string;
}

export interface HttpResponseMessage extends HttpMessageCommon {
  kind: 'response';
  status: number;
  reason: string;
  /** index of the request it answers (informational 1xx responses point at the pending request too). */
  requestIndex?: number;
}

export type HttpMessage = HttpRequestMessage | HttpResponseMessage;

export interface HttpErrorEvent {
  kind: 'error';
  /** Which stream failed: requests (client to server) or responses. */
  stream: 'request' | 'response';
  error: HttpParseError;
  /** Frames of the bytes of the message that failed to parse. */
  frames: number[];
  time: number;
}

export interface HttpStreamCallbacks {
  onMessage(message: HttpMessage): void;
  onError(event: HttpErrorEvent): void;
}

export interface HttpStreamParserOptions {
  /** For a response parser: method of the request the next final response answers, and its index. */
  nextRequest?: (informational: boolean) => { method: string; index: number } | undefined;
  /** For a request parser: called when a request head is parsed, before its body arrives. */
  onRequestHead?: (method: string, index: number) => void;
  /** Largest start line plus header section accepted (default 64 KiB). */
  maxHeaderBytes?: number;
}

type State = 'head' | 'fixed' | 'chunk-size' | 'chunk-data' | 'chunk-end' | 'trailers' | 'until-close' | 'tunnel' | 'dead';

interface Span {
  start: number;
  end: number;
  frame: number;
  time: number;
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const HTTP_VERSION = /^HTTP\/\d\.\d$/;

/** Parses one direction of an HTTP/1.1 connection into messages. */
export class HttpStreamParser {
  readonly kind: 'request' | 'response';
  private readonly callbacks: HttpStreamCallbacks;
  private readonly options: HttpStreamParserOptions;
  private state: State = 'head';
  /** Unconsumed bytes and the stream offset of their first byte. */
  private carry: Buffer = Buffer.alloc(0);
  private carryOffset = 0;
  private spans: Span[] = [];
  private count = 0;
  // message under construction
  private head: Omit<HttpRequestMessage, 'frames' | 'firstTime' | 'lastTime' | 'streamEnd' | 'body' | 'trailers' | 'index'> | Omit<HttpResponseMessage, 'frames' | 'firstTime' | 'lastTime' | 'streamEnd' | 'body' | 'trailers' | 'index'> | undefined;
  private bodyParts: Buffer[] = [];
  private remaining = 0;
  private trailers: HttpHeaders = [];
  private messageStart = 0;

  constructor(kind: 'request' | 'response', callbacks: HttpStreamCallbacks, options: HttpStreamParserOptions = {}) {
    this.kind = kind;
    this.callbacks = callbacks;
    this.options = options;
  }

  /** Messages completed so far. */
  get messages(): number {
    return this.count;
  }

  push(chunk: StreamChunk): void {
    if (this.state === 'dead' || this.state === 'tunnel' || chunk.data.length === 0) return;
    this.spans.push({ start: chunk.offset, end: chunk.offset + chunk.data.length, frame: chunk.frame, time: chunk.time });
    if (this.carry.length === 0) {
      this.carry = chunk.data;
      this.carryOffset = chunk.offset;
    } else {
      this.carry = Buffer.concat([this.carry, chunk.data]);
    }
    this.run();
  }

  /** Bytes missing from the capture: the stream cannot be framed any further. */
  gap(offset: number, length: number): void {
    if (this.state === 'dead' || this.state === 'tunnel') return;
    this.fail(`${length} bytes missing from the capture`, offset);
  }

  /** The sender closed its side: completes a read-until-close body or reports a truncated message. */
  end(): void {
    if (this.state === 'until-close') {
      this.bodyParts.push(this.take(this.carry.length));
      this.complete();
      return;
    }
    if (this.state === 'head' && this.carry.every((b) => b === 0x0d || b === 0x0a)) return;
    if (this.state !== 'dead' && this.state !== 'tunnel') this.fail('message truncated by the end of the stream', this.carryOffset);
  }

  private run(): void {
    for (;;) {
      switch (this.state) {
        case 'head':
          if (!this.parseHead()) return;
          break;
        case 'fixed':
        case 'chunk-data': {
          const n = Math.min(this.remaining, this.carry.length);
          if (n > 0) this.bodyParts.push(this.take(n));
          this.remaining -= n;
          if (this.remaining > 0) return;
          if (this.state === 'fixed') this.complete();
          else this.state = 'chunk-end';
          break;
        }
        case 'chunk-size': {
          const line = this.line();
          if (line === undefined) return;
          // RFC 9112 7.1: chunk-size [ chunk-ext ] CRLF, chunk-size = 1*HEXDIG
          const m = /^([0-9A-Fa-f]+)[ \t]*(;.*)?$/.exec(line);
          if (!m || m[1].length > 12) return this.fail(`bad chunk size line ${JSON.stringify(line.slice(0, 40))}`, this.carryOffset);
          this.remaining = parseInt(m[1], 16);
          this.state = this.remaining === 0 ? 'trailers' : 'chunk-data';
          break;
        }
        case 'chunk-end': {
          const line = this.line();
          if (line === undefined) return;
          if (line !== '') return this.fail('chunk data not followed by CRLF', this.carryOffset);
          this.state = 'chunk-size';
          break;
        }
        case 'trailers': {
          const line = this.line();
          if (line === undefined) return;
          if (line === '') {
            this.complete();
            break;
          }
          const field = parseField(line);
          if (!field) return this.fail(`bad trailer field ${JSON.stringify(line.slice(0, 40))}`, this.carryOffset);
          this.trailers.push(field);
          break;
        }
        case 'until-close':
          if (this.carry.length > 0) this.bodyParts.push(this.take(this.carry.length));
          return;
        case 'tunnel':
        case 'dead':
          this.carry = Buffer.alloc(0);
          this.spans = [];
          return;
      }
    }
  }

  /** Consumes the next CRLF- (or LF-) terminated line, or returns undefined when it is incomplete. */
  private line(): string | undefined {
    const lf = this.carry.indexOf(0x0a);
    if (lf < 0) {
      if (this.carry.length > (this.options.maxHeaderBytes ?? 65536)) this.fail('line too long', this.carryOffset);
      return undefined;
    }
    const end = lf > 0 && this.carry[lf - 1] === 0x0d ? lf - 1 : lf;
    const text = this.carry.toString('latin1', 0, end);
    this.take(lf + 1);
    return text;
  }

  private take(n: number): Buffer {
    const out = this.carry.subarray(0, n);
    this.carry = this.carry.subarray(n);
    this.carryOffset += n;
    return out;
  }

  private parseHead(): boolean {
    // RFC 9112 2.2: empty lines before a request line are ignored for robustness
    let skip = 0;
    while (skip < this.carry.length && (this.carry[skip] === 0x0d || this.carry[skip] === 0x0a)) skip++;
    if (skip > 0) this.take(skip);
    if (this.carry.length === 0) return false;
    let end = this.carry.indexOf('\r\n\r\n');
    let terminator = 4;
    const lfOnly = this.carry.indexOf('\n\n');
    if (lfOnly >= 0 && (end < 0 || lfOnly < end)) {
      end = lfOnly;
      terminator = 2;
    }
    const limit = this.options.maxHeaderBytes ?? 65536;
    if (end < 0) {
      if (this.carry.length > limit) this.fail(`header section exceeds ${limit} bytes`, this.carryOffset);
      else if (!this.plausibleStart()) this.fail(`not an HTTP ${this.kind}: ${JSON.stringify(this.carry.toString('latin1', 0, 24))}`, this.carryOffset);
      return false;
    }
    this.messageStart = this.carryOffset;
    const text = this.carry.toString('latin1', 0, end);
    this.take(end + terminator);
    const lines = text.split(/\r?\n/);
    const startLine = lines.shift()!;
    const headers: HttpHeaders = [];
    for (const line of lines) {
      if ((line.startsWith(' ') || line.startsWith('\t')) && headers.length > 0) {
        // obs-fold (RFC 9112 5.2): replaced by a space, as a recipient may do
        headers[headers.length - 1][1] = `${headers[headers.length - 1][1]} ${line.trim()}`.trim();
        continue;
      }
      const field = parseField(line);
      if (!field) {
        this.fail(`bad header field ${JSON.stringify(line.slice(0, 60))}`, this.messageStart);
        return false;
      }
      headers.push(field);
    }
    return this.kind === 'request' ? this.startRequest(startLine, headers) : this.startResponse(startLine, headers);
  }

  /** Quick check that buffered bytes could start a message, so garbage fails fast instead of waiting for 64 KiB. */
  private plausibleStart(): boolean {
    const n = Math.min(this.carry.length, 16);
    const prefix = this.carry.toString('latin1', 0, n);
    if (this.kind === 'response') return 'HTTP/'.startsWith(prefix.slice(0, 5)) || prefix.startsWith('HTTP/');
    const sp = prefix.indexOf(' ');
    const method = sp < 0 ? prefix : prefix.slice(0, sp);
    return TOKEN.test(method) || method === '';
  }

  private startRequest(startLine: string, headers: HttpHeaders): boolean {
    // RFC 9112 3: method SP request-target SP HTTP-version
    const parts = startLine.split(' ');
    if (parts.length !== 3 || !TOKEN.test(parts[0]) || parts[1] === '' || !HTTP_VERSION.test(parts[2])) {
      this.fail(`bad request line ${JSON.stringify(startLine.slice(0, 80))}`, this.messageStart);
      return false;
    }
    this.head = { kind: 'request', method: parts[0], target: parts[1], version: parts[2], headers, chunked: false, streamStart: this.messageStart };
    // A server may answer before the body is in (100-continue, early 401/413), so the method is queued now
    this.options.onRequestHead?.(parts[0], this.count);
    const te = headerValues(headers, 'transfer-encoding');
    if (te.length > 0) {
      // RFC 9112 6.3 item 4: in a request, a transfer coding other than final chunked cannot be framed
      if (!finalChunked(te)) return this.failHead('request Transfer-Encoding without final chunked');
      return this.beginChunked();
    }
    const length = this.contentLength(headers);
    if (length === null) return false;
    return this.beginFixed(length ?? 0);
  }

  private startResponse(startLine: string, headers: HttpHeaders): boolean {
    // RFC 9112 4: HTTP-version SP status-code SP [ reason-phrase ]
    const m = /^(HTTP\/\d\.\d) (\d{3})(?: (.*))?$/.exec(startLine);
    if (!m) {
      this.fail(`bad status line ${JSON.stringify(startLine.slice(0, 80))}`, this.messageStart);
      return false;
    }
    const status = Number(m[2]);
    const informational = status >= 100 && status < 200;
    const request = this.options.nextRequest?.(informational);
    this.head = { kind: 'response', version: m[1], status, reason: m[3] ?? '', headers, chunked: false, streamStart: this.messageStart, requestIndex: request?.index };
    const method = request?.method ?? 'GET';
    if (status === 101 || (method === 'CONNECT' && status >= 200 && status < 300)) {
      // the connection stops being HTTP/1.1 after this message (RFC 9110 15.2.2, 9.3.6)
      this.complete();
      this.state = 'tunnel';
      return true;
    }
    if (informational || status === 204 || status === 304 || method === 'HEAD') return this.beginFixed(0);
    const te = headerValues(headers, 'transfer-encoding');
    if (te.length > 0) {
      if (finalChunked(te)) return this.beginChunked();
      this.state = 'until-close';
      return true;
    }
    const length = this.contentLength(headers);
    if (length === null) return false;
    if (length === undefined) {
      this.state = 'until-close';
      return true;
    }
    return this.beginFixed(length);
  }

  /** Content-Length (RFC 9110 8.6): undefined when absent, null after reporting an invalid value. */
  private contentLength(headers: HttpHeaders): number | undefined | null {
    const values = headerValues(headers, 'content-length').flatMap((v) => v.split(',').map((s) => s.trim()));
    if (values.length === 0) return undefined;
    if (!values.every((v) => /^\d{1,15}$/.test(v)) || new Set(values.map(Number)).size !== 1) {
      this.failHead(`bad Content-Length ${JSON.stringify(values.join(', '))}`);
      return null;
    }
    return Number(values[0]);
  }

  private beginFixed(length: number): boolean {
    this.bodyParts = [];
    this.trailers = [];
    this.remaining = length;
    if (length === 0) this.complete();
    else this.state = 'fixed';
    return true;
  }

  private beginChunked(): boolean {
    this.head!.chunked = true;
    this.bodyParts = [];
    this.trailers = [];
    this.state = 'chunk-size';
    return true;
  }

  private complete(): void {
    const head = this.head!;
    const end = this.carryOffset;
    const spans = this.spans.filter((s) => s.end > head.streamStart && s.start < end);
    const frames = [...new Set(spans.map((s) => s.frame))].sort((a, b) => a - b);
    const message = {
      ...head,
      body: this.bodyParts.length === 1 ? Buffer.from(this.bodyParts[0]) : Buffer.concat(this.bodyParts),
      trailers: this.trailers,
      frames,
      firstTime: spans.length ? spans[0].time : Number.NaN,
      lastTime: spans.length ? spans[spans.length - 1].time : Number.NaN,
      streamEnd: end,
      index: this.count++,
    } as HttpMessage;
    // keep only spans that still hold unconsumed bytes
    this.spans = this.spans.filter((s) => s.end > end);
    this.head = undefined;
    this.bodyParts = [];
    this.trailers = [];
    if (this.state !== 'tunnel') this.state = 'head';
    this.callbacks.onMessage(message);
  }

  private failHead(reason: string): boolean {
    this.fail(reason, this.messageStart);
    return false;
  }

  private fail(reason: string, offset: number): void {
    if (this.state === 'dead') return;
    const spans = this.spans.filter((s) => s.end > Math.min(offset, this.messageStart));
    this.state = 'dead';
    this.carry = Buffer.alloc(0);
    this.spans = [];
    this.callbacks.onError({
      kind: 'error',
      stream: this.kind,
      error: new HttpParseError(`HTTP ${this.kind}: ${reason}`, offset),
      frames: [...new Set(spans.map((s) => s.frame))].sort((a, b) => a - b),
      time: spans.length ? spans[spans.length - 1].time : Number.NaN,
    });
  }
}

function parseField(line: string): [string, string] | undefined {
  // RFC 9112 5.1: field-name ":" OWS field-value OWS; no whitespace before the colon
  const colon = line.indexOf(':');
  if (colon <= 0) return undefined;
  const name = line.slice(0, colon);
  if (!TOKEN.test(name)) return undefined;
  return [name, line.slice(colon + 1).trim()];
}

function headerValues(headers: HttpHeaders, lowerName: string): string[] {
  return headers.filter(([n]) => n.toLowerCase() === lowerName).map(([, v]) => v);
}

function finalChunked(values: string[]): boolean {
  const codings = values.flatMap((v) => v.split(',')).map((c) => c.trim().toLowerCase()).filter(Boolean);
  return codings[codings.length - 1] === 'chunked';
}

/**
 * Both directions of one connection: requests from the client, responses from the server, with the
 * request methods queued so HEAD and CONNECT responses are framed right (RFC 9112 6.3 items 1-2).
 */
export class HttpConnectionParser {
  readonly requests: HttpStreamParser;
  readonly responses: HttpStreamParser;
  private readonly awaiting: { method: string; index: number }[] = [];

  constructor(callbacks: HttpStreamCallbacks, options: Omit<HttpStreamParserOptions, 'nextRequest' | 'onRequestHead'> = {}) {
    this.requests = new HttpStreamParser('request', callbacks, {
      ...options,
      onRequestHead: (method, index) => this.awaiting.push({ method, index }),
    });
    this.responses = new HttpStreamParser('response', callbacks, {
      ...options,
      nextRequest: (informational) => (informational ? this.awaiting[0] : this.awaiting.shift()),
    });
  }
}

// Control API server: the small HTTP/1.1 + JSON adapter through which the suite provisions and triggers a
// reference (or, built the same way by a vendor, its own product). Conventions (docs/control-api.md):
//   - every body is JSON (Content-Type application/json); every answer is a JSON object;
//   - requests are validated against control-api.schema.json before the handler runs;
//   - failures answer 4xx/5xx with { "error": { "code", "message", "details"? } };
//   - only endpoints listed in the schema's x-endpoints for the role can be served.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { readFileSync } from 'node:fs';
import { Ajv, type ValidateFunction, type ErrorObject } from 'ajv';
import { ControlApiError, ReferenceConfigError, ReferenceStateError, UnknownFaultError } from './errors.ts';
import { closeHttp, listenHttp, readRequestBody, type Endpoint } from './net.ts';
import type { ReferenceRole } from './faults.ts';

export interface ControlEndpointSpec {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  path: string;
  summary: string;
  procedure?: string;
  /** `$defs` name of the request body schema. */
  request?: string;
  /** `$defs` name of the response body schema. */
  response?: string;
}

interface ControlApiSchema {
  $id: string;
  'x-endpoints': Record<ReferenceRole, ControlEndpointSpec[]>;
  $defs: Record<string, object>;
}

/** Location of the schema file (shipped with the sources; vendors read it too). */
export const CONTROL_API_SCHEMA_PATH = new URL('./control-api.schema.json', import.meta.url);

let schemaCache: { schema: ControlApiSchema; ajv: Ajv } | undefined;

function loadSchema(): { schema: ControlApiSchema; ajv: Ajv } {
  if (!schemaCache) {
    const schema = JSON.parse(readFileSync(CONTROL_API_SCHEMA_PATH, 'utf8')) as ControlApiSchema;
    const ajv = new Ajv({ allErrors: true, strict: true });
    ajv.addVocabulary(['x-endpoints']);
    ajv.addSchema(schema);
    schemaCache = { schema, ajv };
  }
  return schemaCache;
}

/** The parsed control API schema (x-endpoints and $defs). */
export function controlApiSchema(): ControlApiSchema {
  return loadSchema().schema;
}

/** The endpoints a role must serve. */
export function controlApiEndpoints(role: ReferenceRole): ControlEndpointSpec[] {
  return loadSchema().schema['x-endpoints'][role];
}

/** A validator for one `$defs` entry of the schema (used by the server and by clients and tests). */
export function controlApiValidator(defName: string): ValidateFunction {
  const { schema, ajv } = loadSchema();
  if (!(defName in schema.$defs)) throw new Error(`control API schema has no $defs/${defName}`);
  const validate = ajv.getSchema(`${schema.$id}#/$defs/${defName}`);
  if (!validate) throw new Error(`control API schema: cannot compile $defs/${defName}`);
  return validate;
}

/** Ajv errors as short `path: message` lines. */
export function describeSchemaErrors(errors: ErrorObject[] | null | undefined): string[] {
  return (errors ?? []).map((e) => `${e.instancePath || '/'}: ${e.message ?? 'invalid'}${
    e.keyword === 'additionalProperties' ? ` (${(e.params as { additionalProperty: string }).additionalProperty})` : ''}`);
}

export interface ControlRequestContext<B = any> {
  /** The validated JSON body (an empty object when the request had none). */
  body: B;
  query: URLSearchParams;
  remote: Endpoint;
}

export type ControlHandler = (context: ControlRequestContext) => unknown | Promise<unknown>;

export interface ControlServerOptions {
  role: ReferenceRole;
  /** Handlers keyed by `METHOD /path` (e.g. `POST /push`); each must be an endpoint of the role's schema. */
  handlers: Record<string, ControlHandler>;
  /** Body of `GET /info` (role and apiVersion are filled in). */
  info: { product: string; version?: string; endpoints?: () => Record<string, Endpoint> };
  /** Check every answer against the schema too (default true): drift between code and schema is a 500. */
  validateResponses?: boolean;
  /** Called once per answered request (for logs). */
  onExchange?: (exchange: { method: string; path: string; status: number; remote: Endpoint; error?: string }) => void;
  /** Largest accepted request body (default 1 MiB). */
  maxBodyBytes?: number;
}

/** Control API server for one reference. */
export class ControlServer {
  readonly role: ReferenceRole;
  readonly #options: ControlServerOptions;
  readonly #routes = new Map<string, { spec: ControlEndpointSpec; handler?: ControlHandler }>();
  #server?: Server;

  constructor(options: ControlServerOptions) {
    this.role = options.role;
    this.#options = options;
    const handlers: Record<string, ControlHandler> = {
      'GET /info': () => ({
        role: options.role, apiVersion: 1, product: options.info.product,
        ...(options.info.version ? { version: options.info.version } : {}),
        ...(options.info.endpoints ? { endpoints: options.info.endpoints() } : {}),
      }),
      ...options.handlers,
    };
    for (const spec of controlApiEndpoints(options.role)) {
      this.#routes.set(`${spec.method} ${spec.path}`, { spec, handler: handlers[`${spec.method} ${spec.path}`] });
    }
    for (const key of Object.keys(handlers)) {
      // A handler the schema does not list would be an undocumented endpoint: refuse it.
      if (!this.#routes.has(key)) throw new Error(`control API (${options.role}): '${key}' is not in control-api.schema.json`);
    }
  }

  /** Starts listening; rejects with ReferenceListenError when the port is taken. */
  async listen(at: Endpoint): Promise<Endpoint> {
    const server = createServer((req, res) => { void this.#serve(req, res); });
    this.#server = server;
    return listenHttp(server, 'control API', at);
  }

  async close(): Promise<void> {
    if (this.#server) await closeHttp(this.#server);
  }

  async #serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const remote = { address: req.socket.remoteAddress ?? '', port: req.socket.remotePort ?? 0 };
    const url = new URL(req.url ?? '/', 'http://control.invalid');
    const method = req.method ?? 'GET';
    let status = 200;
    let payload: unknown;
    try {
      const route = this.#routes.get(`${method} ${url.pathname}`);
      if (!route) {
        const allowed = [...this.#routes.values()].filter((r) => r.spec.path === url.pathname).map((r) => r.spec.method);
        if (allowed.length > 0) {
          res.setHeader('Allow', allowed.join(', '));
          throw new ControlApiError(405, 'ERR_CONTROL_METHOD', `${method} not allowed on ${url.pathname} (allowed: ${allowed.join(', ')})`);
        }
        throw new ControlApiError(404, 'ERR_CONTROL_NOT_FOUND', `no control endpoint ${url.pathname}`);
      }
      const raw = await readRequestBody(req, this.#options.maxBodyBytes ?? 1 << 20,
        (limit) => new ControlApiError(413, 'ERR_CONTROL_TOO_LARGE', `request body larger than ${limit} octets`));
      let body: unknown = {};
      if (raw.length > 0) {
        const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
        if (type !== 'application/json') {
          throw new ControlApiError(415, 'ERR_CONTROL_MEDIA_TYPE', `request body must be application/json, got '${type || 'none'}'`);
        }
        try {
          body = JSON.parse(raw.toString('utf8'));
        } catch (error) {
          throw new ControlApiError(400, 'ERR_CONTROL_JSON', `request body is not JSON: ${(error as Error).message}`);
        }
      }
      if (route.spec.request) {
        const validate = controlApiValidator(route.spec.request);
        if (!validate(body)) {
          const problems = describeSchemaErrors(validate.errors);
          throw new ControlApiError(400, 'ERR_CONTROL_SCHEMA', `request body does not match ${route.spec.request}: ${problems.join('; ')}`, problems);
        }
      } else if (raw.length > 0) {
        throw new ControlApiError(400, 'ERR_CONTROL_SCHEMA', `${method} ${url.pathname} takes no body`);
      }
      if (!route.handler) {
        throw new ControlApiError(501, 'ERR_CONTROL_NOT_IMPLEMENTED', `${method} ${url.pathname} is not implemented by this ${this.role}`);
      }
      payload = await route.handler({ body, query: url.searchParams, remote });
      if (payload === undefined) payload = {};
      if (route.spec.response && this.#options.validateResponses !== false) {
        const validate = controlApiValidator(route.spec.response);
        if (!validate(payload)) {
          throw new ControlApiError(500, 'ERR_CONTROL_RESPONSE_SCHEMA',
            `answer does not match ${route.spec.response}: ${describeSchemaErrors(validate.errors).join('; ')}`);
        }
      }
    } catch (error) {
      ({ status, payload } = errorAnswer(error));
    }
    const text = JSON.stringify(payload);
    res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text) });
    res.end(text);
    const failure = status >= 400 ? (payload as { error: { message: string } }).error.message : undefined;
    this.#options.onExchange?.({ method, path: url.pathname, status, remote, ...(failure ? { error: failure } : {}) });
  }
}

/** Maps an exception to the JSON error answer. Library errors that mean "bad input" become 4xx. */
export function errorAnswer(error: unknown): { status: number; payload: { error: { code: string; message: string; details?: unknown } } } {
  if (error instanceof ControlApiError) {
    return { status: error.status, payload: { error: { code: error.code, message: error.message, ...(error.details !== undefined ? { details: error.details } : {}) } } };
  }
  if (error instanceof UnknownFaultError || error instanceof ReferenceConfigError) {
    return { status: 400, payload: { error: { code: error.code, message: error.message } } };
  }
  if (error instanceof ReferenceStateError) {
    return { status: 500, payload: { error: { code: error.code, message: error.message } } };
  }
  const coded = error as { code?: unknown; message?: unknown };
  return {
    status: 500,
    payload: { error: { code: typeof coded.code === 'string' ? coded.code : 'ERR_CONTROL_INTERNAL', message: String(coded.message ?? error) } },
  };
}


/**
 * Minimal client for a control API (used by tests, the CLI and lib/peers-style harnesses): sends JSON and
 * returns `{ status, body }`; never throws on 4xx/5xx.
 */
export async function callControlApi(at: Endpoint, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const host = at.address.includes(':') ? `[${at.address}]` : at.address;
  const response = await fetch(`http://${host}:${at.port}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}

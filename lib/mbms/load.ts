// Loading a profile file (YAML or JSON) over the defaults, checked against profile.schema.json.
// Errors name the file, the line and the field, so a user fixes a profile without guessing.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { ErrorObject } from 'ajv';
import { isMap, isNode, isPair, isScalar, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import { ProfileError } from './errors.ts';
import { schemaValidator } from './schema-validator.ts';
import { deepMerge, defaultProfile, referenceProfile, type MbmsProfile } from './profile.ts';

const require = createRequire(import.meta.url);
/** The JSON Schema of a complete profile (draft 2020-12). */
export const profileSchema: Record<string, unknown> = require('./profile.schema.json') as Record<string, unknown>;

/** Where profile.schema.json is (its validator: lib/mbms/schema-validator.ts). */
const PROFILE_SCHEMA_URL = new URL('./profile.schema.json', import.meta.url);

export interface LoadProfileOptions {
  /** Profile the file is merged over: 'default' (protocol §9, real devices) or 'reference' (short timers). */
  base?: 'default' | 'reference' | MbmsProfile;
}

function baseProfile(base: LoadProfileOptions['base']): MbmsProfile {
  if (base === undefined || base === 'default') return defaultProfile();
  if (base === 'reference') return referenceProfile();
  return structuredClone(base);
}

/** Reads a YAML or JSON profile file, deep-merges it over the base profile and validates the result. */
export function loadProfile(path: string, options: LoadProfileOptions = {}): MbmsProfile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ProfileError({ file: path, field: '', reason: `cannot read: ${(error as Error).message}` });
  }
  return parseProfile(text, path, options);
}

/** Same as loadProfile for text already in memory; `file` names it in errors. */
export function parseProfile(text: string, file: string, options: LoadProfileOptions = {}): MbmsProfile {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const syntaxError = doc.errors[0];
  if (syntaxError) {
    const pos = lineCounter.linePos(syntaxError.pos[0]);
    throw new ProfileError({ file, field: '', reason: syntaxError.message.split('\n')[0]!, line: pos.line, column: pos.col });
  }
  const overlay: unknown = doc.toJS() ?? {};
  if (typeof overlay !== 'object' || Array.isArray(overlay)) {
    throw new ProfileError({ file, field: '', reason: 'a profile must be a mapping of sections', ...position(doc.contents, lineCounter) });
  }
  const merged = deepMerge(baseProfile(options.base), overlay);
  checkProfile(merged, file, { doc, lineCounter });
  return merged;
}

/** Validates an in-memory profile (complete, e.g. after merging); throws ProfileError on the first problem. */
export function validateProfile(value: unknown, file = '<object>'): MbmsProfile {
  checkProfile(value, file);
  return value as MbmsProfile;
}

function checkProfile(value: unknown, file: string, source?: { doc: Document; lineCounter: LineCounter }): asserts value is MbmsProfile {
  const validate = schemaValidator<MbmsProfile>(PROFILE_SCHEMA_URL);
  if (validate(value)) return;
  const error = pickError(validate.errors ?? []);
  const segments = pointerSegments(error.instancePath);
  let fieldSegments = segments;
  let reason = error.message ?? error.keyword;
  if (error.keyword === 'additionalProperties') {
    const extra = String((error.params as { additionalProperty: string }).additionalProperty);
    fieldSegments = [...segments, extra];
    reason = 'unknown field';
  } else if (error.keyword === 'required') {
    fieldSegments = [...segments, String((error.params as { missingProperty: string }).missingProperty)];
    reason = 'required field is missing';
  } else if (error.keyword === 'enum') {
    reason = `${reason}: ${((error.params as { allowedValues: unknown[] }).allowedValues).map((v) => JSON.stringify(v)).join(', ')}`;
  }
  const field = fieldSegments.join('.');
  const where = source ? locate(source.doc, source.lineCounter, segments, error) : {};
  throw new ProfileError({ file, field, reason, ...where });
}

/** Prefers the most specific error (deepest path), ignoring the umbrella errors of anyOf/if. */
function pickError(errors: ErrorObject[]): ErrorObject {
  const useful = errors.filter((e) => e.keyword !== 'anyOf' && e.keyword !== 'if');
  const pool = useful.length > 0 ? useful : errors;
  return pool.reduce((best, e) => (pointerSegments(e.instancePath).length > pointerSegments(best.instancePath).length ? e : best));
}

function pointerSegments(pointer: string): string[] {
  if (pointer === '') return [];
  return pointer.slice(1).split('/').map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/**
 * Maps a JSON pointer to the YAML node it came from. For an unknown field the key node is reported; when
 * the path runs into values that came from the defaults, the nearest ancestor written in the file is used.
 */
function locate(doc: Document, lineCounter: LineCounter, segments: string[], error: ErrorObject): { line?: number; column?: number } {
  if (error.keyword === 'additionalProperties') {
    const parent = nodeAt(doc, segments);
    const extra = String((error.params as { additionalProperty: string }).additionalProperty);
    if (isMap(parent)) {
      const pair = parent.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === extra);
      if (pair && isNode(pair.key)) return position(pair.key, lineCounter);
    }
  }
  for (let depth = segments.length; depth >= 0; depth -= 1) {
    const node = nodeAt(doc, segments.slice(0, depth));
    if (node) return position(node, lineCounter);
  }
  return {};
}

function nodeAt(doc: Document, segments: string[]): Node | undefined {
  if (segments.length === 0) return isNode(doc.contents) ? doc.contents : undefined;
  const keys = segments.map((s) => (/^(0|[1-9][0-9]*)$/.test(s) ? Number(s) : s));
  const found: unknown = doc.getIn(keys, true);
  return isNode(found) ? found : undefined;
}

function position(node: unknown, lineCounter: LineCounter): { line?: number; column?: number } {
  if (!isNode(node) || !node.range) return {};
  const pos = lineCounter.linePos(node.range[0]);
  return { line: pos.line, column: pos.col };
}

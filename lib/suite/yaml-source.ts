// YAML documents with source positions: parse with a LineCounter and map a JSON-pointer-like path (as ajv
// reports it in `instancePath`) back to the line and column of the node, so a schema error names the file,
// the line and the field (DESIGN.md: malformed input fails fast and says where).

import { readFileSync } from 'node:fs';
import type { ErrorObject } from 'ajv';
import { LineCounter, parseDocument, isMap, isScalar, isNode, type Document } from 'yaml';

export interface YamlSource {
  file: string;
  text: string;
  doc: Document.Parsed;
  lines: LineCounter;
  data: unknown;
}

export interface Located { line: number; column: number }

/** Parses a YAML file; returns the syntax error (with its position) instead of throwing. */
export function readYaml(file: string, text = readFileSync(file, 'utf8')): YamlSource | { file: string; error: string; line?: number; column?: number } {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const first = doc.errors[0]!;
    const pos = first.linePos?.[0] ?? lines.linePos(first.pos[0]);
    return { file, error: first.message.split('\n')[0]!, line: pos.line, column: pos.col };
  }
  return { file, text, doc, lines, data: doc.toJS({ maxAliasCount: 100 }) };
}

/** Splits an ajv instancePath ('/cases/0/steps/1/http-request') into keys; numeric segments become numbers. */
export function pointerSegments(pointer: string): (string | number)[] {
  if (pointer === '') return [];
  return pointer.slice(1).split('/').map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~')).map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

/** Line and column of the node at `path` (or of the key `key` inside it); falls back to the nearest parent. */
export function locate(source: YamlSource, path: (string | number)[], key?: string): Located {
  for (let depth = path.length; depth >= 0; depth--) {
    const node = source.doc.getIn(path.slice(0, depth), true);
    if (!isNode(node)) continue;
    if (key !== undefined && depth === path.length && isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && p.key.value === key);
      const keyNode = pair?.key;
      if (isNode(keyNode) && keyNode.range) return position(source, keyNode.range[0]);
    }
    if (node.range) return position(source, node.range[0]);
  }
  return { line: 1, column: 1 };
}

function position(source: YamlSource, offset: number): Located {
  const p = source.lines.linePos(offset);
  return { line: p.line, column: p.col };
}

/** A field path for humans: cases[3].steps[1].http-request.fault */
export function fieldName(path: (string | number)[], key?: string): string {
  const all = key !== undefined ? [...path, key] : path;
  return all.map((s, i) => (typeof s === 'number' ? `[${s}]` : i === 0 ? s : `.${s}`)).join('') || '(document)';
}

export interface SchemaProblem { path: (string | number)[]; key?: string; message: string; line: number; column: number; field: string }

/**
 * Turns ajv errors into located problems, most specific first. oneOf/anyOf wrappers are dropped when a
 * more specific error exists at or below the same path (they only say "did not match any branch").
 */
export function schemaProblems(source: YamlSource, errors: ErrorObject[]): SchemaProblem[] {
  const specific = errors.filter((e) => !['oneOf', 'anyOf', 'if'].includes(e.keyword)
    || !errors.some((o) => o !== e && !['oneOf', 'anyOf', 'if'].includes(o.keyword) && o.instancePath.startsWith(e.instancePath)));
  const seen = new Set<string>();
  const problems: SchemaProblem[] = [];
  for (const e of specific) {
    const path = pointerSegments(e.instancePath);
    let key: string | undefined;
    let message = e.message ?? e.keyword;
    if (e.keyword === 'additionalProperties') {
      key = String((e.params as { additionalProperty: string }).additionalProperty);
      message = `unknown field '${key}'`;
    } else if (e.keyword === 'required') {
      message = `missing required field '${(e.params as { missingProperty: string }).missingProperty}'`;
    } else if (e.keyword === 'enum') {
      message = `must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ')}`;
    }
    const loc = locate(source, path, key);
    const field = fieldName(path, key);
    const id = `${field}|${message}`;
    if (seen.has(id)) continue;
    seen.add(id);
    problems.push({ path, key, message, line: loc.line, column: loc.column, field });
  }
  // Deepest path first: the most specific complaint is the useful one.
  return problems.sort((a, b) => b.path.length - a.path.length || a.line - b.line);
}



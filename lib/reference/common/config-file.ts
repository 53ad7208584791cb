// Reading reference configuration files (YAML or JSON) so that every error names the file, the line and
// the field: a lab edits these by hand.

import { readFileSync } from 'node:fs';
import { LineCounter, parseDocument, isNode } from 'yaml';
import { ReferenceConfigError } from './errors.ts';

export type FieldPath = (string | number)[];

export interface ConfigFile {
  path: string;
  data: unknown;
  /** 1-based line of the value at `field`, when the file has it. */
  lineOf(field: FieldPath): number | undefined;
  /** A ReferenceConfigError naming file, line and field. */
  error(field: FieldPath, message: string): ReferenceConfigError;
}

/** Dotted field path as written in messages: `users[0].ksNaf`. */
export function formatFieldPath(field: FieldPath): string {
  return field.reduce<string>((out, part) => typeof part === 'number' ? `${out}[${part}]` : out ? `${out}.${part}` : part, '');
}

/** Reads and parses a YAML or JSON file (JSON is YAML 1.2). Throws ReferenceConfigError. */
export function readConfigFile(path: string): ConfigFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ReferenceConfigError(`cannot read configuration: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, { file: path });
  }
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const first = doc.errors[0]!;
    const line = lineCounter.linePos(first.pos[0]).line;
    throw new ReferenceConfigError(`line ${line}: ${first.message.split('\n')[0]}`, { file: path });
  }
  const lineOf = (field: FieldPath): number | undefined => {
    for (let depth = field.length; depth >= 0; depth--) {
      const node = depth === 0 ? doc.contents : doc.getIn(field.slice(0, depth), true);
      if (isNode(node) && node.range) return lineCounter.linePos(node.range[0]).line;
    }
    return undefined;
  };
  return {
    path,
    data: doc.toJS(),
    lineOf,
    error(field, message) {
      const line = lineOf(field);
      return new ReferenceConfigError(message, { file: line ? `${path}:${line}` : path, field: formatFieldPath(field) || undefined });
    },
  };
}

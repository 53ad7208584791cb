// The YAML the documentation shows is YAML the tool reads: every ```yaml block of README.md and docs/*.md
// parses, and every field it names is a field of the schema it illustrates (a SUT profile, a suite, a case,
// a keys file, a capability statement). Values may be placeholders ("...", "[...]"); names may not drift.
import { readdirSync, readFileSync } from 'node:fs';
import { test, expect } from '@playwright/test';
import { parse } from 'yaml';

type Schema = Record<string, any>;
const load = (path: string): Schema => JSON.parse(readFileSync(path, 'utf8'));
const SCHEMAS: Record<string, Schema> = {
  sut: load('lib/suite/sut.schema.json'),
  suite: load('lib/suite/suite.schema.json'),
  keys: load('lib/suite/offline/keys.schema.json'),
  pics: load('lib/suite/pics.schema.json'),
  profile: load('lib/mbms/profile.schema.json'),
};

/** Which schema a block illustrates, from its $schema comment or its shape; undefined = not ours (a CI snippet). */
function schemaOf(text: string, data: unknown): { schema: Schema; at: Schema } | undefined {
  const named = /\$schema=\S*?([a-z]+)\.schema\.json/.exec(text)?.[1];
  const top = data as Record<string, unknown>;
  if (Array.isArray(data) && data.every((c) => c && typeof c === 'object' && 'id' in c && 'steps' in c)) {
    return { schema: SCHEMAS.suite!, at: { items: SCHEMAS.suite!.definitions.case } };
  }
  const name = named ?? (top && typeof top === 'object' && !Array.isArray(top)
    ? ('ues' in top || 'msks' in top ? 'keys' : 'sut' in top && 'role' in top ? 'sut' : 'cases' in top ? 'suite' : 'capabilities' in top && !('sut' in top) ? 'pics' : undefined)
    : undefined);
  const schema = name ? SCHEMAS[name] : undefined;
  return schema ? { schema, at: schema } : undefined;
}

function resolve(root: Schema, s: Schema | undefined): Schema | undefined {
  let cur = s;
  for (let i = 0; cur?.$ref && i < 10; i++) {
    cur = (cur.$ref as string).replace(/^#\//, '').split('/').reduce<any>((o, k) => o?.[k], root);
  }
  return cur;
}

/** Every alternative a schema node allows (oneOf/anyOf/allOf branches, resolved). */
function branches(root: Schema, s: Schema | undefined): Schema[] {
  const r = resolve(root, s);
  if (!r) return [];
  const alts = [...(r.oneOf ?? []), ...(r.anyOf ?? []), ...(r.allOf ?? [])];
  return [r, ...alts.flatMap((a: Schema) => branches(root, a))];
}

/** Field paths of `value` that the schema node does not define. */
function unknownFields(root: Schema, node: Schema | undefined, value: unknown, path: string): string[] {
  if (value === null || typeof value !== 'object') return [];
  const options = branches(root, node);
  if (Array.isArray(value)) {
    const items = options.map((o) => o.items).filter(Boolean);
    return items.length ? value.flatMap((v, i) => unknownFields(root, items[0], v, `${path}[${i}]`)) : [];
  }
  const out: string[] = [];
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
    const props = options.map((o) => o.properties?.[key] ?? (o.patternProperties ? Object.entries(o.patternProperties as Record<string, Schema>).find(([re]) => new RegExp(re).test(key))?.[1] : undefined)).filter(Boolean);
    const open = options.some((o) => o.additionalProperties !== false && !o.properties && !o.patternProperties) || options.some((o) => typeof o.additionalProperties === 'object');
    if (props.length === 0) {
      if (!open) out.push(`${path}${path ? '.' : ''}${key}`);
      continue;
    }
    out.push(...unknownFields(root, props[0], v, `${path}${path ? '.' : ''}${key}`));
  }
  return out;
}

const FILES = ['README.md', ...readdirSync('docs').filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];

test('every YAML example of the docs parses and names only fields of its schema', () => {
  const problems: string[] = [];
  let judged = 0;
  for (const file of FILES) {
    const text = readFileSync(file, 'utf8');
    const blocks = [...text.matchAll(/^```yaml\n([\s\S]*?)^```/gm)];
    for (const b of blocks) {
      const line = text.slice(0, b.index).split('\n').length + 1;
      const source = b[1]!.replace(/\[\.\.\.\]/g, '[]').replace(/: \.\.\.(\s)/g, ': x$1');
      let data: unknown;
      try { data = parse(source); } catch (e) { problems.push(`${file}:${line}: not YAML: ${(e as Error).message.split('\n')[0]}`); continue; }
      const target = schemaOf(b[1]!, data);
      if (!target) continue;
      judged++;
      for (const f of unknownFields(target.schema, target.at, data, '')) problems.push(`${file}:${line}: field '${f}' is not in the schema`);
    }
  }
  expect(problems).toEqual([]);
  expect(judged, 'YAML examples checked against a schema').toBeGreaterThanOrEqual(4);
});

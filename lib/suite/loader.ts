// Suite loader: YAML suite files -> validated case definitions.
//
// A malformed file fails fast with the file, line and field (SuiteSchemaError). Beyond the JSON schema the
// loader checks what a schema cannot: exactly one action per step, actions allowed for the file's role,
// references to earlier `as` names, case ids unique across files and prefixed by the role, applicability
// expressions that parse and only name capabilities the capability-statement schema defines, and the
// `# yaml-language-server: $schema=` modeline that lets editors complete the file.

import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { DuplicateCaseError, ExpressionError, SuiteSchemaError } from './errors.ts';
import { namesIn, parseExpression, type Expr } from './expr.ts';
import { locate, readYaml, schemaProblems, type YamlSource } from './yaml-source.ts';
import { schemaValidator } from '../mbms/schema-validator.ts';
import { CHECKS } from './checks.ts';
import type { Role, Severity } from './verdict.ts';
import { STEP_ACTIONS, type StepAction } from './steps/index.ts';

export const SUITE_SCHEMA_URL = new URL('./suite.schema.json', import.meta.url);
export const PICS_SCHEMA_URL = new URL('./pics.schema.json', import.meta.url);

/** Step actions and the SUT roles whose suites may use them (the tester plays the other role). */
export { STEP_ACTIONS, type StepAction } from './steps/index.ts';

export interface StepDef {
  index: number;
  action: StepAction;
  title?: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  params: Record<string, any>;
  line: number;
}

export interface CaseDef {
  id: string;
  role: Role;
  clause: string;
  procedure: string;
  title: string;
  requirement: string;
  references: string[];
  checks: string[];
  applicability?: string;
  applicabilityExpr?: Expr;
  severity: Severity;
  mandatory: boolean;
  variant: 'positive' | 'negative';
  tags: string[];
  identity: 'default' | 'unprovisioned';
  steps: StepDef[];
  source: { file: string; line: number };
}

export interface SuiteFile {
  file: string;
  role: Role;
  clause: string;
  procedure: string;
  title: string;
  cases: CaseDef[];
}

const MODELINE = /^#\s*yaml-language-server:\s*\$schema=\S*suite\.schema\.json\s*$/m;

/** Keys that name an earlier step's `as` in step parameters (validated as references). */
const REF_KEYS = ['challenge', 'replay', 'to', 'after', 'msk', 'retransmissionOf', 'answers', 'of'];
const PREFIXED_REF = /^(?:next-of|same-as|minus-one|lower-than):([A-Za-z][A-Za-z0-9_-]*)$/;

let knownCapabilities: Set<string> | undefined;

/** Dotted names of every capability the capability-statement schema defines (leaves and objects). */
export function capabilityNames(): Set<string> {
  if (knownCapabilities) return knownCapabilities;
  const schema = JSON.parse(readFileSync(PICS_SCHEMA_URL, 'utf8')) as { properties: { capabilities: SchemaNode } };
  interface SchemaNode { properties?: Record<string, SchemaNode> }
  const names = new Set<string>();
  const walk = (node: SchemaNode, prefix: string): void => {
    for (const [key, child] of Object.entries(node.properties ?? {})) {
      const name = prefix ? `${prefix}.${key}` : key;
      names.add(name);
      walk(child, name);
    }
  };
  walk(schema.properties.capabilities, '');
  knownCapabilities = names;
  return names;
}

function fail(source: YamlSource | { file: string }, path: (string | number)[], reason: string, key?: string): never {
  const loc = 'doc' in source ? locate(source, path, key) : { line: 1, column: 1 };
  const field = [...path, ...(key !== undefined ? [key] : [])].map((s, i) => (typeof s === 'number' ? `[${s}]` : i === 0 ? s : `.${s}`)).join('');
  throw new SuiteSchemaError({ file: source.file, line: loc.line, column: loc.column, field: field || undefined }, reason);
}

/** Loads and checks one suite file. */
export function loadSuiteFile(file: string, options: { requireModeline?: boolean } = {}): SuiteFile {
  const source = readYaml(file);
  if ('error' in source) {
    throw new SuiteSchemaError({ file, line: source.line, column: source.column }, `YAML syntax: ${source.error}`);
  }
  if ((options.requireModeline ?? true) && !MODELINE.test(source.text)) {
    throw new SuiteSchemaError({ file, line: 1 }, "missing modeline '# yaml-language-server: $schema=<path>/lib/suite/suite.schema.json' (editors use it to complete the file)");
  }
  const validate = schemaValidator(SUITE_SCHEMA_URL);
  if (!validate(source.data)) {
    const problems = schemaProblems(source, validate.errors ?? []);
    const first = problems[0]!;
    const more = problems.length > 1 ? ` (and ${problems.length - 1} more: ${problems.slice(1, 4).map((p) => `line ${p.line} ${p.field}: ${p.message}`).join('; ')})` : '';
    throw new SuiteSchemaError({ file, line: first.line, column: first.column, field: first.field }, `${first.message}${more}`);
  }
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const data = source.data as any;
  const role = data.role as Role;
  const known = capabilityNames();
  const checkExpression = (text: string | undefined, path: (string | number)[]): Expr | undefined => {
    if (text === undefined) return undefined;
    let expr: Expr;
    try {
      expr = parseExpression(text);
    } catch (error) {
      if (error instanceof ExpressionError) fail(source, path, `applicability does not parse: ${error.reason} at offset ${error.offset}`);
      throw error;
    }
    for (const name of namesIn(expr)) {
      if (!known.has(name)) fail(source, path, `applicability names unknown capability '${name}' (known: see lib/suite/pics.schema.json)`);
    }
    return expr;
  };
  const fileExpr = checkExpression(data.applicability, ['applicability']);

  const cases: CaseDef[] = data.cases.map((c: any, ci: number): CaseDef => {
    const casePath = ['cases', ci];
    if (!c.id.startsWith(`${role}/`)) fail(source, [...casePath, 'id'], `case id '${c.id}' must start with '${role}/' (the file's role)`);
    const caseExpr = checkExpression(c.applicability, [...casePath, 'applicability']);
    (c.checks ?? []).forEach((k: string, ki: number) => {
      if (!CHECKS[role].includes(k)) fail(source, [...casePath, 'checks', ki], `'${k}' is not a protocol §7 check of the ${role === 'bmsc' ? 'BM-SC' : 'UE'} role (${CHECKS[role].join(', ')})`);
    });
    const names = new Set<string>();
    const steps: StepDef[] = c.steps.map((s: any, si: number): StepDef => {
      const stepPath = [...casePath, 'steps', si];
      const actions = Object.keys(s).filter((k) => k !== 'title') as StepAction[];
      if (actions.length !== 1) {
        fail(source, stepPath, actions.length === 0 ? 'a step needs one action (e.g. http-request, expect-mikey)' : `a step has exactly one action, found ${actions.join(', ')}`);
      }
      const action = actions[0]!;
      if (!(STEP_ACTIONS[action] as readonly Role[]).includes(role)) {
        fail(source, stepPath, `action '${action}' is not available when the SUT is a ${role === 'bmsc' ? 'BM-SC' : 'UE'}`, action);
      }
      const params = (s[action] ?? {}) as Record<string, unknown>;
      for (const key of REF_KEYS) {
        const value = params[key];
        if (typeof value !== 'string') continue;
        if (key === 'to' && action === 'send-mikey') continue; // a destination, not a reference
        if (!names.has(value)) fail(source, [...stepPath, action, key], `'${value}' does not name an earlier step of this case (earlier: ${[...names].join(', ') || 'none'})`);
      }
      for (const value of Object.values(params)) {
        const m = typeof value === 'string' ? PREFIXED_REF.exec(value) : null;
        if (m && !names.has(m[1]!)) fail(source, [...stepPath, action], `'${value}' refers to '${m[1]}', which no earlier step of this case names`);
      }
      if (action === 'assert-order') {
        for (const ref of params.sequence as string[]) {
          if (!names.has(ref)) fail(source, [...stepPath, action, 'sequence'], `'${ref}' does not name an earlier step of this case`);
        }
      }
      if (typeof params.as === 'string') {
        if (names.has(params.as)) fail(source, [...stepPath, action, 'as'], `name '${params.as}' is already used in this case`);
        names.add(params.as);
      }
      return { index: si, action, title: s.title, params, line: locate(source, stepPath).line };
    });
    const applicability = [data.applicability, c.applicability].filter(Boolean).map((t: string) => `(${t})`).join(' && ') || undefined;
    const applicabilityExpr = fileExpr && caseExpr ? { kind: 'and' as const, left: fileExpr, right: caseExpr } : (fileExpr ?? caseExpr);
    return {
      id: c.id, role, clause: data.clause, procedure: data.procedure, title: c.title, requirement: c.requirement,
      references: [...new Set([...(data.references ?? []), ...c.references])],
      checks: c.checks ?? [], applicability, applicabilityExpr, severity: c.severity, mandatory: c.mandatory,
      variant: c.variant ?? 'positive', tags: c.tags ?? [], identity: c.identity ?? 'default', steps,
      source: { file, line: locate(source, casePath).line },
    };
  });
  return { file, role, clause: data.clause, procedure: data.procedure, title: data.title, cases };
}

/** The default suites directory of the repository. */
export const SUITES_DIR = resolve(new URL('../../suites', import.meta.url).pathname);

function yamlFiles(dir: string): string[] {
  let entries: string[];
  try { entries = readdirSync(dir).sort(); } catch { return []; }
  return entries.flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return yamlFiles(path);
    return /\.ya?ml$/.test(name) ? [path] : [];
  });
}

/** Loads every suite file of a role (suites/<role>/**.yaml); case ids must be unique across files. */
export function loadSuites(role: Role, dir = SUITES_DIR): SuiteFile[] {
  const files = yamlFiles(join(dir, role)).map((f) => loadSuiteFile(f));
  const seen = new Map<string, string>();
  for (const suite of files) {
    if (suite.role !== role) throw new SuiteSchemaError({ file: suite.file, field: 'role' }, `file under suites/${role}/ declares role '${suite.role}'`);
    for (const c of suite.cases) {
      const at = `${relative(process.cwd(), c.source.file)}:${c.source.line}`;
      const first = seen.get(c.id);
      if (first) throw new DuplicateCaseError(c.id, first, at);
      seen.set(c.id, at);
    }
  }
  return files;
}

/** All cases of a role, sorted by id (from the validated-cases file of the run when it is current). */
export function loadCases(role: Role, dir = SUITES_DIR): CaseDef[] {
  const cached = process.env[CASES_FILE_ENV] ? readCasesFile(process.env[CASES_FILE_ENV], dir) : undefined;
  return cached ? cached[role] : casesFromYaml(role, dir);
}

function casesFromYaml(role: Role, dir: string): CaseDef[] {
  return loadSuites(role, dir).flatMap((s) => s.cases).sort((a, b) => a.id.localeCompare(b.id, 'en', { numeric: true }));
}

/**
 * The validated-cases file: `mbms-conform run` loads and checks every suite once, before Playwright
 * starts (a malformed suite stops the run there, naming file, line and field), and writes the cases as
 * JSON under its results; the Playwright runner and every worker, which each load the spec and so the
 * suites, read that file instead of parsing and validating the YAML again (about 0.5 s of CPU each on a
 * loaded 2-core host). The file names the suite files with their sizes and times: when any differs (a
 * suite edited during the run, another suites folder), the YAML is loaded as usual.
 */
export const CASES_FILE_ENV = 'MBMS_CASES_FILE';

interface CasesFile { dir: string; files: [string, number, number][]; cases: Record<Role, CaseDef[]> }

function suiteFingerprint(dir: string): [string, number, number][] {
  return (['bmsc', 'ue'] as const).flatMap((role) => yamlFiles(join(dir, role)).map((f): [string, number, number] => {
    const st = statSync(f);
    return [f, st.size, st.mtimeMs];
  }));
}

/** Loads and validates both roles' suites of `dir` and writes them to `path` (throws on a malformed suite). */
export function writeCasesFile(path: string, dir = SUITES_DIR): void {
  const files = suiteFingerprint(dir);
  const cases = { bmsc: casesFromYaml('bmsc', dir), ue: casesFromYaml('ue', dir) };
  writeFileSync(path, JSON.stringify({ dir, files, cases } satisfies CasesFile));
}

function readCasesFile(path: string, dir: string): Record<Role, CaseDef[]> | undefined {
  let file: CasesFile;
  try {
    file = JSON.parse(readFileSync(path, 'utf8')) as CasesFile;
  } catch {
    return undefined;
  }
  if (file.dir !== dir || JSON.stringify(file.files) !== JSON.stringify(suiteFingerprint(dir))) return undefined;
  return file.cases;
}

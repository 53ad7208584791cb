// Fault injection shared by the reference BM-SC and reference UE.
//
// A fault is one deliberate deviation from the procedure, named, documented with the clause or RFC section
// it violates, and selectable from the configuration file, the command line and the control API. The
// fault matrix (lib/suite) runs the suite against each fault and expects at least one case to FAIL, so
// every entry must be a real, observable deviation on the wire.

import { UnknownFaultError } from './errors.ts';

export type ReferenceRole = 'bmsc' | 'ue';

/** The four procedures of TS 33.246 clause 6.3 (source numbering; protocol §1). */
export type ReferenceProcedure = 'msk-request' | 'msk-push' | 'solicited-pull' | 'mtk-update';

/** Source clause of each procedure (protocol §1 headings). */
export const PROCEDURE_CLAUSES: Readonly<Record<ReferenceProcedure, string>> = {
  'msk-request': '6.3.1',
  'msk-push': '6.3.2.1',
  'solicited-pull': '6.3.2.1 (push solicited pull)',
  'mtk-update': '6.3.3',
};

export interface FaultDefinition {
  /** Stable name, `<role>-<what goes wrong>`, used in configs, on the command line and in reports. */
  readonly name: string;
  readonly role: ReferenceRole;
  /** What the reference does differently, in one sentence. */
  readonly description: string;
  /** The clause or RFC section the deviation violates, e.g. `RFC 2617 §3.2.3`. */
  readonly violates: string;
  /** The procedure in which the deviation shows first. */
  readonly procedure: ReferenceProcedure;
  /** Other procedures in which it also shows, when any. */
  readonly alsoIn?: readonly ReferenceProcedure[];
}

/** Checks a fault table: names unique, prefixed by the role, every field filled. Throws on a bad table. */
export function checkFaultTable(table: readonly FaultDefinition[]): void {
  const seen = new Set<string>();
  for (const fault of table) {
    if (seen.has(fault.name)) throw new Error(`fault table: duplicate fault '${fault.name}'`);
    seen.add(fault.name);
    if (!fault.name.startsWith(`${fault.role}-`)) {
      throw new Error(`fault table: '${fault.name}' must start with '${fault.role}-'`);
    }
    for (const field of ['description', 'violates', 'procedure'] as const) {
      if (!fault[field]) throw new Error(`fault table: '${fault.name}' has no ${field}`);
    }
  }
}

/** Returns the table entry for each name, or throws UnknownFaultError for the first unknown one. */
export function resolveFaults(table: readonly FaultDefinition[], role: ReferenceRole,
  names: Iterable<string>): FaultDefinition[] {
  const byName = new Map(table.map((f) => [f.name, f]));
  const out: FaultDefinition[] = [];
  for (const name of names) {
    const fault = byName.get(name);
    if (!fault || fault.role !== role) throw new UnknownFaultError(name, role, table.map((f) => f.name));
    if (!out.includes(fault)) out.push(fault);
  }
  return out;
}

/**
 * The set of active faults of one running reference. Names are checked against the role's table on every
 * change, so a typo is an error rather than a silently conformant run.
 */
export class FaultSet {
  readonly role: ReferenceRole;
  readonly table: readonly FaultDefinition[];
  #active = new Set<string>();
  #revision = 0;

  constructor(role: ReferenceRole, table: readonly FaultDefinition[], initial: Iterable<string> = []) {
    checkFaultTable(table);
    this.role = role;
    this.table = table;
    this.set(initial);
  }

  /** True when the named fault is active. The name must exist in the table (guards typos in the code). */
  has(name: string): boolean {
    if (!this.table.some((f) => f.name === name)) throw new UnknownFaultError(name, this.role, this.names());
    return this.#active.has(name);
  }

  /** Replaces the active set. Throws UnknownFaultError (and changes nothing) on an unknown name. */
  set(names: Iterable<string>): void {
    const resolved = resolveFaults(this.table, this.role, names);
    this.#active = new Set(resolved.map((f) => f.name));
    this.#revision++;
  }

  /** Counts the changes of the active set: what is derived from it is derived again when this moves. */
  get revision(): number {
    return this.#revision;
  }

  /** Active fault names in table order. */
  active(): string[] {
    return this.table.filter((f) => this.#active.has(f.name)).map((f) => f.name);
  }

  /** All fault names of the table. */
  names(): string[] {
    return this.table.map((f) => f.name);
  }

  /** The body of `GET /faults` (docs/control-api.md). */
  toJSON(): { active: string[]; available: FaultDefinition[] } {
    // the definition's documented fields only (a role's table may carry its implementation beside them)
    return {
      active: this.active(),
      available: this.table.map(({ name, role, description, violates, procedure, alsoIn }) =>
        ({ name, role, description, violates, procedure, ...(alsoIn ? { alsoIn } : {}) })),
    };
  }
}

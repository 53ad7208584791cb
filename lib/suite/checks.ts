// The conformance checks of reference §7 (mbms-key-management.md): the ids suite cases cite in `checks:`, per
// SUT role. The loader refuses an id that is not listed (a typo would silently drop coverage), and
// `coverage()` tells which checks a set of cases covers.

import type { CaseDef } from './loader.ts';
import type { Role } from './verdict.ts';

const range = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${i + 1}`);

/** §7.1 (BM-SC under test) and §7.2 (UE under test); §7.3 codec checks belong to the unit tests of lib/mikey. */
export const CHECKS: Readonly<Record<Role, readonly string[]>> = {
  bmsc: [...range('A-B', 13), 'P-B1', 'P-B2', 'S-B1', 'M-B1', 'M-B2', 'G-B1', 'G-B2'],
  ue: [...range('A-U', 6), 'P-U1', 'S-U1', 'M-U1', 'M-U2', ...range('G-U', 9)],
};

export interface Coverage {
  role: Role;
  /** check id -> case ids citing it, in case order. */
  byCheck: Record<string, string[]>;
  /** Checks of the role no case cites. */
  uncovered: string[];
}

export function coverage(role: Role, cases: readonly CaseDef[]): Coverage {
  const byCheck: Record<string, string[]> = Object.fromEntries(CHECKS[role].map((c) => [c, []]));
  for (const c of cases) for (const k of c.checks) byCheck[k]?.push(c.id);
  return { role, byCheck, uncovered: CHECKS[role].filter((k) => byCheck[k]!.length === 0) };
}

// What a step module declares for each action of the suite format: the registry (steps/index.ts) collects
// these, and the loader's action list, the engine's handler table, the step part of suite.schema.json and
// the step tables of docs/suite-format.md all come from it (fixtures/tools/gen-docs.ts writes the generated
// files; steps.test.ts fails when one drifts).
import type { StepHandler } from '../context.ts';
import type { Role } from '../verdict.ts';

/** A JSON Schema (draft-07) object, as suite.schema.json holds it. */
export type JsonSchema = { [key: string]: unknown };

export interface StepSpec<A extends string = string> {
  /** The step's key in a suite file. */
  readonly action: A;
  /** The roles of the SUT the step serves (bmsc: the tester plays the UE; ue: the tester plays the BM-SC). */
  readonly roles: readonly Role[];
  /** What the tester does, in one line (docs/suite-format.md). */
  readonly doc: string;
  /** The schema of the step's parameters; `$ref`s point into suite.schema.json's shared definitions. */
  readonly schema: JsonSchema;
  readonly handler: StepHandler;
}

export const defineStep = <const A extends string>(spec: StepSpec<A>): StepSpec<A> => spec;

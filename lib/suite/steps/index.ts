// The step registry: every action of the suite format, from the modules that implement them (named by the
// role the tester plays: tester-ue.ts when a BM-SC is under test, tester-bmsc-*.ts when a UE is, common.ts
// for both). The loader's action list, the engine's handler table, the step part of suite.schema.json and
// the step tables of docs/suite-format.md are all derived from STEPS.
import type { StepHandler } from '../context.ts';
import type { Role } from '../verdict.ts';
import { assertOrderStep, expectMikeyStep, expectSilenceStep, triggerStep } from './common.ts';
import { expectHttpRequestStep, respondHttpStep } from './tester-bmsc-http.ts';
import { sendMikeyStep } from './tester-bmsc-mikey.ts';
import { expectHttpResponseStep, httpRequestStep, sendAckStep } from './tester-ue.ts';
import type { JsonSchema, StepSpec } from './step.ts';

export const STEPS = [
  httpRequestStep, expectHttpResponseStep, sendAckStep,
  expectHttpRequestStep, respondHttpStep, sendMikeyStep,
  expectMikeyStep, triggerStep, expectSilenceStep, assertOrderStep,
] as const;

export type StepAction = (typeof STEPS)[number]['action'];

/** The roles each action serves. */
export const STEP_ACTIONS = Object.fromEntries(STEPS.map((s) => [s.action, s.roles])) as Readonly<Record<StepAction, readonly Role[]>>;

/** The handler of each action. */
export const STEP_HANDLERS = Object.fromEntries(STEPS.map((s) => [s.action, s.handler])) as Readonly<Record<StepAction, StepHandler>>;

/** Name of an action's parameter definition in suite.schema.json (`http-request` -> `httpRequest`). */
export const schemaDefinitionName = (action: string): string => action.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

/** The step part of suite.schema.json's definitions: `step` (one action key plus a title) and one definition per action. */
export function stepSchemaDefinitions(): Record<string, JsonSchema> {
  const step: JsonSchema = {
    type: 'object', additionalProperties: false, minProperties: 1, description: 'exactly one action key (plus an optional title)',
    properties: {
      title: { type: 'string' },
      ...Object.fromEntries(STEPS.map((s) => [s.action, { $ref: `#/definitions/${schemaDefinitionName(s.action)}` }])),
    },
  };
  return { step, ...Object.fromEntries(STEPS.map((s: StepSpec) => [schemaDefinitionName(s.action), s.schema])) };
}

export type { StepSpec, JsonSchema } from './step.ts';

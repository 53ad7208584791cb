// Steps where the tester plays the BM-SC against a UE under test (suites/ue): waiting for and judging the
// UE's MSK request, answering it (challenges, 200 with right or wrong rspauth, nextnonce), and sending MIKEY
// messages built with lib/mikey builders, with overrides and corruptions (reference §7.2).
//
// The tester BM-SC peer (lib/peers/tester-bmsc.ts) is in place; these handlers are the extension point for
// the UE-role suites. Until a handler is written, a case using it ends in ERROR (a harness gap, never a
// verdict on the SUT).

import { HarnessError } from '../errors.ts';
import type { StepHandler } from '../context.ts';

function notYet(action: string): StepHandler {
  return async () => {
    throw new HarnessError(`step '${action}' (UE under test) is not implemented yet in lib/suite/steps/tester-bmsc.ts`);
  };
}

export const expectHttpRequest: StepHandler = notYet('expect-http-request');
export const respondHttp: StepHandler = notYet('respond-http');
export const sendMikey: StepHandler = notYet('send-mikey');

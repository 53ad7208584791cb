// UE under test, `send-mikey`: the tester BM-SC sends an MSK message, MTK message or solicited-pull trigger
// built with the lib/mikey builders from the profile (lib/peers tester-bmsc-mikey.ts), with the overrides of
// the step — V flag, COUNTER (next, a jump, the same as or one below an earlier message: protocol §6.1),
// protecting key (MUK, an old MUK, a random key, the MSK: G-U4, G-U7), key IDs (next Key Number, unknown
// domain or MSK: P-U1, G-U5, M-U2), MTK ID (G-U6) — a corruption (G-U1, G-U8), or a byte-identical replay
// (G-U2, G-U9). What was sent is remembered under `as:` for later steps (ACK expectations, counters, MSKs).

import { HarnessError } from '../errors.ts';
import { named, note, remember, type CaseRun, type StepHandler } from '../context.ts';
import type { ComposeRequest, ComposedMikey, CounterChoice } from '../../peers/index.ts';
import { MIKEY_CORRUPTIONS } from '../../peers/index.ts';
import { saveCounters, testerBmsc, ueState } from './tester-bmsc-state.ts';
import { defineStep } from './step.ts';

function composedOf(run: CaseRun, ref: string): ComposedMikey {
  const c = ueState(run).composed.get(ref);
  if (!c) {
    named(run, ref); // throws when the name is unknown
    throw new HarnessError(`'${ref}' is not a MIKEY message the tester sent (send-mikey)`);
  }
  return c;
}

/** `counter`: next | plus:<n> | same-as:<ref> | minus-one:<ref> | <n> (docs/suite-format.md). */
function counterChoice(run: CaseRun, spec: unknown): CounterChoice {
  if (spec === undefined || spec === 'next') return { mode: 'next' };
  if (typeof spec === 'number') return { mode: 'value', value: spec };
  const m = /^(plus|same-as|minus-one):(.+)$/.exec(String(spec));
  if (!m) throw new HarnessError(`send-mikey: counter '${String(spec)}' is not next, plus:<n>, same-as:<ref>, minus-one:<ref> or a number`);
  if (m[1] === 'plus') return { mode: 'plus', n: Number(m[2]) };
  const ref = composedOf(run, m[2]!);
  return { mode: 'value', value: m[1] === 'same-as' ? ref.counter : ref.counter - 1 };
}

function describe(c: ComposedMikey): string {
  const ids = `${c.keyDomainId.toString('hex')}/${c.mskId.toString(16).padStart(8, '0')}${c.mtkId !== undefined ? `/${c.mtkId}` : ''}`;
  return `${c.kind.toUpperCase()} ${c.kind === 'trigger' ? 'trigger' : 'message'} ${ids}, COUNTER ${c.counter}, V=${c.v ? 1 : 0}, CSB ID ${c.csbId.toString(16).padStart(8, '0')}${c.corrupt !== 'none' ? `, corrupted: ${c.corrupt}` : ''}`;
}

export const sendMikey: StepHandler = async (run, p) => {
  const bmsc = testerBmsc(run);
  const state = ueState(run);
  const to: 'mikey-port' | 'bearer' = p.to ?? 'mikey-port';
  if (p.replay) {
    // RFC 3830 §5.4: the very octets again; the UE must find their COUNTER not newer than the stored one.
    const original = composedOf(run, p.replay);
    const event = await bmsc.resend(original.bytes, to);
    const text = note(run, `re-sent the octets of '${p.replay}' unchanged (${describe(original)})`);
    if (p.as) state.composed.set(p.as, original);
    remember(run, p.as, { events: [event, text], sent: [{ event, bytes: original.bytes, key: original.psk, rand: original.rand }] });
    return;
  }
  const kind: 'msk' | 'mtk' | 'trigger' = p.kind;
  const request: ComposeRequest = { kind, counter: counterChoice(run, p.counter) };
  if (p.v !== undefined) request.v = p.v;
  if (p.key !== undefined) request.key = p.key;
  if (p.corrupt !== undefined) request.corrupt = p.corrupt;
  if (p.msk !== undefined) {
    const carrier = composedOf(run, p.msk);
    if (!carrier.msk) throw new HarnessError(`send-mikey: '${p.msk}' carries no MSK`);
    request.msk = carrier.msk;
  }
  const keyIds: string | undefined = p.keyIds;
  if (keyIds?.startsWith('same-as:')) {
    const other = composedOf(run, keyIds.slice('same-as:'.length));
    if (!other.msk) throw new HarnessError(`send-mikey: '${keyIds}' names a message without an MSK`);
    request.msk = other.msk;
    request.keyIds = 'current';
  } else if (keyIds !== undefined) {
    request.keyIds = keyIds as ComposeRequest['keyIds'];
  }
  const mtkId: string | undefined = p.mtkId;
  if (mtkId !== undefined && mtkId !== 'next') {
    const [how, ref] = mtkId.split(':') as [string, string];
    const other = composedOf(run, ref);
    if (other.mtkId === undefined) throw new HarnessError(`send-mikey: '${ref}' is not an MTK message`);
    const value = how === 'same-as' ? other.mtkId : other.mtkId - 1;
    // MTK ID 0 is the "no key" value (protocol §6.2): a lower ID must stay a real MTK ID.
    if (value < 1) throw new HarnessError(`send-mikey: no MTK ID below ${other.mtkId} other than the reserved 0; send one more MTK message first`);
    request.mtkId = value;
  }
  const { composed, event } = await bmsc.sendComposed(request, to);
  saveCounters(run, bmsc);
  const text = note(run, `sent ${describe(composed)} to the UE's ${to === 'bearer' ? 'bearer' : 'MIKEY port'}`);
  if (p.as) state.composed.set(p.as, composed);
  remember(run, p.as, { events: [event, text], sent: [{ event, bytes: composed.bytes, key: composed.psk, rand: composed.rand }] });
};

// ---- the module's steps (registry: steps/index.ts) ----------------------------------------------------------

export const sendMikeyStep = defineStep({
  action: 'send-mikey', roles: ['ue'], handler: sendMikey,
  doc: "send a MIKEY message built from the profile (lib/mikey builders)",
  schema: {
    type: "object",
    additionalProperties: false,
    required: [
      "kind"
    ],
    description: "UE under test: the tester BM-SC sends a MIKEY message built from the profile, with overrides and corruptions",
    properties: {
      as: {
        "$ref": "#/definitions/name"
      },
      kind: {
        enum: [
          "msk",
          "mtk",
          "trigger"
        ]
      },
      v: {
        type: "boolean"
      },
      counter: {
        description: "TS COUNTER: next (greater than any sent), same-as:<ref>, minus-one:<ref>, plus:<n> (jump), or a number",
        oneOf: [
          {
            type: "integer",
            minimum: 0,
            maximum: 4294967295
          },
          {
            type: "string",
            pattern: "^(next|same-as:[A-Za-z][A-Za-z0-9_-]*|minus-one:[A-Za-z][A-Za-z0-9_-]*|plus:[0-9]+)$"
          }
        ]
      },
      key: {
        enum: [
          "muk",
          "old-muk",
          "random",
          "msk",
          "deleted-msk"
        ],
        description: "which key protects the message"
      },
      msk: {
        "$ref": "#/definitions/ref",
        description: "kind mtk: the MSK message whose MSK protects it"
      },
      keyIds: {
        type: "string",
        pattern: "^(next|current|zero|unknown-domain|unknown-msk|same-as:[A-Za-z][A-Za-z0-9_-]*)$"
      },
      mtkId: {
        type: "string",
        pattern: "^(next|same-as:[A-Za-z][A-Za-z0-9_-]*|lower-than:[A-Za-z][A-Za-z0-9_-]*)$"
      },
      replay: {
        "$ref": "#/definitions/ref",
        description: "re-send the bytes of this earlier message unchanged"
      },
      corrupt: {
        enum: [...MIKEY_CORRUPTIONS],
        default: "none"
      },
      to: {
        enum: [
          "mikey-port",
          "bearer"
        ],
        default: "mikey-port"
      }
    }
  },
});

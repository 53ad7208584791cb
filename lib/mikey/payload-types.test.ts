// The message types are derived from the payload table (payloads.ts, StructValue): these assertions are
// checked by the compiler (lib/typecheck.test.ts runs tsc over the project), and the runtime half holds every
// property of a decoded message to a field of the table.
import { test, expect } from '@playwright/test';
import {
  decodeKeyData, decodeMikey, encodeKeyData, encodeMikey, hdrDef, keyDataDef, payloadSpecByType, payloadSpecs,
  type Hdr, type KemacPayload, type KeyData, type Payload, type PayloadTypeName, type TPayload,
} from './index.ts';
import type { StructDef } from './fields.ts';

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false;
const holds = <T extends true>(): T => true as T;

// the names, required fields and optional fields the table gives
holds<Equal<PayloadTypeName, 'EXT' | 'T' | 'RAND' | 'ID' | 'SP' | 'KEMAC' | 'V' | 'ERR'>>();
holds<Equal<Payload['type'], PayloadTypeName>>();
holds<Equal<keyof TPayload, 'type' | 'next' | 'tsType' | 'tsValue' | 'offset'>>();
holds<Equal<TPayload['tsValue'], bigint>>();
holds<Equal<Hdr['v'], boolean | undefined>>();
holds<Equal<Hdr['csbId'], number>>();
holds<Equal<KemacPayload['mac'], Buffer | undefined>>();
holds<Equal<KemacPayload['encrData'], Buffer>>();
holds<Equal<KeyData['salt'], Buffer | undefined>>();
holds<Equal<KeyData['kdType'], number>>();

/** Names a struct of the table gives its value: its fields, a bit field's parts instead of the field. */
function tableNames(def: StructDef): string[] {
  return def.fields.flatMap((f) => (f.kind.t === 'bits' ? f.kind.parts.map((p) => p.name) : [f.name]));
}

test('every property of a decoded message is a field of the table (and the registry covers every payload)', () => {
  expect(Object.keys(payloadSpecByType).sort()).toEqual(payloadSpecs.map((s) => s.type).sort());
  const bytes = encodeMikey({
    hdr: { dataType: 0, v: true, csbId: 1 },
    payloads: [
      { type: 'EXT', extType: 3, keyIds: [{ idType: 0, value: Buffer.from([1, 2, 3]) }] }, { type: 'T', tsType: 2, tsValue: 5n },
      { type: 'RAND', rand: Buffer.alloc(16) }, { type: 'ID', id: Buffer.from('x') }, { type: 'SP', policyNo: 0, params: [] },
      { type: 'ERR', errorNo: 1 }, { type: 'V', authAlg: 0, mac: Buffer.alloc(0) },
      { type: 'KEMAC', encrAlg: 0, macAlg: 0, encrData: encodeKeyData([{ kdType: 1, key: Buffer.alloc(16), salt: Buffer.alloc(14) }]) },
    ],
  });
  const m = decodeMikey(bytes);
  const allowed = (def: StructDef, extra: string[]) => new Set([...tableNames(def), ...extra]);
  for (const k of Object.keys(m.hdr)) expect(allowed(hdrDef, ['offset']).has(k), `HDR.${k}`).toBe(true);
  for (const p of m.payloads) {
    for (const k of Object.keys(p)) expect(allowed(payloadSpecByType[p.type], ['type', 'offset']).has(k), `${p.type}.${k}`).toBe(true);
  }
  const kemac = m.payloads.find((p) => p.type === 'KEMAC')!;
  for (const k of Object.keys(decodeKeyData(kemac.encrData)[0]!)) expect(allowed(keyDataDef, ['offset']).has(k), `key data ${k}`).toBe(true);
});

// Property tests (fast-check): encodings round-trip for every valid input, in both body layouts.
import { test, expect } from '@playwright/test';
import fc from 'fast-check';
import {
  buildMskRequestBody, buildMskResponseBody, defaultProfile, keyDomainIdFromPlmn, mskId, parseMskId, parseMskRequestBody,
  parseMskResponseBody, plmnFromKeyDomainId, type MbmsProfile,
} from './index.ts';

const digits = (n: number) => fc.array(fc.integer({ min: 0, max: 9 }), { minLength: n, maxLength: n }).map((d) => d.join(''));
const domain = fc.uint8Array({ minLength: 3, maxLength: 3 }).map((b) => Buffer.from(b));
const uint32 = fc.integer({ min: 0, max: 0xffffffff });

function profiles(): MbmsProfile[] {
  const wrapped = defaultProfile();
  wrapped.xml = { ...wrapped.xml, entryElement: 'key', idEncoding: 'hex', requestNamespace: 'urn:example:req' };
  return [defaultProfile(), wrapped];
}

test('PLMN <-> Key Domain ID round-trips for every 3-digit MCC and 2/3-digit MNC', () => {
  fc.assert(fc.property(digits(3), fc.oneof(digits(2), digits(3)), (mcc, mnc) => {
    expect(plmnFromKeyDomainId(keyDomainIdFromPlmn(mcc, mnc))).toEqual({ mcc, mnc });
  }));
});

test('MSK ID <-> (group, number) round-trips', () => {
  fc.assert(fc.property(uint32, (id) => {
    const { group, number } = parseMskId(id);
    expect(mskId(group, number)).toBe(id);
  }));
});

test('request and response bodies round-trip in the flat and the wrapped layout', () => {
  for (const profile of profiles()) {
    fc.assert(fc.property(fc.array(fc.record({ keyDomainId: domain, mskId: uint32 }), { minLength: 1, maxLength: 8 }), (keys) => {
      expect(parseMskRequestBody(buildMskRequestBody(keys, profile), profile)).toEqual(keys);
    }));
    fc.assert(fc.property(fc.array(fc.record({ mskId: uint32, status: fc.integer({ min: 0, max: 999 }) }), { maxLength: 8 }), (entries) => {
      expect(parseMskResponseBody(buildMskResponseBody(entries, profile), profile)).toEqual(entries);
    }));
  }
});

test('arbitrary text never crashes the body parsers: it parses or throws ERR_MBMS_BODY', () => {
  const profile = defaultProfile();
  fc.assert(fc.property(fc.string({ maxLength: 200 }), (text) => {
    for (const parse of [parseMskRequestBody, parseMskResponseBody]) {
      try { parse(text, profile); } catch (error) { expect((error as { code?: string }).code).toBe('ERR_MBMS_BODY'); }
    }
  }));
});

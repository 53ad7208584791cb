import { test, expect } from '@playwright/test';
import { createHash } from 'node:crypto';
import {
  buildMskRequestBody, parseMskRequestBody, buildMskResponseBody, parseMskResponseBody, statusMeaning,
  defaultProfile, keyDomainIdFromPlmn, mskId, MbmsBodyError, type MbmsProfile,
} from './index.ts';

// Protocol §8.2, exact bytes incl. the final LF.
const REQUEST_8_2 = '<?xml version="1.0" encoding="UTF-8"?>\n<mskRequest><keyDomainID>APEQ</keyDomainID><mskID>AAEAAQ==</mskID></mskRequest>\n';
const RESPONSE_8_2 = '<?xml version="1.0" encoding="UTF-8"?>\n<mskResponse><mskID>AAEAAQ==</mskID><status>200</status></mskResponse>\n';
const md5 = (s: string): string => createHash('md5').update(s).digest('hex');

test.describe('MSK request/response bodies (protocol §2.3, §2.4, §8.2)', () => {
  const profile = defaultProfile();
  const domain = keyDomainIdFromPlmn('001', '01');

  test('request body of §8.2 byte for byte (119 octets, H = 007b52df...)', () => {
    const body = buildMskRequestBody([{ keyDomainId: domain, mskId: mskId(1, 1) }], profile);
    expect(Buffer.byteLength(body)).toBe(119);
    expect(body).toBe(REQUEST_8_2);
    expect(md5(body)).toBe('007b52dfae88bdd361f0514ff5d3ed89');
  });

  test('response body of §8.2 byte for byte (110 octets, H = b82d23c4...)', () => {
    const body = buildMskResponseBody([{ mskId: mskId(1, 1), status: 200 }], profile);
    expect(Buffer.byteLength(body)).toBe(110);
    expect(body).toBe(RESPONSE_8_2);
    expect(md5(body)).toBe('b82d23c4c4d59113273b30a32aaf637a');
  });

  test('§8.2 bodies parse to their entries', () => {
    expect(parseMskRequestBody(REQUEST_8_2, profile)).toEqual([{ keyDomainId: Buffer.from('00f110', 'hex'), mskId: 0x00010001 }]);
    expect(parseMskResponseBody(Buffer.from(RESPONSE_8_2), profile)).toEqual([{ mskId: 0x00010001, status: 200 }]);
  });

  test('flat layout: one keyDomainID per run of the same domain, order kept', () => {
    const other = keyDomainIdFromPlmn('262', '01');
    const keys = [
      { keyDomainId: domain, mskId: mskId(1, 1) }, { keyDomainId: domain, mskId: mskId(2, 5) },
      { keyDomainId: other, mskId: mskId(1, 9) },
    ];
    const body = buildMskRequestBody(keys, profile);
    expect(body.match(/<keyDomainID>/g)).toHaveLength(2);
    expect(body).toContain('<keyDomainID>YvIQ</keyDomainID><mskID>AAEACQ==</mskID>');
    expect(parseMskRequestBody(body, profile)).toEqual(keys);
  });

  test('profile O3 element names, namespace, entry wrapper and hex IDs are honoured', () => {
    const custom: MbmsProfile = defaultProfile();
    custom.xml = { ...custom.xml, requestRoot: 'req', requestNamespace: 'urn:3GPP:metadata:2005:MBMS:mskRequest', responseRoot: 'resp',
      responseNamespace: 'urn:3GPP:metadata:2005:MBMS:mskResponse', keyDomainIdElement: 'kd', mskIdElement: 'msk', statusElement: 'st',
      entryElement: 'key', idEncoding: 'hex', xmlDeclaration: false, finalNewline: false };
    const req = buildMskRequestBody([{ keyDomainId: domain, mskId: 0x0001000a }], custom);
    expect(req).toBe('<req xmlns="urn:3GPP:metadata:2005:MBMS:mskRequest"><key><kd>00f110</kd><msk>0001000a</msk></key></req>');
    expect(parseMskRequestBody(req, custom)).toEqual([{ keyDomainId: domain, mskId: 0x0001000a }]);
    const resp = buildMskResponseBody([{ mskId: 0x0001000a, status: 404 }, { mskId: 2, status: 200 }], custom);
    expect(resp).toBe('<resp xmlns="urn:3GPP:metadata:2005:MBMS:mskResponse"><key><msk>0001000a</msk><st>404</st></key><key><msk>00000002</msk><st>200</st></key></resp>');
    expect(parseMskResponseBody(resp, custom)).toEqual([{ mskId: 0x0001000a, status: 404 }, { mskId: 2, status: 200 }]);
    // The default-profile parser must refuse the custom shape.
    expect(() => parseMskRequestBody(req, profile)).toThrow(MbmsBodyError);
  });

  test('whitespace and indentation between elements are accepted', () => {
    const pretty = '<?xml version="1.0"?>\n<mskRequest>\n  <keyDomainID> APEQ </keyDomainID>\n  <mskID>AAEAAQ==</mskID>\n</mskRequest>\n';
    expect(parseMskRequestBody(pretty, profile)).toEqual([{ keyDomainId: domain, mskId: 0x00010001 }]);
  });

  const badRequests: Array<[string, string, RegExp]> = [
    ['malformed XML', '<mskRequest><keyDomainID>APEQ</keyDomainID>', /not well-formed/],
    ['not XML at all', 'hello', /not well-formed/],
    ['empty body', '', /not well-formed/],
    ['wrong root', '<mskResponse><mskID>AAEAAQ==</mskID></mskResponse>', /root element must be <mskRequest>/],
    ['two roots', '<mskRequest/><mskRequest/>', /one root element/],
    ['unexpected namespace', '<mskRequest xmlns="urn:x"><keyDomainID>APEQ</keyDomainID><mskID>AAEAAQ==</mskID></mskRequest>', /namespace/],
    ['mskID without domain', '<mskRequest><mskID>AAEAAQ==</mskID></mskRequest>', /without a preceding <keyDomainID>/],
    ['no MSK requested', '<mskRequest><keyDomainID>APEQ</keyDomainID></mskRequest>', /requests no MSK/],
    ['bad base64', '<mskRequest><keyDomainID>AP*Q</keyDomainID><mskID>AAEAAQ==</mskID></mskRequest>', /not base64/],
    ['domain of 4 octets', '<mskRequest><keyDomainID>APEQAA==</keyDomainID><mskID>AAEAAQ==</mskID></mskRequest>', /3 octets, got 4/],
    ['MSK ID of 3 octets', '<mskRequest><keyDomainID>APEQ</keyDomainID><mskID>AAEA</mskID></mskRequest>', /4 octets, got 3/],
    ['unknown element', '<mskRequest><keyDomainID>APEQ</keyDomainID><foo/><mskID>AAEAAQ==</mskID></mskRequest>', /unexpected element <foo>/],
    ['stray text', '<mskRequest>junk<keyDomainID>APEQ</keyDomainID><mskID>AAEAAQ==</mskID></mskRequest>', /unexpected text/],
    ['nested element in ID', '<mskRequest><keyDomainID><b>APEQ</b></keyDomainID><mskID>AAEAAQ==</mskID></mskRequest>', /text only/],
  ];
  for (const [name, body, reason] of badRequests) {
    test(`request rejected with ERR_MBMS_BODY: ${name}`, () => {
      let caught: unknown;
      try { parseMskRequestBody(body, profile); } catch (error) { caught = error; }
      expect(caught).toBeInstanceOf(MbmsBodyError);
      expect((caught as MbmsBodyError).code).toBe('ERR_MBMS_BODY');
      expect((caught as MbmsBodyError).message).toMatch(reason);
    });
  }

  const badResponses: Array<[string, string, RegExp]> = [
    ['status without mskID', '<mskResponse><status>200</status></mskResponse>', /without a preceding <mskID>/],
    ['mskID without status', '<mskResponse><mskID>AAEAAQ==</mskID></mskResponse>', /without <status>/],
    ['two mskIDs in a row', '<mskResponse><mskID>AAEAAQ==</mskID><mskID>AAEAAQ==</mskID><status>200</status></mskResponse>', /without <status>/],
    ['non-numeric status', '<mskResponse><mskID>AAEAAQ==</mskID><status>ok</status></mskResponse>', /must be a number/],
    ['bad MSK ID length', '<mskResponse><mskID>AAE=</mskID><status>200</status></mskResponse>', /4 octets, got 2/],
  ];
  for (const [name, body, reason] of badResponses) {
    test(`response rejected with ERR_MBMS_BODY: ${name}`, () => {
      expect(() => parseMskResponseBody(body, profile)).toThrow(reason);
      expect(() => parseMskResponseBody(body, profile)).toThrow(MbmsBodyError);
    });
  }

  test('XML special characters cannot be injected through names or values', () => {
    // The builder escapes text; a body parsed back has exactly the entries built.
    const body = buildMskResponseBody([{ mskId: 0xffffffff, status: 404 }], profile);
    expect(parseMskResponseBody(body, profile)).toEqual([{ mskId: 0xffffffff, status: 404 }]);
    expect(() => buildMskRequestBody([{ keyDomainId: Buffer.alloc(2), mskId: 1 }], profile)).toThrow(MbmsBodyError);
  });

  test('O4 status meanings come from the profile table', () => {
    expect(statusMeaning(200, profile)).toBe('success');
    expect(statusMeaning(404, profile)).toBe('unknownMsk');
    expect(statusMeaning(299, profile)).toBeUndefined();
  });
});

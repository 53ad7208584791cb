// Parser robustness (RFC 7235 §2.1, RFC 7230 §3.2.6, RFC 7616 §3.3-3.5) and round trips.
import { test, expect } from '@playwright/test';
import fc from 'fast-check';
import {
  DigestParseError,
  formatAuthenticationInfo,
  formatChallenge,
  formatCredentials,
  parseAuthChallenges,
  parseAuthenticationInfo,
  parseChallenges,
  parseCredentials,
} from './index.ts';
import type { AuthenticationInfo, DigestChallenge, DigestCredentials } from './index.ts';

function parseError(fn: () => unknown): DigestParseError {
  try {
    fn();
  } catch (err) {
    if (err instanceof DigestParseError) return err;
    throw err;
  }
  throw new Error('expected a DigestParseError');
}

test('RFC 7616 §3.9.1 challenge text, with two Digest challenges', () => {
  const header =
    'Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=SHA-256, ' +
    'nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS", ' +
    'Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=MD5, ' +
    'nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"';
  const cs = parseChallenges(header);
  expect(cs).toHaveLength(2);
  expect(cs[0]).toEqual({
    realm: 'http-auth@example.org',
    qop: ['auth', 'auth-int'],
    algorithm: 'SHA-256',
    nonce: '7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v',
    opaque: 'FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS',
    extra: {},
  });
  expect(cs[1]!.algorithm).toBe('MD5');
});

test('other schemes around Digest, token68 and bare schemes', () => {
  const header = 'Basic realm="simple", Newauth realm="apps", type=1, title="Login to \\"apps\\"", Negotiate YII=, Digest realm="r", nonce="n", Bearer';
  const all = parseAuthChallenges(header);
  expect(all.map((c) => c.scheme)).toEqual(['Basic', 'Newauth', 'Negotiate', 'Digest', 'Bearer']);
  expect(all[1]!.params.map((p) => [p.name, p.value])).toEqual([
    ['realm', 'apps'],
    ['type', '1'],
    ['title', 'Login to "apps"'],
  ]);
  expect(all[2]!.token68).toBe('YII=');
  expect(parseChallenges(header)).toEqual([{ realm: 'r', nonce: 'n', extra: {} }]);
  expect(parseChallenges('Basic realm="x"')).toEqual([]);
});

test('escapes, commas and equals inside quotes', () => {
  const [c] = parseChallenges('Digest realm="a\\\\b\\"c, d=e", nonce="x,y=z", opaque="\\q"');
  expect(c).toMatchObject({ realm: 'a\\b"c, d=e', nonce: 'x,y=z', opaque: 'q' });
  const cred = parseCredentials('Digest username="Mu\\"fa,sa", realm="r", nonce="n", uri="/a?x=1,2&y=\\"", response="abc"');
  expect(cred.username).toBe('Mu"fa,sa');
  expect(cred.uri).toBe('/a?x=1,2&y="');
});

test('case of scheme and directive names, whitespace and empty list elements', () => {
  const cs = parseChallenges('  ,DIGEST   REALM = "r" ,,\t NoNcE="n"\t, QoP="auth-int ,auth", ALGORITHM=md5-SESS, STALE=TRUE, , ');
  expect(cs).toEqual([{ realm: 'r', nonce: 'n', qop: ['auth-int', 'auth'], algorithm: 'md5-SESS', stale: true, extra: {} }]);
  const cred = parseCredentials('dIgEsT  Username="u",REALM="r",Nonce="n",URI="/",Response="x",QOP=auth,NC=0000000a,CNONCE="c"');
  expect(cred).toMatchObject({ username: 'u', qop: 'auth', nc: '0000000a', cnonce: 'c' });
  // Obsolete line folding as in the RFC 2617 §3.5 example.
  expect(parseCredentials('Digest username="u",\r\n realm="r",\r\n\tnonce="n", uri="/", response="x"').realm).toBe('r');
});

test('stale and userhash: "true" case-insensitive, anything else false (RFC 7616 §3.3)', () => {
  expect(parseChallenges('Digest realm="r", nonce="n", stale=True')[0]!.stale).toBe(true);
  expect(parseChallenges('Digest realm="r", nonce="n", stale="true"')[0]!.stale).toBe(true);
  expect(parseChallenges('Digest realm="r", nonce="n", stale=yes')[0]!.stale).toBe(false);
  expect(parseChallenges('Digest realm="r", nonce="n", userhash=TRUE, charset=UTF-8, domain="/a  /b http://h/c"')[0]).toMatchObject({
    userhash: true,
    charset: 'UTF-8',
    domain: ['/a', '/b', 'http://h/c'],
  });
});

test('unknown directives are kept', () => {
  expect(parseChallenges('Digest realm="r", nonce="n", x-vendor="a b", other=tok')[0]!.extra).toEqual({ 'x-vendor': 'a b', other: 'tok' });
  expect(parseCredentials('Digest username="u", realm="r", nonce="n", uri="/", response="x", auts="abc"').extra).toEqual({ auts: 'abc' });
  expect(parseAuthenticationInfo('rspauth="a", foo=bar').extra).toEqual({ foo: 'bar' });
});

test('malformed input names position and directive', () => {
  let e = parseError(() => parseChallenges('Digest realm="r, nonce="n'));
  expect(e).toMatchObject({ code: 'ERR_DIGEST_PARSE' });
  e = parseError(() => parseChallenges('Digest realm="unterminated'));
  expect(e).toMatchObject({ directive: 'realm', position: 13 });
  expect(e.message).toContain('unterminated');
  e = parseError(() => parseChallenges('Digest realm="r", nonce='));
  expect(e).toMatchObject({ directive: 'nonce', position: 24 });
  e = parseError(() => parseChallenges('Digest realm="r" nonce="n"'));
  expect(e).toMatchObject({ directive: 'realm', position: 17 });
  e = parseError(() => parseChallenges('Digest realm="r", realm="s", nonce="n"'));
  expect(e).toMatchObject({ directive: 'realm', position: 18 });
  e = parseError(() => parseChallenges('Digest nonce="n"'));
  expect(e).toMatchObject({ directive: 'realm' });
  e = parseError(() => parseCredentials('Digest username="u", realm="r", nonce="n", response="x"'));
  expect(e).toMatchObject({ directive: 'uri' });
  e = parseError(() => parseCredentials('Basic dTpw'));
  expect(e.message).toContain('Basic');
  e = parseError(() => parseCredentials('Digest username="u", =x'));
  expect(e.position).toBe(21);
  e = parseError(() => parseAuthenticationInfo('rspauth="a" "b"'));
  expect(e).toMatchObject({ directive: 'rspauth', position: 12 });
  e = parseError(() => parseChallenges('Digest realm="r\\'));
  expect(e.directive).toBe('realm');
});

test('strict mode enforces RFC 7616 §3.4 quoting', () => {
  const ok = 'Digest username="u", realm="r", nonce="n", uri="/", response="x", qop=auth, nc=00000001, cnonce="c", algorithm=MD5';
  expect(parseCredentials(ok, { strict: true }).qop).toBe('auth');
  expect(parseError(() => parseCredentials(ok.replace('qop=auth', 'qop="auth"'), { strict: true }))).toMatchObject({ directive: 'qop' });
  expect(parseError(() => parseCredentials(ok.replace('nc=00000001', 'nc="00000001"'), { strict: true }))).toMatchObject({ directive: 'nc' });
  expect(parseError(() => parseCredentials(ok.replace('algorithm=MD5', 'algorithm="MD5"'), { strict: true }))).toMatchObject({ directive: 'algorithm' });
  expect(parseError(() => parseCredentials(ok.replace('cnonce="c"', 'cnonce=c'), { strict: true }))).toMatchObject({ directive: 'cnonce' });
  expect(parseError(() => parseCredentials(ok.replace('uri="/"', 'uri=/'), { strict: true }))).toMatchObject({ directive: 'uri' });
  // Lenient by default: peers in the wild quote qop.
  expect(parseCredentials(ok.replace('qop=auth', 'qop="auth"')).qop).toBe('auth');
  expect(parseError(() => parseChallenges('Digest realm=r, nonce="n"', { strict: true }))).toMatchObject({ directive: 'realm' });
  expect(parseError(() => parseAuthenticationInfo('rspauth=abc', { strict: true }))).toMatchObject({ directive: 'rspauth' });
});

test('format uses RFC 7616 quoting: qop/nc/algorithm bare in credentials, escapes in quoted strings', () => {
  const cred: DigestCredentials = {
    username: 'Mu"fa\\sa',
    realm: 'r',
    nonce: 'n',
    uri: '/a?b,c',
    response: 'abc',
    algorithm: 'SHA-256',
    qop: 'auth-int',
    nc: '00000001',
    cnonce: 'c',
    opaque: 'o',
    extra: {},
  };
  expect(formatCredentials(cred)).toBe(
    'Digest username="Mu\\"fa\\\\sa", realm="r", nonce="n", uri="/a?b,c", algorithm=SHA-256, qop=auth-int, nc=00000001, cnonce="c", response="abc", opaque="o"',
  );
  expect(formatChallenge({ realm: 'r', nonce: 'n', qop: ['auth', 'auth-int'], stale: true, algorithm: 'MD5', extra: {} })).toBe(
    'Digest realm="r", qop="auth, auth-int", nonce="n", algorithm=MD5, stale=true',
  );
  expect(formatAuthenticationInfo({ qop: 'auth', rspauth: 'x', cnonce: 'c', nc: '00000002', nextnonce: 'nn' })).toBe(
    'nextnonce="nn", qop=auth, rspauth="x", cnonce="c", nc=00000002',
  );
});

// ---- property round trips ----------------------------------------------------------------------

const text = fc.string({ unit: fc.constantFrom(...' !"#$%&\'()*+,-./09:;<=>?@AZ[\\]^_`az{|}~\t'.split('')), maxLength: 24 });
const nonEmptyTokenish = fc.string({ unit: fc.constantFrom(...'abcXYZ019-._~+/='.split('')), minLength: 1, maxLength: 16 });
const tokenName = fc
  .string({ unit: fc.constantFrom(...'abcxyz-_'.split('')), minLength: 1, maxLength: 8 })
  .map((s) => `x${s}`);
const extra = fc.dictionary(tokenName, text, { maxKeys: 3 });
const algorithm = fc.constantFrom('MD5', 'MD5-sess', 'SHA-256', 'SHA-256-sess', 'SHA-512-256', 'SHA-512-256-sess');
const qopItem = fc.constantFrom('auth', 'auth-int');
const uriSegment = fc.string({ unit: fc.constantFrom(...'abc/?=&,;%'.split('')), minLength: 1, maxLength: 12 });

const challengeArb: fc.Arbitrary<DigestChallenge> = fc.record(
  {
    realm: text,
    nonce: text,
    opaque: text,
    qop: fc.array(qopItem, { minLength: 1, maxLength: 2 }),
    algorithm,
    stale: fc.boolean(),
    domain: fc.array(uriSegment, { minLength: 1, maxLength: 3 }),
    charset: fc.constant('UTF-8'),
    userhash: fc.boolean(),
    extra,
  },
  { requiredKeys: ['realm', 'nonce', 'extra'] },
);

const credentialsArb: fc.Arbitrary<DigestCredentials> = fc.record(
  {
    username: text,
    realm: text,
    nonce: text,
    uri: text,
    response: fc.stringMatching(/^[0-9a-f]{32}$/),
    algorithm,
    cnonce: text,
    opaque: text,
    qop: qopItem,
    nc: fc.stringMatching(/^[0-9a-f]{8}$/),
    userhash: fc.boolean(),
    extra,
  },
  { requiredKeys: ['username', 'realm', 'nonce', 'uri', 'response', 'extra'] },
);

const infoArb: fc.Arbitrary<AuthenticationInfo> = fc.record(
  { qop: qopItem, rspauth: text, cnonce: text, nc: fc.stringMatching(/^[0-9a-f]{8}$/), nextnonce: text, extra },
  { requiredKeys: ['extra'] },
);

test('property: parseChallenges(formatChallenge(c)) == c, also among other schemes', () => {
  fc.assert(
    fc.property(challengeArb, challengeArb, (a, b) => {
      expect(parseChallenges(formatChallenge(a))).toEqual([a]);
      expect(parseChallenges(`Basic realm="x, y", ${formatChallenge(a)}, Negotiate abc=, ${formatChallenge(b)}`)).toEqual([a, b]);
    }),
    { numRuns: 300 },
  );
});

test('property: parseCredentials(formatCredentials(c)) == c', () => {
  fc.assert(
    fc.property(credentialsArb, (c) => {
      expect(parseCredentials(formatCredentials(c))).toEqual(c);
      expect(parseCredentials(formatCredentials(c), { strict: true })).toEqual(c);
    }),
    { numRuns: 300 },
  );
});

test('property: parseAuthenticationInfo(formatAuthenticationInfo(i)) == i', () => {
  fc.assert(
    fc.property(infoArb, (i) => {
      expect(parseAuthenticationInfo(formatAuthenticationInfo(i))).toEqual(i);
    }),
    { numRuns: 300 },
  );
});

test('property: arbitrary input either parses or throws DigestParseError within bounds', () => {
  const alphabet = fc.constantFrom(...'Digest realm=nonce"\\, \t=abc'.split(''));
  fc.assert(
    fc.property(fc.string({ unit: alphabet, maxLength: 60 }), (s) => {
      for (const parse of [parseChallenges, parseCredentials, parseAuthenticationInfo] as ((v: string) => unknown)[]) {
        try {
          parse(s);
        } catch (err) {
          expect(err).toBeInstanceOf(DigestParseError);
          const e = err as DigestParseError;
          expect(e.position).toBeGreaterThanOrEqual(0);
          expect(e.position).toBeLessThanOrEqual(s.length);
        }
      }
    }),
    { numRuns: 1000 },
  );
});

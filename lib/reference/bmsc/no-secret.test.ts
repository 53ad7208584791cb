// No answer of the reference BM-SC, no log event and no control API answer reveals a secret: the
// expected Digest response, HA1, Ks_NAF (the MUK, TS 33.246 §6.1), the Digest password or an MSK.
// Each refusal path is driven with real HTTP on loopback; for every answer the test computes, with
// lib/digest, what a leaking server would have to show (the expected response of that very request
// under the right password) and looks for it, and for every other secret, in the status line, the
// headers and the body. The reason for a refusal may be logged in words, never with values.
import { test, expect } from '@playwright/test';
import { DigestClient, computeResponse, parseChallenges, parseCredentials } from '../../digest/index.ts';
import { readKeyMessage, mikeyProfile } from '../../mikey/index.ts';
import { buildMskRequestBody, digestPassword, mskId, mskRequestTarget, referenceProfile } from '../../mbms/index.ts';
import { callControlApi } from '../common/index.ts';
import { ReferenceBmsc } from './index.ts';
import { TestUdp, postMsk, type HttpReply } from './test-ue.ts';

const KS_NAF = Buffer.from('5a5b5c5d5e5f606162636465666768696a6b6c6d6e6f707172737475767778797a', 'hex').subarray(0, 32);
const BTID = 'Secret0123456789@bsf.example.com';
const DOMAIN = Buffer.from('00f110', 'hex');
const NAF = 'bmsc.example.com';
const BOUND = 2000;

/** Every form in which a secret could leak, lower-case hex or base64. */
function secretsOf(values: Record<string, string>): [string, string][] {
  return Object.entries(values).filter(([, v]) => v.length >= 8);
}

function answerText(reply: HttpReply): string {
  const headers = [...reply.headers.entries()].map(([k, v]) => `${k}: ${v}`).join('\n');
  return `${reply.status}\n${headers}\n${reply.body.toString('latin1')}`.toLowerCase();
}

test('no refusal, answer, log event or control API answer of the reference BM-SC reveals a secret', async () => {
  const ue = await TestUdp.open();
  const profile = referenceProfile();
  profile.http.nonceTtlMs = 60_000;
  const bmsc = new ReferenceBmsc({
    nafFqdn: NAF, profile, faults: [],
    services: [{ keyDomainId: DOMAIN, keyGroup: 1 }],
    users: [{ btid: BTID, ksNaf: KS_NAF, ueAddress: '127.0.0.1', uePort: ue.endpoint.port, subscriptions: [{ keyDomainId: DOMAIN, keyGroups: [1] }] }],
  });
  const logged: string[] = [];
  for (const name of ['http-response', 'ack-rejected', 'ack-timeout', 'warning'] as const) {
    bmsc.on(name, (e: unknown) => logged.push(JSON.stringify(e, (_k, v: unknown) => (v && typeof v === 'object' && (v as { type?: string }).type === 'Buffer' ? Buffer.from((v as { data: number[] }).data).toString('latin1') : v))));
  }
  await bmsc.start();
  try {
    const http = bmsc.endpoints.http;
    const uri = mskRequestTarget(profile);
    const password = digestPassword(KS_NAF);
    const body = Buffer.from(buildMskRequestBody([{ keyDomainId: DOMAIN, mskId: mskId(1, 1) }], profile), 'utf8');
    const fixed: Record<string, string> = { ksNaf: KS_NAF.toString('hex'), password, passwordHex: Buffer.from(password).toString('hex') };
    const checks: { path: string; reply: HttpReply; secrets: [string, string][] }[] = [];

    /** One request through a fresh challenge, the Authorization made by `authorize`; records what must not leak. */
    const attempt = async (path: string, opts: { clientPassword?: string; faults?: Parameters<DigestClient['authorize']>[2]; contentType?: string; sendBody?: Buffer } = {}) => {
      const challenge = await postMsk(http, profile, { body });
      checks.push({ path: `${path} (challenge)`, reply: challenge, secrets: secretsOf(fixed) });
      const client = new DigestClient({ username: BTID, password: opts.clientPassword ?? password });
      const authorization = client.authorize(challenge.headers.get('www-authenticate')!, { method: 'POST', uri, body }, opts.faults ?? {});
      const reply = await postMsk(http, profile, { body: opts.sendBody ?? body, authorization, ...(opts.contentType ? { contentType: opts.contentType } : {}) });
      // What the server expected for this very request under the right password: the value a leaking
      // server would print to explain its refusal.
      const sent = parseCredentials(authorization);
      const expected = computeResponse({
        algorithm: sent.algorithm, username: BTID, realm: parseChallenges(challenge.headers.get('www-authenticate')!)[0]!.realm, password,
        nonce: sent.nonce, cnonce: sent.cnonce, nc: sent.nc, qop: sent.qop, method: 'POST', uri: sent.uri, body: opts.sendBody ?? body,
      });
      const secrets = secretsOf({ ...fixed, ha1: expected.ha1, ha2: expected.ha2 });
      if (!opts.faults?.response && expected.response !== sent.response) secrets.push(['expected response', expected.response]);
      checks.push({ path, reply, secrets });
      return reply;
    };

    expect((await attempt('wrong password', { clientPassword: digestPassword(Buffer.alloc(32, 7)) })).status).toBe(401);
    expect((await attempt('altered body', { sendBody: Buffer.from('<other/>') })).status).toBe(401);
    expect((await attempt('wrong realm', { faults: { realm: 'other-realm' } })).status).toBe(401);
    expect((await attempt('wrong uri', { faults: { uri: '/keymanagement?requesttype=other' } })).status).toBe(400);
    expect((await attempt('wrong qop', { faults: { qop: 'auth' } })).status).toBe(400);
    expect((await attempt('literal response', { faults: { response: '0'.repeat(32) } })).status).toBe(401);
    expect((await attempt('unknown nonce', { faults: { nonce: 'bm9uY2Utbm90LWlzc3VlZA' } })).status).toBe(401);
    expect((await attempt('wrong media type', { contentType: 'text/plain' })).status).toBe(415);
    const ok = await attempt('success');
    expect(ok.status).toBe(200);

    // The MSK delivered after the 200: no later answer may carry it.
    const msk = readKeyMessage((await ue.next(BOUND)).bytes, { psk: KS_NAF }, mikeyProfile(profile.mikey as never));
    expect(msk.macValid).toBe(true);
    const mskKey = msk.keyData[0]!.key.toString('hex');
    const state = await callControlApi(bmsc.endpoints.control, 'GET', '/state');
    const info = await callControlApi(bmsc.endpoints.control, 'GET', '/info');
    const controlText = JSON.stringify([state.body, info.body]).toLowerCase();

    for (const { path, reply, secrets } of checks) {
      const text = answerText(reply);
      for (const [name, value] of [...secrets, ['msk', mskKey] as [string, string]]) {
        if (path === 'success' && name === 'msk') continue; // (the MIKEY message, not the HTTP answer, carries it encrypted)
        expect(text.includes(value.toLowerCase()), `${path}: the answer reveals the ${name}`).toBe(false);
      }
    }
    const allSecrets = [...new Map(checks.flatMap((c) => c.secrets)).entries(), ['msk', mskKey]] as [string, string][];
    const logText = logged.join('\n').toLowerCase();
    for (const [name, value] of allSecrets) {
      expect(logText.includes(value.toLowerCase()), `a log event reveals the ${name}`).toBe(false);
      expect(controlText.includes(value.toLowerCase()), `a control API answer reveals the ${name}`).toBe(false);
    }
    // The refusal is explained in words in the log.
    expect(logged.some((l) => /does not verify/.test(l))).toBe(true);
  } finally {
    await bmsc.stop();
    await ue.close();
  }
});

test('the Digest client and server explain a refusal without values', () => {
  const client = new DigestClient({ username: 'u', password: 'secret-password' });
  client.accept('Digest realm="r", nonce="n1", qop="auth"');
  const { credentials } = client.authorizeDetailed(undefined, { method: 'POST', uri: '/x' });
  const check = client.verifyAuthenticationInfo(`rspauth="${'0'.repeat(32)}", qop=auth, nc=${credentials.nc}, cnonce="${credentials.cnonce}"`, { responseBody: Buffer.alloc(0) });
  expect(check.valid).toBe(false);
  expect(check.reason).not.toMatch(/[0-9a-f]{32}/);
  expect(check.worksheet).toBeDefined(); // the values stay available to a report that may show them
});

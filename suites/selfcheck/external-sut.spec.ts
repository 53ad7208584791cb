// End-to-end check of the external-SUT path: the reference BM-SC runs as if it were a vendor's box (its own
// process state, control API, fixed configuration), a SUT profile YAML describes it, and the suites reach it
// only through what the profile says (addresses, identities, control-API provisioning and triggers).

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test, expect } from '@playwright/test';
import { stringify } from 'yaml';
import { ReferenceBmsc } from '../../lib/reference/index.ts';
import { headline, loadCases, loadSutProfile, runCase } from '../../lib/suite/index.ts';
import { EMBEDDED_KEY_DOMAIN, embeddedProfile } from '../../fixtures/embedded.ts';

const PICS = fileURLToPath(new URL('../../fixtures/pics/reference-bmsc.yaml', import.meta.url));

test('a BM-SC described by a SUT profile is tested through its control API', async () => {
  test.setTimeout(120_000);
  const profile = embeddedProfile();
  const bmsc = new ReferenceBmsc({
    nafFqdn: 'bmsc.lab.invalid', profile,
    services: [{ keyDomainId: EMBEDDED_KEY_DOMAIN, keyGroup: 1 }, { keyDomainId: EMBEDDED_KEY_DOMAIN, keyGroup: 2 }],
  });
  const ep = await bmsc.start();
  try {
    const dir = mkdtempSync(join(tmpdir(), 'external-sut-'));
    const file = join(dir, 'sut.yaml');
    writeFileSync(file, stringify({
      name: 'reference BM-SC as an external SUT', role: 'bmsc', capabilities: PICS,
      profile: { base: 'reference', overrides: { http: { nonceTtlMs: profile.http.nonceTtlMs } } },
      sut: { nafFqdn: 'bmsc.lab.invalid', http: ep.http, mikey: ep.mikey },
      tester: { address: '127.0.0.1', perWorker: false, mikeyPort: 0 },
      identities: [{ btid: 'lab-1@bsf.lab.invalid', ksNaf: '11'.repeat(32) }],
      keys: { subscribed: [{ keyDomainId: '00f110', mskId: '00010001' }], unsubscribed: [{ keyDomainId: '00f110', mskId: '00020001' }] },
      trigger: { kind: 'control-api', url: `http://${ep.control.address}:${ep.control.port}`, provision: true, timeoutMs: 5000 },
    }));
    const sut = loadSutProfile(file);
    const ids = ['bmsc/6.3.1/03', 'bmsc/6.3.1/05', 'bmsc/6.3.1/08', 'bmsc/6.3.2.1/01', 'bmsc/6.3.3/02', 'bmsc/solicited-pull/02'];
    const cases = loadCases('bmsc').filter((c) => ids.includes(c.id));
    expect(cases.map((c) => c.id)).toEqual(ids);
    const verdicts: Record<string, string> = {};
    // One after the other: the external SUT keeps its state (counters, MSKs) across cases, as a real one does.
    for (const c of cases) {
      const r = await runCase(c, { sut });
      const h = headline(r);
      verdicts[c.id] = r.verdict === 'PASS' ? 'PASS' : `${r.verdict} ${h?.check}: ${h?.message}`;
    }
    expect(verdicts).toEqual(Object.fromEntries(ids.map((id) => [id, 'PASS'])));
  } finally {
    await bmsc.stop();
  }
});

test('an external BM-SC that forgets its counters between cases fails the next case; one that keeps them passes', async () => {
  test.setTimeout(120_000);
  const profile = embeddedProfile();
  const dir = mkdtempSync(join(tmpdir(), 'external-sut-'));
  const services = [{ keyDomainId: EMBEDDED_KEY_DOMAIN, keyGroup: 1 }, { keyDomainId: EMBEDDED_KEY_DOMAIN, keyGroup: 2 }];
  const [push] = loadCases('bmsc').filter((c) => c.id === 'bmsc/6.3.2.1/01');
  for (const keepsState of [false, true]) {
    const stateFile = keepsState ? join(dir, 'bmsc-state.json') : undefined;
    let bmsc = new ReferenceBmsc({ nafFqdn: 'bmsc.lab.invalid', profile, services, ...(stateFile ? { stateFile } : {}) });
    const ep = await bmsc.start();
    const file = join(dir, `sut-${keepsState}.yaml`);
    writeFileSync(file, stringify({
      name: `reference BM-SC (${keepsState ? 'state file' : 'memory only'})`, role: 'bmsc', capabilities: PICS,
      profile: { base: 'reference' },
      sut: { nafFqdn: 'bmsc.lab.invalid', http: ep.http, mikey: ep.mikey },
      identities: [{ btid: 'lab-2@bsf.lab.invalid', ksNaf: '22'.repeat(32) }],
      keys: { subscribed: [{ keyDomainId: '00f110', mskId: '00010001' }], unsubscribed: [] },
      trigger: { kind: 'control-api', url: `http://${ep.control.address}:${ep.control.port}`, provision: true, timeoutMs: 5000 },
    }));
    const sut = loadSutProfile(file);
    try {
      const first = await runCase(push!, { sut });
      expect(first.verdict, headline(first)?.message).toBe('PASS');
      // The "box" restarts on the same ports between two cases of one run.
      await bmsc.stop();
      bmsc = new ReferenceBmsc({ nafFqdn: 'bmsc.lab.invalid', profile, services, http: ep.http, mikey: ep.mikey, control: ep.control, ...(stateFile ? { stateFile } : {}) });
      await bmsc.start();
      const second = await runCase(push!, { sut });
      if (keepsState) {
        expect(second.verdict, headline(second)?.message).toBe('PASS');
      } else {
        expect(second.verdict, JSON.stringify(second.findings.filter((f) => f.verdict !== 'PASS'))).toBe('FAIL');
        expect(headline(second)?.check).toBe('mikey.counter');
        expect(String(headline(second)?.expected)).toMatch(/in bmsc\/6\.3\.2\.1\/01/);
      }
    } finally {
      await bmsc.stop();
    }
  }
});

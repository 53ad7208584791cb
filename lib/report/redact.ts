// Report-safe JSON of protocol data: Buffers as hex, bigints as decimal strings, and secrets
// (Ks_NAF, MUK, MSK, MTK, passwords and HA1, which is password-equivalent for HTTP Digest,
// RFC 2617 §4.13) replaced by a marker unless the profile allows secrets in reports.

export const REDACTED = '[redacted: secrets are not written to reports unless the profile allows it]';

// Field names that carry secrets. `keyId`, `keyIds`, `keyDomainId`, `kdType` are identifiers, not keys.
const SECRET_NAME = /^(password|passwd|secret|ks_?naf|ks_?(int|ext)_?naf|muk|msk|mtk|psk|tgk|tek|salt|ha1|key|keys|keydata|encrkey|authkey|saltkey|plaintext|decrypted)$/i;

export function isSecretName(name: string): boolean {
  return SECRET_NAME.test(name.replace(/[-\s]/g, ''));
}

export interface ReportJsonOptions { allowSecrets?: boolean }

/** Converts a value to plain JSON data fit for a report attachment. */
export function toReportJson(value: unknown, opts: ReportJsonOptions = {}, name = ''): unknown {
  if (!opts.allowSecrets && name && isSecretName(name) && value !== undefined && value !== null) return REDACTED;
  if (Buffer.isBuffer(value) || value instanceof Uint8Array) return Buffer.from(value).toString('hex');
  if (typeof value === 'bigint') return value.toString();
  if (Array.isArray(value)) return value.map((v) => toReportJson(v, opts));
  if (value && typeof value === 'object') {
    const tagged = value as { type?: unknown; data?: unknown };
    // A Buffer that already went through JSON ({ type: 'Buffer', data: [...] }).
    if (tagged.type === 'Buffer' && Array.isArray(tagged.data)) return Buffer.from(tagged.data as number[]).toString('hex');
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = toReportJson(v, opts, k);
    return out;
  }
  return value;
}

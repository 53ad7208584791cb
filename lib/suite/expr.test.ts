import { test, expect } from '@playwright/test';
import { evaluate, isApplicable, namesIn, parseExpression } from './expr.ts';
import { ExpressionError } from './errors.ts';

const caps = {
  'msk-push': true, 'solicited-pull': false, 'mtk-delivery': 'download',
  digest: { stale: true, 'nc-tracking': false, qops: ['auth-int', 'auth'] }, retries: 3,
};

test('names, booleans and dotted paths', () => {
  expect(isApplicable('msk-push', caps)).toBe(true);
  expect(isApplicable('solicited-pull', caps)).toBe(false);
  expect(isApplicable('digest.stale && !digest.nc-tracking', caps)).toBe(true);
  expect(isApplicable('solicited-pull || digest.nc-tracking', caps)).toBe(false);
});

test('comparisons, in and contains', () => {
  expect(isApplicable("mtk-delivery == 'download'", caps)).toBe(true);
  expect(isApplicable("mtk-delivery != 'download'", caps)).toBe(false);
  expect(isApplicable("mtk-delivery in ['streaming', 'download']", caps)).toBe(true);
  expect(isApplicable("digest.qops contains 'auth'", caps)).toBe(true);
  expect(isApplicable("digest.qops contains 'none'", caps)).toBe(false);
  expect(isApplicable('retries >= 3 && retries < 4', caps)).toBe(true);
  expect(isApplicable('!(retries > 2)', caps)).toBe(false);
});

test('precedence: && binds tighter than ||', () => {
  expect(isApplicable('msk-push || solicited-pull && false', caps)).toBe(true);
  expect(isApplicable('(msk-push || solicited-pull) && false', caps)).toBe(false);
});

test('an unknown capability is an error, not false', () => {
  expect(() => isApplicable('no-such-thing', caps)).toThrow(ExpressionError);
  expect(() => isApplicable('digest.nope || true', caps)).toThrow(/does not define 'digest.nope'/);
});

test('syntax errors name the offset', () => {
  for (const bad of ['msk-push &&', '(msk-push', "'open", 'a == == b', 'x $ y', 'in x']) {
    let error: unknown;
    try { parseExpression(bad); } catch (e) { error = e; }
    expect(error, bad).toBeInstanceOf(ExpressionError);
    expect((error as ExpressionError).offset).toBeGreaterThanOrEqual(0);
  }
  expect(() => isApplicable("retries > 'x'", caps)).toThrow(/compares numbers/);
});

test('namesIn lists every capability referenced', () => {
  expect(namesIn(parseExpression("a && (b.c || !d) && e in [f, 'g']")).sort()).toEqual(['a', 'b.c', 'd', 'e', 'f']);
  expect(evaluate(parseExpression('true'), {})).toBe(true);
});

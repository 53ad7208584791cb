// Address text <-> bytes (RFC 4291 2.2 input forms, RFC 5952 4 canonical output) and the checksum.
import { test, expect } from '@playwright/test';
import fc from 'fast-check';
import { addressToBytes, bytesToAddress, internetChecksum, normalizeAddress, PacketBuildError } from './index.ts';
import { referenceChecksum } from './test-helpers.ts';

test('IPv6 text forms to bytes', () => {
  expect(addressToBytes('::').toString('hex')).toBe('0'.repeat(32));
  expect(addressToBytes('::1').toString('hex')).toBe('0'.repeat(31) + '1');
  expect(addressToBytes('2001:DB8::8:800:200C:417A').toString('hex')).toBe('20010db8000000000008080020 0c417a'.replace(' ', ''));
  expect(addressToBytes('ff02::1:ff00:1').toString('hex')).toBe('ff0200000000000000000001ff000001');
  expect(addressToBytes('::13.1.68.3').toString('hex')).toBe('0000000000000000000000000d014403');
  expect(addressToBytes('64:ff9b::192.0.2.33').toString('hex')).toBe('0064ff9b0000000000000000c0000221');
  expect(addressToBytes('fe80::1%eth0').toString('hex')).toBe('fe800000000000000000000000000001');
  expect(addressToBytes('::ffff:10.1.2.3').toString('hex')).toBe('0a010203'); // IPv4-mapped: written as IPv4
  expect(() => addressToBytes('bmsc.example.com')).toThrow(PacketBuildError);
});

test('canonical IPv6 text (RFC 5952 4.2: longest run of zeros compressed, first on ties, not a single group)', () => {
  expect(bytesToAddress(Buffer.from('20010db8000000000001000000000001', 'hex'))).toBe('2001:db8::1:0:0:1');
  expect(bytesToAddress(Buffer.from('20010db8000000010001000100010001', 'hex'))).toBe('2001:db8:0:1:1:1:1:1');
  expect(bytesToAddress(Buffer.from('20010db800000000000100000000000f', 'hex'))).toBe('2001:db8::1:0:0:f');
  expect(bytesToAddress(Buffer.from('00000000000000000000000000000000', 'hex'))).toBe('::');
  expect(bytesToAddress(Buffer.from([192, 0, 2, 1]))).toBe('192.0.2.1');
  expect(normalizeAddress('::FFFF:192.0.2.1')).toBe('192.0.2.1');
});

test('bytes -> text -> bytes round trip for any IPv6 address (property)', () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.array(fc.integer({ min: 0, max: 7 }), { maxLength: 8 }), (raw, zeroGroups) => {
      const bytes = Buffer.from(raw);
      for (const g of zeroGroups) bytes.writeUInt16BE(0, g * 2); // make zero runs likely
      if (bytes.subarray(0, 12).equals(Buffer.from('00000000000000000000ffff', 'hex'))) return; // mapped: becomes IPv4 by design
      expect(addressToBytes(bytesToAddress(bytes)).equals(bytes)).toBe(true);
    }),
    { numRuns: 500 },
  );
});

test('internetChecksum over split parts equals the plain checksum of the joined bytes (odd splits too)', () => {
  fc.assert(
    fc.property(fc.array(fc.uint8Array({ maxLength: 50 }), { maxLength: 6 }), (parts) => {
      const joined = Buffer.concat(parts.map((p) => Buffer.from(p)));
      expect(internetChecksum(parts)).toBe(referenceChecksum(joined));
    }),
    { numRuns: 500 },
  );
});

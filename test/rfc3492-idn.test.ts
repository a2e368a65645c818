// IDN: Punycode (RFC 3492) and UTS #46 (core/idn.ts, re-exported by message/idn.ts): RFC 3492's
// own samples, known conversions and refusals, round trips. Runtime-neutral (it runs in Deno,
// Bun and workerd too). Node's independent UTS #46 is compared in rfc3492-idn-node.test.ts,
// Python's punycode codec in message-python.test.ts.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from './fc.ts';
import { domainToAscii, domainToUnicode, punycodeDecode, punycodeEncode } from '../message/idn.ts';
import { asciiAddress } from '../core/idn.ts';
import { SmtpAddressError, SmtpUsageError } from '../core/errors.ts';

const cps = (...hex: number[]): string => String.fromCodePoint(...hex);
const rejects = (f: () => unknown, re?: RegExp): void => {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof SmtpAddressError && e instanceof SmtpUsageError, `wrong error type: ${String(e)}`);
    if (re) assert.match((e as Error).message, re);
    return;
  }
  assert.unreachable('expected SmtpAddressError');
};

test('punycode: RFC 3492 §7.1 samples', () => {
  const samples: [string, string][] = [
    [
      cps(0x644, 0x64a, 0x647, 0x645, 0x627, 0x628, 0x62a, 0x643, 0x644, 0x645, 0x648, 0x634, 0x639, 0x631, 0x628, 0x64a, 0x61f),
      'egbpdaj6bu4bxfgehfvwxn',
    ],
    [cps(0x4ed6, 0x4eec, 0x4e3a, 0x4ec0, 0x4e48, 0x4e0d, 0x8bf4, 0x4e2d, 0x6587), 'ihqwcrb4cv8a8dqg056pqjye'],
    [cps(0x4ed6, 0x5011, 0x7232, 0x4ec0, 0x9ebd, 0x4e0d, 0x8aaa, 0x4e2d, 0x6587), 'ihqwctvzc91f659drss3x8bo0yb'],
    ['Pro\u010dprost\u011bnemluv\u00ed\u010desky', 'Proprostnemluvesky-uyb24dma41a'],
    [
      cps(
        0x5dc,
        0x5de,
        0x5d4,
        0x5d4,
        0x5dd,
        0x5e4,
        0x5e9,
        0x5d5,
        0x5d8,
        0x5dc,
        0x5d0,
        0x5de,
        0x5d3,
        0x5d1,
        0x5e8,
        0x5d9,
        0x5dd,
        0x5e2,
        0x5d1,
        0x5e8,
        0x5d9,
        0x5ea,
      ),
      '4dbcagdahymbxekheh6e0a7fei0b',
    ],
    ['b\u00fccher', 'bcher-kva'],
  ];
  for (const [u, p] of samples) {
    assert.is(punycodeEncode(u), p, u);
    assert.is(punycodeDecode(p), u, p);
  }
  // Digits are case-insensitive (§5); basic code points keep their case.
  assert.is(punycodeDecode('bcher-KVA'), 'b\u00fccher');
  assert.is(punycodeDecode('BCHER-kva'), 'B\u00fcCHER');
});

test('punycode: invalid input is a typed error', () => {
  rejects(() => punycodeDecode('a-9999999999'), /overflow|invalid code point/);
  rejects(() => punycodeDecode('abc-!'), /digit/);
  rejects(() => punycodeDecode('ab\u00fc-kva'), /non-ASCII/);
  rejects(() => punycodeDecode('bcher-kv'), /truncated|invalid code point/);
});

test('punycode: encode then decode gives back any string (property)', () => {
  fc.assert(
    fc.property(fc.string({ unit: 'binary', maxLength: 40 }), (s) => {
      assert.is(punycodeDecode(punycodeEncode(s)), s);
    }),
    { numRuns: 2000 },
  );
});

test('domainToAscii / domainToUnicode: known conversions', () => {
  assert.is(domainToAscii('B\u00fccher.EXAMPLE'), 'xn--bcher-kva.example');
  assert.is(domainToAscii('fa\u00df.de'), 'xn--fa-hia.de'); // nontransitional: ß stays
  assert.is(domainToAscii('\u1e9e.de'), 'ss.de'); // capital sharp s maps to "ss"
  assert.is(domainToAscii('\u03a3\u03a3.gr'), domainToAscii('\u03c3\u03c3.gr')); // Σ folds to σ, not ς
  assert.is(domainToAscii('\u4f8b\u5b50\u3002\u5e7f\u544a'), 'xn--fsqu00a.xn--4rr70v'); // ideographic full stop
  assert.is(domainToAscii('\u2160.com'), 'i.com'); // ROMAN NUMERAL ONE: NFKC then case
  assert.is(domainToAscii('xn--bcher-kva.example'), 'xn--bcher-kva.example');
  assert.is(domainToAscii('a\u00adb.com'), 'ab.com'); // soft hyphen is ignored
  assert.is(domainToAscii('mail_host.example.com'), 'mail_host.example.com');
  assert.is(domainToUnicode('xn--bcher-kva.Example'), 'b\u00fccher.example');
  assert.is(domainToUnicode('\u4f8b\u5b50\uff0e\u5e7f\u544a'), '\u4f8b\u5b50.\u5e7f\u544a');
  // A virama before ZWJ/ZWNJ (RFC 5892 A.1, A.2); Node agrees (rfc3492-idn-node.test.ts).
  assert.is(domainToAscii('\u0915\u094d\u200c.com'), 'xn--11b6iv14e.com');
  assert.is(asciiAddress('j\u00f6rg@b\u00fccher.de'), undefined);
  assert.is(asciiAddress('a@b\u00fccher.de'), 'a@xn--bcher-kva.de');
  assert.is(asciiAddress('a@ascii.de'), undefined);
});

test('domainToAscii: invalid domains are typed errors that say why', () => {
  rejects(() => domainToAscii(''), /empty/);
  rejects(() => domainToAscii('a..b'), /empty label/);
  rejects(() => domainToAscii('-ab.com'), /hyphen/);
  rejects(() => domainToAscii('ab-.com'), /hyphen/);
  rejects(() => domainToAscii('a b.com'), /not allowed/);
  rejects(() => domainToAscii('a\u0000b.com'), /not allowed/);
  rejects(() => domainToAscii('\u0301a.com'), /combining mark/);
  rejects(() => domainToAscii('a\u200db.com'), /JOINER/);
  rejects(() => domainToAscii('a\u200cb.com'), /NON-JOINER/);
  rejects(() => domainToAscii('xn--a.com'), /not allowed|decodes to ASCII|punycode/);
  rejects(() => domainToAscii('xn--zz-\u00fc.com'), /non-ASCII/);
  rejects(() => domainToAscii('\u05d0a.com'), /right-to-left|left-to-right/); // Hebrew then Latin in one label
  rejects(() => domainToAscii('1\u05d0.com'), /start with a letter/); // RFC 5893 rule 1 (Node lets this one pass)
  rejects(() => domainToAscii(`${'\u00e4'.repeat(60)}.com`), /63 octets/);
  rejects(() => domainToAscii(`${'a.'.repeat(127)}com`), /253/);
  rejects(() => domainToAscii('a\u2024b.com'), /not allowed/); // ONE DOT LEADER would make a new label
  rejects(() => domainToAscii('a\u2488b.com'), /not allowed/); // "1." likewise
});

test.run();

// IDN: Punycode (RFC 3492) and UTS #46 (core/idn.ts, re-exported by message/idn.ts), checked
// against RFC 3492's own samples and, over every code point, against Node's independent UTS #46
// implementation (url.domainToASCII, WHATWG rules). Python's punycode codec is the second
// Punycode oracle, in test/message-python.test.ts.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { domainToASCII as nodeToAscii, domainToUnicode as nodeToUnicode } from 'node:url';
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
    [cps(0x644, 0x64a, 0x647, 0x645, 0x627, 0x628, 0x62a, 0x643, 0x644, 0x645, 0x648, 0x634, 0x639, 0x631, 0x628, 0x64a, 0x61f), 'egbpdaj6bu4bxfgehfvwxn'],
    [cps(0x4ed6, 0x4eec, 0x4e3a, 0x4ec0, 0x4e48, 0x4e0d, 0x8bf4, 0x4e2d, 0x6587), 'ihqwcrb4cv8a8dqg056pqjye'],
    [cps(0x4ed6, 0x5011, 0x7232, 0x4ec0, 0x9ebd, 0x4e0d, 0x8aaa, 0x4e2d, 0x6587), 'ihqwctvzc91f659drss3x8bo0yb'],
    ['Pro\u010dprost\u011bnemluv\u00ed\u010desky', 'Proprostnemluvesky-uyb24dma41a'],
    [cps(0x5dc, 0x5de, 0x5d4, 0x5d4, 0x5dd, 0x5e4, 0x5e9, 0x5d5, 0x5d8, 0x5dc, 0x5d0, 0x5de, 0x5d3, 0x5d1, 0x5e8, 0x5d9, 0x5dd, 0x5e2, 0x5d1, 0x5e8, 0x5d9, 0x5ea), '4dbcagdahymbxekheh6e0a7fei0b'],
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
  fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 40 }), (s) => {
    assert.is(punycodeDecode(punycodeEncode(s)), s);
  }), { numRuns: 2000 });
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
  // A virama before ZWJ/ZWNJ (RFC 5892 A.1, A.2); Node agrees.
  const deva = '\u0915\u094d\u200c.com';
  assert.is(domainToAscii(deva), nodeToAscii(deva));
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

// Labels Node's WHATWG processing and ours both accept: letters of scripts without joining or
// bidi subtleties, digits, inner hyphens, upper case (mapped), and compatibility forms (mapped).
const alphabet = [
  ...'abcdefghijklmnopqrstuvwxyz0123456789ABCXYZ',
  ...'\u00e4\u00f6\u00fc\u00df\u00e9\u00e8\u00e7\u00f1\u00c4\u00d6\u00dc\u00c9',
  ...'\u03b1\u03b2\u03b3\u03c3\u03c2\u03a3\u0391', // Greek, both sigmas and capitals
  ...'\u0430\u0431\u0436\u044f\u0410\u0416', // Cyrillic
  ...'\u4f8b\u5b50\u4e2d\u6587\u3042\u30a2\uac00\ud55c', // CJK, kana, Hangul
  ...'\uff21\uff41\uff11\u2160\u2162\u00bd\u2460\u00aa', // fullwidth, Roman numerals, fractions, circled
  ...'\u0e01\u0e02\u10d0\u0561\u0565', // Thai, Georgian, Armenian
  '\u{1f600}', '\u{1f4e7}', '\u2603', // emoji and symbols (valid in UTS #46, NV8)
];
const label = fc.array(fc.constantFrom(...alphabet), { minLength: 1, maxLength: 12 })
  .map((a) => a.join(''))
  .filter((l) => !/^-|-$/.test(l));
// A last label of digits would be an IPv4 number to the WHATWG parser: end with a name.
const domain = fc.array(label, { minLength: 1, maxLength: 3 }).map((ls) => `${ls.join('.')}.example`);

test('domainToAscii agrees with Node (url.domainToASCII) over generated valid domains (property)', () => {
  fc.assert(fc.property(domain, (d) => {
    const node = nodeToAscii(d);
    assert.ok(node !== '', `Node rejects generated domain ${JSON.stringify(d)}`);
    assert.is(domainToAscii(d), node, JSON.stringify(d));
    assert.is(domainToUnicode(d), nodeToUnicode(node), JSON.stringify(d));
    assert.is(domainToAscii(domainToAscii(d)), node); // A-labels in, the same out
  }), { numRuns: 3000 });
});

// Code points Node's table does not know yet (its IDNA table is older than the Unicode in
// V8's regular expressions, which is where ours comes from): Node rejects them, we map them.
// Each range is a block or part of one that Unicode 16 or 17 added to.
const NEWER_THAN_NODE: [number, number][] = [
  [0x88f, 0x88f], [0x897, 0x897], [0xc5c, 0xc5c], [0xcdc, 0xcdc], [0x1acf, 0x1aeb], [0x1b4e, 0x1b4f], [0x1b7f, 0x1b7f],
  [0x1c89, 0x1c8a], [0x20c1, 0x20c1], [0x2427, 0x2429], [0x2b96, 0x2b96], [0xa7cb, 0xa7dc], [0xa7f1, 0xa7f1],
  [0xfbc3, 0xfbd2], [0xfd90, 0xfd91], [0xfdc8, 0xfdce], [0x105c0, 0x105f3], [0x10940, 0x10959], [0x10d40, 0x10d8f],
  [0x10ec2, 0x10ed8], [0x11380, 0x113e2], [0x116d0, 0x116e3], [0x11b60, 0x11b67], [0x11bc0, 0x11bf9], [0x11db0, 0x11de9],
  [0x11f5a, 0x11f5a], [0x13460, 0x143fa], [0x16100, 0x16139], [0x16d40, 0x16d79], [0x16ea0, 0x16ed3], [0x16ff2, 0x16ff6],
  [0x187f8, 0x187ff], [0x18cff, 0x18cff], [0x18d09, 0x18d1e], [0x18d80, 0x18df2], [0x1cc00, 0x1cef0], [0x1e5d0, 0x1e5ff],
  [0x1e6c0, 0x1e6ff], [0x1f6d8, 0x1f6d8], [0x1f777, 0x1f77a], [0x1f8b2, 0x1f8d8], [0x1fa54, 0x1fa57], [0x1fa89, 0x1fa8f],
  [0x1fabe, 0x1fabe], [0x1fac6, 0x1fac8], [0x1facd, 0x1facd], [0x1fadc, 0x1fadf], [0x1fae9, 0x1faef], [0x1fbcb, 0x1fbfa],
  [0x2b73a, 0x2b73f], [0x2cea2, 0x2cead], [0x2ebf0, 0x2ee5d], [0x323b0, 0x33479],
];
const newer = (cp: number): boolean => NEWER_THAN_NODE.some(([a, b]) => cp >= a && cp <= b);
const RTL_SCRIPT = /[\p{Script=Hebrew}\p{Script=Arabic}\p{Script=Syriac}\p{Script=Thaana}\p{Script=Nko}\p{Script=Samaritan}\p{Script=Mandaic}\p{Script=Adlam}\p{Script=Hanifi_Rohingya}]|[\u{10800}-\u{10fff}\u{1e800}-\u{1efff}]/u;

test('UTS #46 mapping and validity agree with Node for every code point, but for the listed kinds', () => {
  let compared = 0;
  const unexplained: string[] = [];
  const kinds = { std3: 0, rfc5893: 0, newer: 0 };
  for (let cp = 0x80; cp <= 0xe0fff; cp++) {
    if (cp === 0xd800) cp = 0xe000; // surrogates are not characters
    if (cp === 0x40000) cp = 0xe0000; // planes 4..13 are unassigned
    const ch = String.fromCodePoint(cp);
    // A right-to-left character is tried in a right-to-left label, so the Bidi rule can pass.
    const d = `${RTL_SCRIPT.test(ch) ? ch + ch : `a${ch}b`}.com`;
    const node = nodeToAscii(d);
    let ours = '';
    let why = '';
    try {
      ours = domainToAscii(d);
    } catch (e) {
      why = (e as Error).message;
    }
    compared++;
    if (node === ours) continue;
    // 1. STD3 rules: we refuse what maps to ASCII other than letters, digits, '-' and '_'
    //    (a host name in mail cannot hold "(1)" or "a=b"); WHATWG URLs allow it.
    if (ours === '' && node !== '' && /[^a-z0-9_.-]/.test(nodeToUnicode(node).replace(/[^\x00-\x7f]/g, ''))) {
      kinds.std3++;
      continue;
    }
    // 2. A label starting with a digit, a mark or a separator in a right-to-left domain: RFC 5893
    //    rule 1 and UTS #46 §4.1 criterion 5, which Node does not apply to these.
    if (ours === '' && /start with a letter|starts with a combining mark/.test(why)) {
      kinds.rfc5893++;
      continue;
    }
    // 3. Characters newer than Node's IDNA table.
    if (node === '' && ours !== '' && newer(cp)) {
      kinds.newer++;
      continue;
    }
    unexplained.push(`U+${cp.toString(16)} node=${JSON.stringify(node)} ours=${JSON.stringify(ours)} ${why}`);
  }
  assert.ok(compared > 260_000, `compared ${compared}`);
  assert.equal(unexplained.slice(0, 20), [], `${unexplained.length} differences from Node`);
  // The explained kinds stay small: a growing count means a rule drifted.
  assert.ok(kinds.std3 < 400 && kinds.rfc5893 < 100 && kinds.newer < 12000, JSON.stringify(kinds));
});

test.run();

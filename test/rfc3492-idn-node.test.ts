// IDN against Node's independent UTS #46 implementation (url.domainToASCII / domainToUnicode,
// WHATWG rules, ICU/ada tables): generated domains, and every code point. Node only.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from './fc.ts';
import { domainToASCII as nodeToAscii, domainToUnicode as nodeToUnicode } from 'node:url';
import { domainToAscii, domainToUnicode } from '../message/idn.ts';

test('a virama before a joiner: the same as Node', () => {
  const deva = '\u0915\u094d\u200c.com';
  assert.is(domainToAscii(deva), nodeToAscii(deva));
  assert.is(domainToAscii('B\u00fccher.example'), nodeToAscii('B\u00fccher.example'));
  assert.is(domainToAscii('\u4f8b\u5b50.\u5e7f\u544a'), nodeToAscii('\u4f8b\u5b50.\u5e7f\u544a'));
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
  '\u{1f600}',
  '\u{1f4e7}',
  '\u2603', // emoji and symbols (valid in UTS #46, NV8)
  '\u0301',
  '\u0308',
  '\u0327',
  '\u0345', // combining marks: NFC composes them with what precedes
  '\u1100',
  '\u1161',
  '\u11a8', // Hangul jamo: compose into syllables
  '\u00ad',
  '\u200b',
  '\ufe0f', // mapped to nothing
  '\u1e9e',
  '\u0130',
  '\u212a',
  '\ufb01',
  '\u3002', // capital sharp s, dotted I, Kelvin, fi ligature, ideographic stop
];
const label = fc
  .array(fc.constantFrom(...alphabet), { minLength: 1, maxLength: 12 })
  .map((a) => a.join(''))
  // Node does not apply these two rules (see below): keep to labels where they cannot matter.
  .filter(
    (l) =>
      !/^[-\u0301\u0308\u0327\u0345\u00ad\u200b\ufe0f\u3002]|-$|^\u3002|\u3002$|\u3002\u3002|^..--/u.test(l) &&
      !/[-\u00ad\u200b\ufe0f](\u3002|$)|\u3002[-\u0301\u0308\u0327\u0345\u00ad\u200b\ufe0f]/u.test(l),
  );
// A last label of digits would be an IPv4 number to the WHATWG parser: end with a name.
const domain = fc.array(label, { minLength: 1, maxLength: 3 }).map((ls) => `${ls.join('.')}.example`);

test('domainToAscii agrees with Node (url.domainToASCII) over generated valid domains (property)', () => {
  fc.assert(
    fc.property(domain, (d) => {
      const node = nodeToAscii(d);
      assert.ok(node !== '', `Node rejects generated domain ${JSON.stringify(d)}`);
      assert.is(domainToAscii(d), node, JSON.stringify(d));
      assert.is(domainToUnicode(d), nodeToUnicode(node), JSON.stringify(d));
      assert.is(domainToAscii(domainToAscii(d)), node); // A-labels in, the same out
    }),
    { numRuns: 3000 },
  );
});

// Code points Node's table does not know yet (its IDNA table is older than the Unicode in
// V8's regular expressions, which is where ours comes from): Node rejects them, we map them.
// Each range is a block or part of one that Unicode 16 or 17 added to.
const NEWER_THAN_NODE: [number, number][] = [
  [0x88f, 0x88f],
  [0x897, 0x897],
  [0xc5c, 0xc5c],
  [0xcdc, 0xcdc],
  [0x1acf, 0x1aeb],
  [0x1b4e, 0x1b4f],
  [0x1b7f, 0x1b7f],
  [0x1c89, 0x1c8a],
  [0x20c1, 0x20c1],
  [0x2427, 0x2429],
  [0x2b96, 0x2b96],
  [0xa7cb, 0xa7dc],
  [0xa7f1, 0xa7f1],
  [0xfbc3, 0xfbd2],
  [0xfd90, 0xfd91],
  [0xfdc8, 0xfdce],
  [0x105c0, 0x105f3],
  [0x10940, 0x10959],
  [0x10d40, 0x10d8f],
  [0x10ec2, 0x10ed8],
  [0x11380, 0x113e2],
  [0x116d0, 0x116e3],
  [0x11b60, 0x11b67],
  [0x11bc0, 0x11bf9],
  [0x11db0, 0x11de9],
  [0x11f5a, 0x11f5a],
  [0x13460, 0x143fa],
  [0x16100, 0x16139],
  [0x16d40, 0x16d79],
  [0x16ea0, 0x16ed3],
  [0x16ff2, 0x16ff6],
  [0x187f8, 0x187ff],
  [0x18cff, 0x18cff],
  [0x18d09, 0x18d1e],
  [0x18d80, 0x18df2],
  [0x1cc00, 0x1cef0],
  [0x1e5d0, 0x1e5ff],
  [0x1e6c0, 0x1e6ff],
  [0x1f6d8, 0x1f6d8],
  [0x1f777, 0x1f77a],
  [0x1f8b2, 0x1f8d8],
  [0x1fa54, 0x1fa57],
  [0x1fa89, 0x1fa8f],
  [0x1fabe, 0x1fabe],
  [0x1fac6, 0x1fac8],
  [0x1facd, 0x1facd],
  [0x1fadc, 0x1fadf],
  [0x1fae9, 0x1faef],
  [0x1fbcb, 0x1fbfa],
  [0x2b73a, 0x2b73f],
  [0x2cea2, 0x2cead],
  [0x2ebf0, 0x2ee5d],
  [0x323b0, 0x33479],
];
const newer = (cp: number): boolean => NEWER_THAN_NODE.some(([a, b]) => cp >= a && cp <= b);
const RTL_SCRIPT =
  /[\p{Script=Hebrew}\p{Script=Arabic}\p{Script=Syriac}\p{Script=Thaana}\p{Script=Nko}\p{Script=Samaritan}\p{Script=Mandaic}\p{Script=Adlam}\p{Script=Hanifi_Rohingya}]|[\u{10800}-\u{10fff}\u{1e800}-\u{1efff}]/u;

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

test('joiners: ZWJ after every combining mark, and ZWNJ between Arabic and Syriac letters, as Node decides', () => {
  // Viramas Node's combining-class table does not know yet (Unicode 14 to 16).
  const newerViramas = new Set([0x1715, 0x11070, 0x113ce, 0x113cf, 0x113d0, 0x11f41, 0x11f42, 0x1612f]);
  const ok = (d: string): boolean => {
    try {
      domainToAscii(d);
      return true;
    } catch {
      return false;
    }
  };
  let marks = 0;
  const differ: string[] = [];
  for (let cp = 0x300; cp < 0x20000; cp++) {
    const ch = String.fromCodePoint(cp);
    if (!/\p{M}/u.test(ch)) continue;
    marks++;
    const d = `a${ch}\u200d.com`;
    if ((nodeToAscii(d) !== '') !== ok(d) && !newerViramas.has(cp)) differ.push(cp.toString(16));
  }
  assert.ok(marks > 2000);
  assert.equal(differ, []);
  let pairs = 0;
  const letters = [
    ...Array.from({ length: 0x2b }, (_, i) => 0x620 + i),
    ...Array.from({ length: 0x63 }, (_, i) => 0x671 + i),
    ...Array.from({ length: 0x20 }, (_, i) => 0x710 + i),
  ];
  for (const a of letters)
    for (const b of [0x628, 0x627, 0x62f, 0x644, 0x621]) {
      // U+0678 maps to yeh + HIGH HAMZA (U+0674, non-joining): we judge the mapped label, Node does not.
      if (a === 0x678) continue;
      const d = `${String.fromCodePoint(a)}\u200c${String.fromCodePoint(b)}.com`;
      pairs++;
      if ((nodeToAscii(d) !== '') !== ok(d)) differ.push(`${a.toString(16)}+${b.toString(16)}`);
    }
  assert.ok(pairs > 800);
  assert.equal(differ, []);
});

test.run();

// Header encoding and folding (message/header.ts): RFC 2047 encoded-words, RFC 5322 folding,
// and the refusal of anything that could end a header line. The decoded content is checked
// again by Python's email package in test/message-python.test.ts.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from './fc.ts';
import { assertHeaderName, assertNoControls, encodeWords, encodeWordsOnly, foldHeader, unstructuredHeader } from '../message/header.ts';
import { SmtpUsageError } from '../core/errors.ts';

const usage = (e: unknown): boolean => e instanceof SmtpUsageError;
const octets = (s: string): number => new TextEncoder().encode(s).length;
const CONTROLS = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u2028\u2029]|\p{Cs}/u;

// A small RFC 2047 decoder for unstructured text, written from §6.2 for these tests: encoded-words
// are decoded, white space between two adjacent ones dropped.
function decodeUnstructured(value: string): string {
  const toks = value.match(/[ \t]+|[^ \t]+/g) ?? [];
  let out = '';
  let pendingSpace = '';
  let lastEncoded = false;
  let bytes: number[] = [];
  const flush = (): void => {
    if (bytes.length > 0) out += new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(Uint8Array.from(bytes));
    bytes = [];
  };
  for (const t of toks) {
    if (/^[ \t]/.test(t)) {
      pendingSpace += t;
      continue;
    }
    const m = /^=\?UTF-8\?([BQ])\?([^?]*)\?=$/.exec(t);
    if (m) {
      if (!lastEncoded) out += pendingSpace;
      pendingSpace = '';
      const binary =
        m[1] === 'B'
          ? atob(m[2]!)
          : m[2]!.replace(/_/g, ' ').replace(/=([0-9A-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
      for (const c of binary) bytes.push(c.charCodeAt(0));
      lastEncoded = true;
      continue;
    }
    flush();
    out += pendingSpace + t;
    pendingSpace = '';
    lastEncoded = false;
  }
  flush();
  return out + pendingSpace;
}

/** The value of a folded "Name: value\r\n" field, unfolded (RFC 5322 §2.2.3). */
function unfoldField(name: string, field: string): string {
  assert.ok(field.endsWith('\r\n'), 'field ends with CRLF');
  const body = field.slice(0, -2);
  assert.not.ok(/\r(?!\n[ \t])|(?<!\r)\n|\r\n(?![ \t])/.test(body), `a line break that is not a fold: ${JSON.stringify(field)}`);
  const unfolded = body.replace(/\r\n/g, '');
  assert.ok(unfolded.startsWith(`${name}:`), 'starts with the name');
  return unfolded.slice(name.length + 1);
}

const lines = (field: string): string[] => field.slice(0, -2).split('\r\n');

const anyText = fc
  .oneof(
    fc.string({ unit: 'binary', maxLength: 200 }),
    fc.string({
      unit: fc.constantFrom('a', 'B', ' ', '\t', '=', '?', '_', '\u00e9', '\u{1f600}', 'x'.repeat(30), '\u4e2d', '"'),
      maxLength: 60,
    }),
    fc.string({ unit: 'grapheme', maxLength: 120 }),
  )
  .filter((s) => !CONTROLS.test(s));

test('assertNoControls: CR, LF, NUL and other controls are refused; TAB and Unicode are fine', () => {
  for (const bad of ['a\rb', 'a\nb', 'a\0b', 'a\x01b', 'a\x7fb', 'a\u0085b', 'a\u2028b', 'a\ud800b', 'x\r\nBcc: evil@x']) {
    assert.throws(() => assertNoControls(bad, 'subject'), usage, JSON.stringify(bad));
  }
  for (const good of ['a\tb', 'Grüße 😀', '', '=?x?=']) assertNoControls(good, 'subject');
  try {
    assertNoControls('a\r\nb', 'Subject');
  } catch (e) {
    assert.match((e as Error).message, /^Subject contains a control character/);
    assert.not.ok(/[\r\n]/.test((e as Error).message), 'the message shows the controls escaped');
  }
});

test('assertHeaderName: RFC 5322 ftext only', () => {
  for (const ok of ['X-Mailer', 'List-Unsubscribe-Post', 'a', '!#$%&*+-.^_`|~']) assertHeaderName(ok);
  for (const bad of ['', 'X Mailer', 'X:Mailer', 'Ä', 'X\r\nBcc', 'X\t', 'x'.repeat(901)]) {
    assert.throws(() => assertHeaderName(bad), usage, JSON.stringify(bad));
  }
});

test('encodeWords: ASCII stays, non-ASCII runs become encoded-words, "=?" is encoded', () => {
  assert.is(encodeWords('Hello world'), 'Hello world');
  assert.is(encodeWords('caf\u00e9'), '=?UTF-8?B?Y2Fmw6k=?='); // B is one character shorter here
  assert.is(encodeWords('Aufkl\u00e4rungsarbeit'), '=?UTF-8?Q?Aufkl=C3=A4rungsarbeit?='); // Q is shorter here
  assert.is(encodeWords('Gr\u00fc\u00dfe aus K\u00f6ln'), '=?UTF-8?B?R3LDvMOfZQ==?= aus =?UTF-8?B?S8O2bG4=?=');
  // Two words in one run: the space between them is encoded with them.
  assert.is(decodeUnstructured(encodeWords('\u00fc \u00fc')), '\u00fc \u00fc');
  assert.match(encodeWords('a =?utf-8?q?x?= b'), /^a =\?UTF-8\?[QB]\?.*\?= b$/);
  assert.is(encodeWords('Gr\u00fc\u00dfe', { smtpUtf8: true }), 'Gr\u00fc\u00dfe');
  assert.throws(() => encodeWords('a\r\nBcc: x@y'), usage);
  // A character is never cut: a long run of 4-octet emoji is split between code points.
  const emoji = '\u{1f600}'.repeat(40);
  const words = encodeWordsOnly(emoji).split(' ');
  assert.ok(words.length > 1);
  for (const w of words) {
    assert.ok(w.length <= 75, w);
    assert.is(decodeUnstructured(w).length % 2, 0); // whole surrogate pairs only
  }
  assert.is(decodeUnstructured(encodeWordsOnly(emoji)), emoji);
});

test('encodeWordsOnly: phrase context leaves only the RFC 2047 §5 (3) characters unencoded', () => {
  const q = encodeWordsOnly('abcdefghijklmnop.\u00e9', 'phrase');
  assert.is(q, '=?UTF-8?Q?abcdefghijklmnop=2E=C3=A9?=');
  const t = encodeWordsOnly('abcdefghijklmnop.\u00e9', 'text');
  assert.is(t, '=?UTF-8?Q?abcdefghijklmnop.=C3=A9?=');
  fc.assert(
    fc.property(anyText, (name) => {
      for (const w of encodeWordsOnly(name, 'phrase').split(' ')) {
        assert.match(w, /^=\?UTF-8\?(Q\?[A-Za-z0-9!*+\-/=_]*|B\?[A-Za-z0-9+/=]*)\?=$/);
      }
    }),
    { numRuns: 1000 },
  );
});

test('encodeWords: printable ASCII out, words at most 75, decodes back (property)', () => {
  fc.assert(
    fc.property(anyText, (text) => {
      const out = encodeWords(text);
      assert.ok(/^[\x20-\x7e\t]*$/.test(out), `not ASCII: ${JSON.stringify(out)}`);
      for (const w of out.split(/[ \t]+/)) if (w.startsWith('=?UTF-8?')) assert.ok(w.length <= 75, w);
      assert.is(decodeUnstructured(out), text);
    }),
    { numRuns: 3000 },
  );
});

test('foldHeader: known folds', () => {
  assert.is(foldHeader('Subject', 'hi'), 'Subject: hi\r\n');
  assert.is(foldHeader('Subject', ''), 'Subject:\r\n');
  const long = Array.from({ length: 30 }, (_, i) => `word${i}`).join(' ');
  const f = foldHeader('Subject', long);
  assert.ok(lines(f).every((l) => l.length <= 78));
  assert.is(unfoldField('Subject', f), ` ${long}`);
  // Never a fold right after the colon (readers would take the value with a leading space):
  // a long name keeps the first word on its line, over 78 octets if need be.
  const name = `X-${'n'.repeat(74)}`;
  assert.is(foldHeader(name, 'value'), `${name}: value\r\n`);
  assert.is(foldHeader(name, 'value more'), `${name}: value\r\n more\r\n`);
  assert.is(foldHeader('X-A', `  ${'w'.repeat(80)} b`), `X-A:   ${'w'.repeat(80)}\r\n b\r\n`);
  // The first line never exceeds 998 octets: a first word that cannot fit there is refused.
  assert.is(lines(foldHeader('X-Long', 'a'.repeat(990)))[0]!.length, 998);
  assert.throws(() => foldHeader('X-Long', 'a'.repeat(991)), usage);
  // Later words fold onto lines of their own, up to 998 octets.
  assert.is(lines(foldHeader('X-Long', 'b ' + 'a'.repeat(997)))[1]!.length, 998);
  assert.throws(() => foldHeader('X-Long', 'b ' + 'a'.repeat(998)), usage);
  assert.throws(() => foldHeader('Subject', 'a\r\nBcc: evil@example.com'), usage);
  assert.throws(() => foldHeader('Subject', 'a\nb'), usage);
  assert.throws(() => foldHeader('Subject', 'a\0b'), usage);
  assert.throws(() => foldHeader('Bad Name', 'x'), usage);
});

const foldValue = fc
  .oneof(
    fc.string({ unit: fc.constantFrom('a', 'bb', ' ', '\t', 'x'.repeat(70), 'y'.repeat(500), '\u00e9', ',', '"'), maxLength: 80 }),
    fc.string({ unit: 'binary', maxLength: 300 }),
  )
  .filter((s) => !CONTROLS.test(s));

test('foldHeader: only folds, lines never over 998, at most 78 whenever the words allow (property)', () => {
  fc.assert(
    fc.property(fc.stringMatching(/^[A-Za-z][A-Za-z0-9-]{0,60}$/), foldValue, (name, value) => {
      let f: string;
      try {
        f = foldHeader(name, value);
      } catch (e) {
        assert.ok(usage(e));
        // Refused only when some run without white space cannot fit a line (the first, with the
        // leading white space, on the field's own line).
        const first = /^[ \t]*[^ \t]*/.exec(value)![0];
        assert.ok(
          name.length + 2 + octets(first) > 998 ||
            (value.match(/[^ \t]+/g) ?? []).some((w) => octets(w) > 996) ||
            /[ \t]{900,}/.test(value),
          JSON.stringify(value).slice(0, 200),
        );
        return;
      }
      assert.is(unfoldField(name, f), value === '' ? '' : ` ${value}`);
      for (const l of lines(f)) {
        assert.ok(octets(l) <= 998, 'line over 998');
        assert.ok(/[^ \t]/.test(l), 'a line of white space only');
      }
      // The first line holds the value's first word (a value of white space only stays there too).
      if (/[^ \t]/.test(value))
        assert.ok(/[^ \t]/.test(lines(f)[0]!.slice(name.length + 1)), `folded before the first word: ${JSON.stringify(f).slice(0, 200)}`);
      else assert.is(lines(f).length, 1);
      // A continuation line is a fold point, then the word: at worst the whole white-space run
      // before the word goes with it (a fold inside the run leaves the rest on the line before,
      // which may be full). Trailing white space stays on the last line with the last word.
      const words = value.match(/[ \t]*[^ \t]+[ \t]*$|[ \t]*[^ \t]+/g) ?? [];
      const wordsFit = words.every((w) => octets(w) <= 78) && !/[ \t]{20,}/.test(value);
      const firstFits = name.length + 2 + octets(/^[ \t]*[^ \t]*(?:[ \t]*$)?/.exec(value)![0]) <= 78;
      if (wordsFit && firstFits) for (const l of lines(f)) assert.ok(octets(l) <= 78, `line over 78: ${JSON.stringify(l)}`);
    }),
    // A full first line, then a word of 77 octets after two spaces: one line must be 79 octets.
    { numRuns: 3000, examples: [['A--A', `\u00e9${'x'.repeat(70)}  ${'x'.repeat(70)}a\u00e9a\u00e9a`]] },
  );
});

test('unstructuredHeader: any text becomes lines of at most 78 ASCII characters that decode back (property)', () => {
  fc.assert(
    fc.property(anyText, (text) => {
      const f = unstructuredHeader('Subject', text);
      assert.ok(/^[\x20-\x7e\t\r\n]*$/.test(f), 'ASCII only');
      const value = unfoldField('Subject', f);
      assert.is(decodeUnstructured(value === '' ? '' : value.slice(1)), text);
      if (!/[ \t]{20,}/.test(text)) for (const l of lines(f)) assert.ok(l.length <= 78, `line over 78: ${JSON.stringify(l)}`);
      // The value starts on the field's own line (some readers keep the white space otherwise).
      if (/^[^ \t]/.test(text)) assert.is.not(lines(f)[0], 'Subject:', JSON.stringify(f));
    }),
    { numRuns: 3000 },
  );
});

test.run();

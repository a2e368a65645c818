// Internationalised domain names: Punycode (RFC 3492) and UTS #46 processing (nontransitional)
// for turning U-labels into A-labels and back. It lives in the core because MAIL FROM / RCPT TO
// need it when the server lacks SMTPUTF8; message/idn.ts re-exports it for the message layer.
//
// UTS #46 maps each code point with a table derived from NFKC_Casefold. We cannot ship the
// Unicode data files, so the mapping is computed from what every runtime has —
// String.prototype.normalize, toLowerCase/toUpperCase and Unicode property escapes — plus
// short lists for the code points where that derivation and the table differ. The Bidi rule
// (RFC 5893) and the joiner rules (RFC 5892 appendix A) use approximations of Bidi_Class and
// Joining_Type from scripts and general categories; docs/messages.md lists the limits.
// test/rfc3492-idn.test.ts compares the result with Node's (ICU's) UTS #46 over every code point.
import { SmtpAddressError } from './errors.ts';
import { printable } from './text.ts';

// ---- Punycode (RFC 3492 §5, §6) ----------------------------------------------------------------

const BASE = 36;
const TMIN = 1;
const TMAX = 26;
const SKEW = 38;
const DAMP = 700;
const INITIAL_BIAS = 72;
const INITIAL_N = 128;
const MAX_INT = 0x7fffffff; // RFC 3492 §6.4: overflow is an error, not a wrap

function adapt(delta: number, points: number, first: boolean): number {
  delta = first ? Math.floor(delta / DAMP) : delta >> 1;
  delta += Math.floor(delta / points);
  let k = 0;
  while (delta > ((BASE - TMIN) * TMAX) >> 1) {
    delta = Math.floor(delta / (BASE - TMIN));
    k += BASE;
  }
  return k + Math.floor(((BASE - TMIN + 1) * delta) / (delta + SKEW));
}

function threshold(k: number, bias: number): number {
  return k <= bias ? TMIN : k >= bias + TMAX ? TMAX : k - bias;
}

function digitChar(d: number): string {
  return String.fromCharCode(d < 26 ? 0x61 + d : 0x30 + d - 26); // a..z, 0..9
}

function digitValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30 + 26;
  if (c >= 0x41 && c <= 0x5a) return c - 0x41;
  if (c >= 0x61 && c <= 0x7a) return c - 0x61;
  return BASE;
}

/** Punycode of a label (no "xn--" prefix). Throws on overflow. */
export function punycodeEncode(label: string): string {
  const cps = Array.from(label, (c) => c.codePointAt(0)!);
  let out = '';
  for (const c of cps) if (c < 0x80) out += String.fromCharCode(c);
  const basic = out.length;
  let handled = basic;
  if (basic > 0) out += '-';
  let n = INITIAL_N;
  let delta = 0;
  let bias = INITIAL_BIAS;
  while (handled < cps.length) {
    let m = MAX_INT;
    for (const c of cps) if (c >= n && c < m) m = c;
    if (m - n > Math.floor((MAX_INT - delta) / (handled + 1))) throw new SmtpAddressError('punycode overflow: label too long');
    delta += (m - n) * (handled + 1);
    n = m;
    for (const c of cps) {
      if (c < n && ++delta > MAX_INT) throw new SmtpAddressError('punycode overflow: label too long');
      if (c !== n) continue;
      let q = delta;
      for (let k = BASE; ; k += BASE) {
        const t = threshold(k, bias);
        if (q < t) break;
        out += digitChar(t + ((q - t) % (BASE - t)));
        q = Math.floor((q - t) / (BASE - t));
      }
      out += digitChar(q);
      bias = adapt(delta, handled + 1, handled === basic);
      delta = 0;
      handled++;
    }
    delta++;
    n++;
  }
  return out;
}

/** The label a Punycode string stands for. Throws SmtpAddressError when it is not valid Punycode. */
export function punycodeDecode(input: string): string {
  const bad = (why: string): SmtpAddressError => new SmtpAddressError(`invalid punycode "${printable(input)}": ${why}`);
  const out: number[] = [];
  const delim = input.lastIndexOf('-');
  let pos = 0;
  if (delim > 0) {
    for (let j = 0; j < delim; j++) {
      const c = input.charCodeAt(j);
      if (c >= 0x80) throw bad('non-ASCII before the delimiter');
      out.push(c);
    }
    pos = delim + 1;
  }
  let n = INITIAL_N;
  let i = 0;
  let bias = INITIAL_BIAS;
  while (pos < input.length) {
    const oldi = i;
    let w = 1;
    for (let k = BASE; ; k += BASE) {
      if (pos >= input.length) throw bad('truncated');
      const d = digitValue(input.charCodeAt(pos++));
      if (d >= BASE) throw bad('not a base-36 digit');
      if (d > Math.floor((MAX_INT - i) / w)) throw bad('overflow');
      i += d * w;
      const t = threshold(k, bias);
      if (d < t) break;
      if (w > Math.floor(MAX_INT / (BASE - t))) throw bad('overflow');
      w *= BASE - t;
    }
    const len = out.length + 1;
    bias = adapt(i - oldi, len, oldi === 0);
    if (Math.floor(i / len) > MAX_INT - n) throw bad('overflow');
    n += Math.floor(i / len);
    i %= len;
    if (n < 0x80 || n > 0x10ffff || (n >= 0xd800 && n <= 0xdfff)) throw bad('decodes to an invalid code point');
    out.splice(i, 0, n);
    i++;
  }
  return String.fromCodePoint(...out);
}

// ---- UTS #46 mapping (§4 step 1) ----------------------------------------------------------------

/** A pattern made on first use (and the same one from then on). V8 parses a regular expression
 *  when it is created, and the Unicode property classes of DISALLOWED and CURSIVE take ~1.2 ms to
 *  parse: every process that loaded this module paid that at start-up, though only a non-ASCII
 *  domain uses them. */
function onFirstUse(make: () => RegExp): () => RegExp {
  let pattern: RegExp | undefined;
  return () => (pattern ??= make());
}

// Default-ignorable code points the table maps to nothing (the rest of them are disallowed).
const IGNORED = /[\u00ad\u034f\u180b-\u180d\u180f\u200b\u2060\u2064\ufe00-\ufe0f\ufeff\u{1bca0}-\u{1bca3}\u{e0100}-\u{e01ef}]/u;
// Deviations (§6): kept as they are by nontransitional processing.
const DEVIATION = /[\u00df\u03c2\u200c\u200d]/u;
// Never valid in a label: controls, format characters (the joiners are checked in context),
// unassigned, private use, surrogates, noncharacters, separators, and a few assigned letters
// and symbols the table disallows (Hangul fillers, Khmer inherent vowels, replacement characters,
// ideographic description characters, ...).
const DISALLOWED = onFirstUse(
  () =>
    /[\u04c0\u10a0-\u10c5\u1806\u180e\u2132\u2183\u{2f868}\u{2f874}\u{2f91f}\u{2f95f}\u{2f9bf}\p{Cc}\p{Cn}\p{Co}\p{Cs}\p{Z}\p{Noncharacter_Code_Point}\u115f\u1160\u17b4\u17b5\u3164\uffa0\ufff9-\ufffd\u2ff0-\u2fff\u31e4-\u31ef]|(?![\u200c\u200d])[\p{Cf}\p{Default_Ignorable_Code_Point}]/u,
);
// After mapping only these ASCII characters may appear in a label (STD3 rules, plus '_',
// which real host names carry and the rest of smtpwire accepts).
const ASCII_OK = /^[a-z0-9_-]$/;

/** NFKC_Casefold of one code point as UTS #46 uses it, or null when it is disallowed. */
function mapCodePoint(cp: number): string | null {
  const ch = String.fromCodePoint(cp);
  if (cp < 0x80) {
    const lower = ch.toLowerCase();
    return ASCII_OK.test(lower) || lower === '.' ? lower : null;
  }
  if (IGNORED.test(ch)) return '';
  if (DEVIATION.test(ch)) return ch;
  if (DISALLOWED().test(ch)) return null;
  if (cp === 0x3002 || cp === 0xff61) return '.'; // ideographic full stops separate labels too
  let s = ch;
  // Iterate to a fixed point: NFKC can produce capitals (U+2160 ROMAN NUMERAL ONE -> "I") and
  // folding can produce compatibility characters.
  for (let round = 0; round < 4; round++) {
    const next = caseFold(s).normalize('NFKC');
    if (next === s) break;
    s = next;
  }
  if (s.includes('.') && cp !== 0xff0e) return null; // "1." and the like would change the labels
  for (const c of s) {
    const code = c.codePointAt(0)!;
    if (code === 0x2e) continue; // full stops (U+FF0E ...) map to '.', a label separator
    if (code < 0x80 ? !ASCII_OK.test(c) : IGNORED.test(c) || DISALLOWED().test(c)) return null;
  }
  return s;
}

// Case folding from what the runtime has: upper then lower case is Unicode's full folding for
// all but dotless i (which does not fold) and Cherokee (which folds to its capitals). Capital
// sharp s reaches "ss" in two rounds (ẞ -> ß -> SS -> ss); a small sharp s that is the input
// itself is a deviation and never gets here.
function caseFold(s: string): string {
  let out = '';
  for (const c of s) {
    const cp = c.codePointAt(0)!;
    if (cp === 0x0131 || (cp >= 0x13a0 && cp <= 0x13f5)) out += c;
    else if ((cp >= 0x13f8 && cp <= 0x13fd) || (cp >= 0xab70 && cp <= 0xabbf)) out += c.toUpperCase();
    else out += c.toUpperCase().toLowerCase();
  }
  return out;
}

// ---- Validity criteria (§4.1) -------------------------------------------------------------------

// Canonical_Combining_Class = 9 (Virama), found without a data table: canonical reordering
// swaps two adjacent non-starters when the first has the higher class, so a class-9 mark moves
// after U+05B0 (class 10) and before U+3099 (class 8).
function isVirama(c: string): boolean {
  if (!/\p{M}/u.test(c) || c === '\u3099' || c === '\u05b0') return false; // the two yardsticks
  return `${c}\u3099`.normalize('NFD') === `\u3099${c}` && `\u05b0${c}`.normalize('NFD') === `${c}\u05b0`;
}

// Joining types (RFC 5892 A.1) approximated: letters of the cursive scripts join on both sides
// (D), the Arabic letters below join only to the right (R), hamza and friends not at all (U),
// and marks and format characters are transparent (T).
const CURSIVE = onFirstUse(
  () =>
    /[\p{Script=Arabic}\p{Script=Syriac}\p{Script=Nko}\p{Script=Mongolian}\p{Script=Mandaic}\p{Script=Manichaean}\p{Script=Psalter_Pahlavi}\p{Script=Adlam}\p{Script=Hanifi_Rohingya}\p{Script=Sogdian}\p{Script=Phags_Pa}]/u,
);
const RIGHT_JOINING = onFirstUse(
  () =>
    /[\u0622-\u0625\u0627\u0629\u062f-\u0632\u0648\u0671-\u0673\u0675-\u0677\u0688-\u0699\u06c0\u06c3-\u06cb\u06cd\u06cf\u06d2\u06d3\u06d5\u06ee\u06ef\u0710\u0715-\u0719\u071e\u0728\u072a\u072c\u072f\u074d\u0759-\u075b\u076b\u076c\u0771\u0773\u0774\u0778\u0779]/u,
);
const NON_JOINING = /[\u0621\u0674\u06dd\u0640]/u;
type Joining = 'D' | 'R' | 'L' | 'T' | 'U';
function joiningType(c: string): Joining {
  if (/[\p{Mn}\p{Me}\p{Cf}]/u.test(c)) return 'T';
  if (!CURSIVE().test(c) || !/\p{L}/u.test(c) || NON_JOINING.test(c)) return 'U';
  return RIGHT_JOINING().test(c) ? 'R' : 'D';
}

function checkJoiners(cps: string[]): string | undefined {
  for (let i = 0; i < cps.length; i++) {
    const c = cps[i]!;
    if (c !== '\u200c' && c !== '\u200d') continue;
    if (i > 0 && isVirama(cps[i - 1]!)) continue;
    if (c === '\u200d') return 'ZERO WIDTH JOINER is only allowed after a virama';
    // ZWNJ between a left- or dual-joining letter and a right- or dual-joining one.
    let b = i - 1;
    while (b >= 0 && joiningType(cps[b]!) === 'T') b--;
    let a = i + 1;
    while (a < cps.length && joiningType(cps[a]!) === 'T') a++;
    const before = b >= 0 ? joiningType(cps[b]!) : 'U';
    const after = a < cps.length ? joiningType(cps[a]!) : 'U';
    if (!((before === 'L' || before === 'D') && (after === 'R' || after === 'D'))) {
      return 'ZERO WIDTH NON-JOINER is only allowed after a virama or between joining letters';
    }
  }
  return undefined;
}

// Bidi_Class approximated for what can be in a valid label (RFC 5893 needs L, R, AL, AN, EN,
// ES, CS, ET, ON, BN, NSM).
type Bidi = 'L' | 'R' | 'AL' | 'AN' | 'EN' | 'ES' | 'CS' | 'ET' | 'ON' | 'BN' | 'NSM';
const ARABIC_LETTER =
  /[\u0600-\u07bf\u0860-\u08ff\ufb50-\ufdcf\ufdf0-\ufdff\ufe70-\ufeff\u{10d00}-\u{10d3f}\u{10f30}-\u{10f6f}\u{1ec70}-\u{1ecbf}\u{1ed00}-\u{1ed4f}\u{1ee00}-\u{1eeff}]/u;
const RTL_LETTER = /[\u0590-\u05ff\u07c0-\u085f\ufb1d-\ufb4f\u{10800}-\u{10fff}\u{1e800}-\u{1efff}]/u;
const ARABIC_NUMBER = /[\u0600-\u0605\u0660-\u0669\u066b\u066c\u06dd\u0890\u0891\u08e2\u{10d30}-\u{10d39}\u{10e60}-\u{10e7e}]/u;
const EUROPEAN_NUMBER =
  /[0-9\u00b2\u00b3\u00b9\u06f0-\u06f9\u2070\u2074-\u2079\u2080-\u2089\u2488-\u249b\uff10-\uff19\u{1d7ce}-\u{1d7ff}\u{1f100}-\u{1f10a}\u{1fbf0}-\u{1fbf9}]/u;
function bidiClass(c: string): Bidi {
  if (/[\p{Mn}\p{Me}]/u.test(c)) return 'NSM';
  if (ARABIC_NUMBER.test(c)) return 'AN';
  if (EUROPEAN_NUMBER.test(c)) return 'EN';
  // Punctuation and symbols in these blocks are mostly neutral; these few are Arabic letters.
  const letterLike = !/[\p{P}\p{S}]/u.test(c) || /[\u0608\u060b\u060d\u061b-\u061f\u066d\u06d4]/.test(c);
  if (letterLike && ARABIC_LETTER.test(c)) return 'AL';
  if (letterLike && RTL_LETTER.test(c)) return 'R';
  if (c === '-' || c === '+') return 'ES';
  if (c === '.' || c === ',' || c === '/' || c === ':') return 'CS';
  if (/[\p{Sc}#%\u00b0\u2030-\u2034]/u.test(c)) return 'ET';
  if (/[\p{Cf}]/u.test(c)) return 'BN';
  if (/[\p{L}\p{Mc}\p{Nd}\p{Nl}]/u.test(c)) return 'L';
  return 'ON';
}

function checkBidi(cps: string[]): string | undefined {
  if (cps.length === 0) return undefined;
  const classes = cps.map(bidiClass);
  const first = classes[0]!;
  let last = classes.length - 1;
  while (last > 0 && classes[last] === 'NSM') last--;
  const end = classes[last]!;
  if (first === 'R' || first === 'AL') {
    const allowed = new Set<Bidi>(['R', 'AL', 'AN', 'EN', 'ES', 'CS', 'ET', 'ON', 'BN', 'NSM']);
    if (!classes.every((k) => allowed.has(k))) return 'a right-to-left label holds a left-to-right character';
    if (!['R', 'AL', 'EN', 'AN'].includes(end)) return 'a right-to-left label must end with a letter or digit';
    if (classes.includes('EN') && classes.includes('AN')) return 'a right-to-left label mixes European and Arabic digits';
    return undefined;
  }
  if (first !== 'L') return 'a label in a right-to-left domain must start with a letter';
  const allowed = new Set<Bidi>(['L', 'EN', 'ES', 'CS', 'ET', 'ON', 'BN', 'NSM']);
  if (!classes.every((k) => allowed.has(k))) return 'a left-to-right label holds a right-to-left character';
  if (end !== 'L' && end !== 'EN') return 'a left-to-right label in a right-to-left domain must end with a letter or digit';
  return undefined;
}

function isBidiDomain(labels: readonly string[]): boolean {
  for (const l of labels)
    for (const c of l) {
      const k = bidiClass(c);
      if (k === 'R' || k === 'AL' || k === 'AN') return true;
    }
  return false;
}

/** Why `label` (mapped, NFC) is not a valid label, or undefined when it is. */
function labelProblem(label: string): string | undefined {
  if (label === '') return 'empty label';
  if (label.normalize('NFC') !== label) return 'label is not in Unicode normal form C';
  if (label.startsWith('-') || label.endsWith('-')) return 'label starts or ends with a hyphen';
  if (label.length >= 4 && label[2] === '-' && label[3] === '-' && /[^\x00-\x7f]/.test(label))
    return 'label has hyphens in the third and fourth positions';
  if (/^\p{M}/u.test(label)) return 'label starts with a combining mark';
  const cps = Array.from(label);
  for (const c of cps) {
    if (mapCodePoint(c.codePointAt(0)!) !== c)
      return `label holds a character not allowed in domain names: U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
  }
  return checkJoiners(cps);
}

// ---- ToASCII / ToUnicode (§4, §4.2, §4.3) ------------------------------------------------------

interface Processed {
  labels: string[]; // U-labels (or ASCII labels)
}

function processDomain(domain: string): Processed {
  if (typeof domain !== 'string') throw new SmtpAddressError('a domain must be a string');
  const fail = (why: string): SmtpAddressError => new SmtpAddressError(`invalid domain "${printable(domain)}": ${why}`);
  if (domain.length === 0) throw fail('empty');
  if (domain.length > 1024) throw fail('too long');
  let mapped = '';
  for (const c of domain) {
    const m = mapCodePoint(c.codePointAt(0)!);
    if (m === null) {
      throw fail(`U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')} is not allowed in domain names`);
    }
    mapped += m;
  }
  const labels = mapped.normalize('NFC').split('.');
  for (let i = 0; i < labels.length; i++) {
    let label = labels[i]!;
    if (label.startsWith('xn--')) {
      if (/[^\x00-\x7f]/.test(label)) throw fail('an xn-- label holds non-ASCII characters');
      label = punycodeDecode(label.slice(4));
      if (!/[^\x00-\x7f]/.test(label)) throw fail('an xn-- label decodes to ASCII only');
      labels[i] = label;
    }
    const why = labelProblem(label);
    if (why !== undefined) throw fail(why);
  }
  if (isBidiDomain(labels)) {
    for (const l of labels) {
      const why = checkBidi(Array.from(l));
      if (why !== undefined) throw fail(why);
    }
  }
  return { labels };
}

/** True when the text has a character outside ASCII. */
function hasNonAscii(s: string): boolean {
  return /[^\x00-\x7f]/.test(s);
}

/**
 * A domain in A-labels (UTS #46 ToASCII, nontransitional, STD3 rules with '_' allowed, DNS
 * lengths checked). Throws SmtpAddressError saying why when the domain is not valid.
 */
export function domainToAscii(domain: string): string {
  const { labels } = processDomain(domain);
  const out = labels.map((l) => (hasNonAscii(l) ? `xn--${punycodeEncode(l)}` : l));
  for (const l of out) {
    if (l.length > 63)
      throw new SmtpAddressError(`invalid domain "${printable(domain)}": a label is longer than 63 octets in its ASCII form`);
  }
  const ascii = out.join('.');
  if (ascii.length > 253) throw new SmtpAddressError(`invalid domain "${printable(domain)}": longer than 253 octets in its ASCII form`);
  return ascii;
}

/** A domain in U-labels (UTS #46 ToUnicode), lower-cased and mapped. Throws when not valid. */
export function domainToUnicode(domain: string): string {
  domainToAscii(domain); // the same checks, lengths included
  return processDomain(domain).labels.join('.');
}

/**
 * `local@domain` with the domain in A-labels, or undefined when the address is already ASCII
 * or its local part is not ASCII (only SMTPUTF8 can carry that). Domain literals stay.
 */
export function asciiAddress(address: string): string | undefined {
  if (!hasNonAscii(address)) return undefined;
  const at = address.lastIndexOf('@');
  const local = address.slice(0, at);
  if (at < 0 || hasNonAscii(local)) return undefined;
  return `${local}@${domainToAscii(address.slice(at + 1))}`;
}

/** The IDN codec to pass as `idn` (connect options, or the core's ConnectionOptions): U-label
 *  domains go in A-labels to a server without SMTPUTF8. `import { idn } from 'smtpwire/idn'`. */
export const idn: (address: string) => string | undefined = asciiAddress;

// An independent parser reads what message/ writes: Python's email package (policy.default, its
// headerregistry address parser and RFC 2047 decoder) and its punycode codec, run as
// /usr/bin/python3 over a batch of generated headers. Needs Debian's python3 (stdlib only); the
// test fails loudly without it (.ci/run installs it).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from './fc.ts';
import { displayName, domainName } from './message-arb.ts';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { formatMailboxes, type Mailbox } from '../message/address.ts';
import { formatParam, mimeHeader } from '../message/content-type.ts';
import { foldHeader, unstructuredHeader } from '../message/header.ts';
import { domainToAscii, punycodeEncode } from '../message/idn.ts';

const PYTHON = '/usr/bin/python3';
const SCRIPT = String.raw`
import sys, json
from email import policy
from email.parser import Parser
req = json.load(sys.stdin)
out = {'addresses': [], 'subjects': [], 'puny': [], 'idna2003': [], 'params': []}
parse = lambda text: Parser(policy=policy.default).parsestr(text)
for field in req['addresses']:
    h = parse(field + '\n')['To']
    out['addresses'].append({'list': [[a.display_name, a.username, a.domain] for a in h.addresses],
                             'defects': [type(d).__name__ + ': ' + str(d) for d in h.defects]})
for field in req['subjects']:
    h = parse(field + '\n')['Subject']
    out['subjects'].append({'value': str(h), 'defects': [type(d).__name__ + ': ' + str(d) for d in h.defects]})
for field in req.get('params', []):
    h = parse(field + '\n')['Content-Disposition']
    out['params'].append({'value': h.params.get('filename'), 'defects': [type(d).__name__ + ': ' + str(d) for d in h.defects]})
for s in req['puny']:
    out['puny'].append(s.encode('punycode').decode('ascii'))
for d in req.get('idna2003', []):
    try:
        out['idna2003'].append(d.encode('idna').decode('ascii'))
    except UnicodeError as e:
        out['idna2003'].append('error: ' + str(e))
sys.stdout.write(json.dumps(out))
`;

interface PyResult {
  addresses: { list: [string, string, string][]; defects: string[] }[];
  subjects: { value: string; defects: string[] }[];
  puny: string[];
  idna2003: string[];
  params: { value: string | null; defects: string[] }[];
}

function python(req: { addresses: string[]; subjects: string[]; puny: string[]; idna2003?: string[]; params?: string[] }): PyResult {
  assert.ok(existsSync(PYTHON), `${PYTHON} is missing: install Debian's python3 (apt-get install python3)`);
  const r = spawnSync(PYTHON, ['-c', SCRIPT], {
    input: JSON.stringify(req),
    encoding: 'utf8',
    env: { ...process.env, PYTHONIOENCODING: 'utf-8' },
    maxBuffer: 64 << 20,
  });
  assert.is(r.status, 0, `python failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as PyResult;
}

const CONTROLS = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u2028\u2029]|\p{Cs}/u;
const nameText = displayName({ tab: false });
const localPart = fc.oneof(
  fc.stringMatching(/^[a-z0-9!#$%&'*+/=?^_`{|}~-]{1,10}(\.[a-z0-9_-]{1,8}){0,2}$/),
  fc
    .string({ unit: fc.constantFrom('a', ' ', ',', '@', '(', '.', 'b'), minLength: 1, maxLength: 10 })
    .filter((s) => /^[^ .]/.test(s) && /[^ .]$/.test(s) && !s.includes('..')),
);
const mailbox = fc.record({ name: fc.option(nameText, { nil: undefined }), local: localPart, domain: domainName });

test('Python email parses formatted address lists to the same names and addresses (batch property)', () => {
  const cases = fc.sample(fc.tuple(fc.array(mailbox, { minLength: 1, maxLength: 4 }), fc.boolean()), { numRuns: 600, seed: 1403 });
  const fields = cases.map(([ms, smtpUtf8]) => {
    const list: Mailbox[] = ms.map((m) => ({ ...(m.name === undefined ? {} : { name: m.name }), address: `${m.local}@${m.domain}` }));
    return foldHeader('To', formatMailboxes(list, { smtpUtf8 })).slice(0, -2);
  });
  const py = python({ addresses: fields, subjects: [], puny: [] });
  assert.is(py.addresses.length, cases.length);
  let nonAsciiNames = 0;
  cases.forEach(([ms, smtpUtf8], i) => {
    const got = py.addresses[i]!;
    // Python reads each run of white space in an encoded display name as one space (RFC 5322
    // §3.2.2 makes runs of FWS between tokens one space; Python applies it inside encoded-words
    // too), so names are compared with runs of spaces collapsed.
    const squeeze = (s: string): string => s.replace(/ {2,}/g, ' ');
    const want = ms.map((m) => [squeeze(m.name ?? ''), m.local, smtpUtf8 ? m.domain : domainToAscii(m.domain)]);
    assert.equal(
      got.list.map(([n, l, d]) => [squeeze(n), l, d]),
      want,
      `${JSON.stringify(fields[i])}`,
    );
    assert.equal(got.defects, [], `${JSON.stringify(fields[i])}`);
    if (ms.some((m) => /[^\x00-\x7f]/.test(m.name ?? ''))) nonAsciiNames++;
  });
  assert.ok(nonAsciiNames > 100, `only ${nonAsciiNames} cases with non-ASCII names`);
});

test('Python email decodes encoded, folded unstructured headers to the same text (batch property)', () => {
  const text = fc
    .oneof(
      fc.string({ unit: 'binary', maxLength: 200 }),
      fc.string({
        unit: fc.constantFrom('a', 'B', ' ', '=', '?', '_', '\u00e9', '\u{1f600}', 'x'.repeat(30), '\u4e2d', '"', 'word', '=?utf-8?q?x?='),
        maxLength: 60,
      }),
      fc.string({ unit: 'grapheme', maxLength: 150 }),
    )
    .filter((s) => !CONTROLS.test(s) && !s.includes('\t'));
  // Python drops white space at either end of an unstructured value; so do most readers.
  const texts = fc.sample(text, { numRuns: 800, seed: 2047 }).map((s) => s.replace(/^ +| +$/g, ''));
  const fields = texts.map((t) => unstructuredHeader('Subject', t).slice(0, -2));
  const py = python({ addresses: [], subjects: fields, puny: [] });
  texts.forEach((t, i) => {
    assert.is(py.subjects[i]!.value, t, JSON.stringify(fields[i]));
    assert.equal(py.subjects[i]!.defects, [], JSON.stringify(fields[i]));
  });
});

test('Python email reads every attachment filename back, with no defect (batch property)', () => {
  // RFC 2231 marks ("*", "'", "%"), tspecials, quotes, backslashes, tabs, non-ASCII, long names.
  const unit = fc.constantFrom(
    'a',
    'Z',
    '.',
    ' ',
    '*',
    "'",
    '%',
    '"',
    '\\',
    ';',
    '=',
    '(',
    '/',
    '\t',
    '\u00e9',
    '\u{1f600}',
    'x'.repeat(25),
  );
  const names = [
    'a*b.txt', // Python reads an unquoted a*b.txt as "a"
    "it's.txt", // and drops an unquoted it's.txt
    'report.pdf*.exe',
    ...fc.sample(fc.string({ unit, minLength: 1, maxLength: 12 }), { numRuns: 400, seed: 2231 }),
  ];
  const fields = names.map((n) => mimeHeader('Content-Disposition', 'attachment', formatParam('filename', n)).slice(0, -2));
  const py = python({ addresses: [], subjects: [], puny: [], params: fields });
  names.forEach((n, i) => {
    assert.is(py.params[i]!.value, n, JSON.stringify(fields[i]));
    assert.equal(py.params[i]!.defects, [], JSON.stringify(fields[i]));
  });
});

test("Python's punycode codec encodes the same as ours (batch property)", () => {
  const labels = fc.sample(
    fc.string({ unit: 'binary', minLength: 1, maxLength: 30 }).filter((s) => !/[\ud800-\udfff]/.test(s)),
    { numRuns: 2000, seed: 3492 },
  );
  const py = python({ addresses: [], subjects: [], puny: labels });
  // Both follow RFC 3492 §6.3 (a delimiter after any basic code points, lower-case digits),
  // so the strings must be identical.
  labels.forEach((l, i) => assert.is(punycodeEncode(l), py.puny[i], JSON.stringify(l)));
});

test("Python's IDNA 2003 codec agrees where IDNA 2003 and UTS #46 do (batch property)", () => {
  // Letters whose mapping did not change between IDNA 2003 (nameprep, Unicode 3.2) and UTS #46
  // nontransitional: no deviations (ß, ς, joiners), no symbols, no characters newer than 3.2.
  const alphabet = [
    ...'abcxyz0189ABZ\u00e4\u00f6\u00fc\u00e9\u00c4\u00c9\u03b1\u03b2\u0391\u0430\u0436\u0416\u4f8b\u5b50\u4e2d\u3042\u30a2\uac00\uff21\uff41\u2160\u0e01',
  ];
  // No right-to-left letters: RFC 5893 judges every label of such a domain, IDNA 2003 did not.
  const label = fc.array(fc.constantFrom(...alphabet), { minLength: 1, maxLength: 10 }).map((a) => a.join(''));
  const domains = fc.sample(
    fc.array(label, { minLength: 1, maxLength: 3 }).map((ls) => `${ls.join('.')}.example`),
    { numRuns: 1500, seed: 3490 },
  );
  const py = python({ addresses: [], subjects: [], puny: [], idna2003: domains });
  // IDNA 2003 leaves an all-ASCII label as written; UTS #46 lower-cases it (DNS does not care).
  domains.forEach((d, i) => assert.is(domainToAscii(d), py.idna2003[i]!.toLowerCase(), JSON.stringify(d)));
});

test.run();

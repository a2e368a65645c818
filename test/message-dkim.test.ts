// message/dkim*.ts in any runtime (no Node API: this file runs in Node, Deno, Bun and workerd):
// canonicalisation against RFC 6376's example and against plain one-shot reference forms on
// random input split at random points; line endings read as the core's body encoder writes
// them; the fixed vectors of test/dkim-vectors.ts reproduced byte for byte (dkimpy and mailauth
// verify those very bytes in test/message-dkim-verifiers.test.ts); keys, options and sources.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from './fc.ts';
import { BodyEncoder } from '../core/body.ts';
import { SmtpUsageError } from '../core/errors.ts';
import { Sha256, sha256 } from '../core/sasl/hash.ts';
import { binaryString, canonicalizeHeader, DkimBodyCanonicalizer, HeaderSectionReader, MAX_HEADER_SECTION } from '../message/dkim-canon.ts';
import {
  createDkimSigner,
  DEFAULT_SIGNED_HEADERS,
  dkimDnsRecord,
  DkimError,
  dkimSignature,
  DkimSignedStream,
  importDkimKey,
  signDkim,
  type DkimCanonicalization,
  type DkimErrorReason,
} from '../message/dkim.ts';
import { DOMAIN, ED25519_SEED, EXPECTED, MESSAGES, RECORDS, RSA_1024_PKCS1, RSA_768_PKCS8, TIMESTAMP } from './dkim-vectors.ts';

const enc = new TextEncoder();
const CANONS: DkimCanonicalization[] = ['relaxed/relaxed', 'simple/simple', 'relaxed/simple', 'simple/relaxed'];
const KEYS: Record<string, string> = { rsa: RSA_1024_PKCS1, ed: ED25519_SEED };

const bin = (b: Uint8Array): string => binaryString(b);
const fromBin = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0));

async function rejects(p: Promise<unknown> | (() => unknown), reason: DkimErrorReason, text?: RegExp): Promise<void> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (err) {
    assert.ok(err instanceof DkimError, `expected a DkimError, got ${String(err)}`);
    assert.ok(err instanceof SmtpUsageError, 'DkimError is a usage error');
    assert.is(err.reason, reason, err.message);
    assert.is(err.code, 'EUSAGE');
    if (text) assert.match(err.message, text);
    return;
  }
  assert.unreachable(`expected a DkimError (${reason})`);
}

// ---------------------------------------------------------------- reference forms

/** What the client puts on the wire: core/body.ts with CRLF normalisation (no dot-stuffing). */
function wire(bytes: Uint8Array): Uint8Array {
  const e = new BodyEncoder({ dotStuff: false, normalizeLineEndings: true, maxLineLength: 0 });
  const parts = [...e.encode(bytes), ...e.end()];
  const out = new Uint8Array(parts.reduce((k, p) => k + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** RFC 6376 §3.4.3 on CRLF text, one shot. */
const simpleBody = (s: string): string => s.replace(/(\r\n)*$/, '') + '\r\n';
/** RFC 6376 §3.4.4 on CRLF text, one shot. */
function relaxedBody(s: string): string {
  const t = s
    .split('\r\n')
    .map((l) => l.replace(/[ \t]+/g, ' ').replace(/ $/, ''))
    .join('\r\n')
    .replace(/(\r\n)*$/, '');
  return t === '' ? '' : t + '\r\n';
}

function canonStream(algorithm: 'simple' | 'relaxed', chunks: Uint8Array[]): string {
  let out = '';
  const c = new DkimBodyCanonicalizer(algorithm, (b) => (out += bin(b)));
  for (const chunk of chunks) c.write(chunk);
  c.end();
  return out;
}

/** `bytes` cut at the given points (sorted, deduplicated, in range). */
function split(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let at = 0;
  for (const p of points) {
    out.push(bytes.subarray(at, p));
    at = p;
  }
  out.push(bytes.subarray(at));
  return out;
}

const bodyByte = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(0x0d, 0x0a, 0x20, 0x09) },
  { weight: 4, arbitrary: fc.constantFrom(0x61, 0x2e, 0x7a) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 255 }) },
);
const bodyBytes = fc.array(bodyByte, { maxLength: 300 }).map((a) => Uint8Array.from(a));
const cuts = fc.array(fc.nat(), { maxLength: 12 });

// ---------------------------------------------------------------- canonicalisation

test('RFC 6376 §3.4.5 example: relaxed and simple, header and body', () => {
  const fields = ['A: X', 'B : Y\t\r\n\tZ  '];
  const body = enc.encode(' C \r\nD \t E\r\n\r\n\r\n');
  assert.is(fields.map((f) => canonicalizeHeader(f, 'relaxed')).join(''), 'a:X\r\nb:Y Z\r\n');
  assert.is(canonStream('relaxed', [body]), ' C\r\nD E\r\n');
  assert.is(fields.map((f) => canonicalizeHeader(f, 'simple')).join(''), 'A: X\r\nB : Y\t\r\n\tZ  \r\n');
  assert.is(canonStream('simple', [body]), ' C \r\nD \t E\r\n');
});

test('body: the empty-body rules (simple CRLF, relaxed nothing) and a last line without CRLF', () => {
  for (const [input, simple, relaxed] of [
    ['', '\r\n', ''],
    ['\r\n', '\r\n', ''],
    ['\r\n\r\n \t \r\n', '\r\n\r\n \t \r\n', ''],
    ['abc', 'abc\r\n', 'abc\r\n'],
    ['abc  ', 'abc  \r\n', 'abc\r\n'],
    ['a\r\n\r\nb', 'a\r\n\r\nb\r\n', 'a\r\n\r\nb\r\n'],
    ['a\n\n', 'a\r\n', 'a\r\n'],
    ['a\r\rb\r', 'a\r\n\r\nb\r\n', 'a\r\n\r\nb\r\n'],
  ] as const) {
    assert.is(canonStream('simple', [enc.encode(input)]), simple, `simple ${JSON.stringify(input)}`);
    assert.is(canonStream('relaxed', [enc.encode(input)]), relaxed, `relaxed ${JSON.stringify(input)}`);
  }
});

test('body (property): streaming over any split = the one-shot form of what the wire carries', () => {
  fc.assert(
    fc.property(bodyBytes, cuts, (bytes, at) => {
      const onWire = bin(wire(bytes));
      const chunks = split(bytes, at);
      assert.is(canonStream('simple', chunks), simpleBody(onWire));
      assert.is(canonStream('relaxed', chunks), relaxedBody(onWire));
    }),
    { numRuns: 500 },
  );
});

test('body: long runs and a million empty lines stream in bounded pieces', () => {
  const line = 'x'.repeat(10_000) + '  \r\n';
  const big = enc.encode(line.repeat(20) + '\r\n'.repeat(1_000_000));
  let max = 0;
  let total = 0;
  const c = new DkimBodyCanonicalizer('relaxed', (b) => {
    max = Math.max(max, b.length);
    total += b.length;
  });
  for (let i = 0; i < big.length; i += 65536) c.write(big.subarray(i, i + 65536));
  c.end();
  assert.is(total, 20 * 10_002);
  assert.ok(max <= 65536, `largest piece ${max}`);
});

test('header section reader: fields and body over any split, line endings as on the wire', () => {
  const field = fc
    .tuple(
      fc.constantFrom('From', 'To', 'Subject', 'X-Y', 'cc'),
      fc.array(fc.constantFrom('a', ' ', '\t', 'é', ':', '\r\n ', '\n\t', '\r '), { maxLength: 12 }).map((a) => a.join('')),
    )
    .map(([n, v]) => `${n}:${v}`);
  const eol = fc.constantFrom('\r\n', '\n', '\r');
  fc.assert(
    fc.property(fc.array(field, { minLength: 1, maxLength: 6 }), eol, bodyBytes, cuts, (fields, nl, body, at) => {
      const head = fields.map((f) => f + nl).join('') + nl;
      const headBytes = enc.encode(head);
      const message = new Uint8Array(headBytes.length + body.length);
      message.set(headBytes);
      message.set(body, headBytes.length);
      const r = new HeaderSectionReader();
      let gotBody = '';
      for (const chunk of split(message, at)) {
        const b = r.write(chunk);
        if (b) gotBody += bin(b);
      }
      r.end();
      const onWire = bin(wire(message));
      const end = onWire.indexOf('\r\n\r\n');
      assert.is(r.fields.join('\r\n'), onWire.slice(0, end));
      // The body as given (the reader does not normalise it; the canonicalisers do).
      assert.is(simpleBody(bin(wire(fromBin(gotBody)))), simpleBody(onWire.slice(end + 4)));
    }),
    { numRuns: 300 },
  );
});

test('header section reader: typed errors for what is not a header section', async () => {
  const read = (s: string) => () => {
    const r = new HeaderSectionReader();
    r.write(enc.encode(s));
    r.end();
  };
  await rejects(read(' folded first\r\n\r\n'), 'message', /folded/);
  await rejects(read('From joe@example.com Sat Jun  1 12:00:00 2024\r\nFrom: a@b\r\n\r\n'), 'message', /mbox/);
  await rejects(read('no colon here\r\n\r\n'), 'message', /line 1/);
  await rejects(read('X: ' + 'y'.repeat(MAX_HEADER_SECTION)), 'message', /blank line/);
});

test('incremental SHA-256 (the body hash) = one-shot over any split', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 400 }), cuts, (bytes, at) => {
      const h = new Sha256();
      for (const c of split(bytes, at)) h.update(c);
      assert.equal(h.digest(), sha256(bytes));
    }),
    { numRuns: 300 },
  );
});

// ---------------------------------------------------------------- signatures

test('fixed vectors: every algorithm x canonicalization, byte for byte', async () => {
  let n = 0;
  for (const [name, text] of Object.entries(MESSAGES)) {
    for (const selector of ['rsa', 'ed']) {
      for (const canonicalization of CANONS) {
        const fields = await dkimSignature(text, {
          domain: DOMAIN,
          selector,
          privateKey: KEYS[selector]!,
          canonicalization,
          timestamp: TIMESTAMP,
        });
        assert.is(fields, EXPECTED[`${name} ${selector} ${canonicalization}`], `${name} ${selector} ${canonicalization}`);
        n++;
      }
    }
  }
  assert.is(n, Object.keys(EXPECTED).length);
});

test('fixed vectors: the DNS records derived from the keys', async () => {
  assert.is(await dkimDnsRecord(RSA_1024_PKCS1), RECORDS[`rsa._domainkey.${DOMAIN}`]);
  assert.is(await dkimDnsRecord(ED25519_SEED), RECORDS[`ed._domainkey.${DOMAIN}`]);
});

test('the signed message is the signature fields followed by the message, untouched', async () => {
  const text = MESSAGES.tricky!;
  const opts = { domain: DOMAIN, selector: 'ed', privateKey: ED25519_SEED, timestamp: TIMESTAMP };
  const signed = await signDkim(text, opts);
  const head = EXPECTED['tricky ed relaxed/relaxed']!;
  assert.is(bin(signed.subarray(0, head.length)), head);
  assert.equal(signed.subarray(head.length), enc.encode(text));
});

test('h=: From first and oversigned; every occurrence of a signed field; never l=', async () => {
  const msg =
    'To: a@x.example\r\nFrom: f@example.com\r\nReceived: by x\r\nCc: 1@x\r\nCC: 2@x\r\nList-Unsubscribe: <https://x/u>\r\n' +
    'List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\nX-Mailer: m\r\n\r\nbody\r\n';
  const fields = await dkimSignature(msg, { domain: DOMAIN, selector: 'ed', privateKey: ED25519_SEED, timestamp: TIMESTAMP });
  const tags = fields.replace(/\r\n /g, ' ');
  assert.match(tags, /h=From:From:To:Cc:Cc:List-Unsubscribe:List-Unsubscribe-Post;/);
  assert.not.match(tags, /\bl=/);
  assert.not.match(tags, /Received|X-Mailer/);
  for (const line of fields.split('\r\n')) assert.ok(line.length <= 78, `line of ${line.length}: ${line}`);

  const custom = await dkimSignature(msg, {
    domain: DOMAIN,
    selector: 'ed',
    privateKey: ED25519_SEED,
    headers: ['x-mailer', 'Subject'],
    oversign: ['From', 'Subject'],
  });
  assert.match(custom.replace(/\r\n /g, ' '), /h=From:From:x-mailer:Subject;/);
  assert.ok(DEFAULT_SIGNED_HEADERS.includes('List-Unsubscribe-Post'));
});

test('several signatures on one message, in the order given, one body read', async () => {
  let opened = 0;
  const text = MESSAGES.plain!;
  const signer = await createDkimSigner([
    { domain: DOMAIN, selector: 'ed', privateKey: ED25519_SEED, timestamp: TIMESTAMP },
    { domain: DOMAIN, selector: 'rsa', privateKey: RSA_1024_PKCS1, timestamp: TIMESTAMP, canonicalization: 'simple/simple' },
  ]);
  const fields = await signer.signatureFields(() => {
    opened++;
    return [text];
  });
  assert.is(opened, 1);
  assert.is(fields, EXPECTED['plain ed relaxed/relaxed']! + EXPECTED['plain rsa simple/simple']!);
});

test('t= and x=: given time, none, expiry; i= checked and encoded', async () => {
  const base = { domain: DOMAIN, selector: 'ed', privateKey: ED25519_SEED };
  const msg = MESSAGES.plain!;
  const f = (
    await dkimSignature(msg, { ...base, timestamp: new Date(TIMESTAMP * 1000), expiresIn: 3600, identity: 'a=b@mail.example.com' })
  ).replace(/\r\n /g, ' ');
  assert.match(f, / t=1717243200; x=1717246800; i=a=3Db@mail\.example\.com;/);
  assert.not.match((await dkimSignature(msg, { ...base, timestamp: false })).replace(/\r\n /g, ' '), / t=/);
  const now = Math.floor(Date.now() / 1000);
  const t = Number(/ t=(\d+);/.exec((await dkimSignature(msg, base)).replace(/\r\n /g, ' '))![1]);
  assert.ok(Math.abs(t - now) <= 5, `t=${t} now=${now}`);
  await rejects(dkimSignature(msg, { ...base, identity: '@evil.example' }), 'options', /identity/);
  await rejects(dkimSignature(msg, { ...base, timestamp: false, expiresIn: 60 }), 'options', /expiresIn/);
});

test('options: typed errors that say what to do', async () => {
  const base = { domain: DOMAIN, selector: 'ed', privateKey: ED25519_SEED };
  const msg = MESSAGES.plain!;
  await rejects(dkimSignature(msg, { ...base, domain: 'exämple.com' }), 'options', /A-label/);
  await rejects(dkimSignature(msg, { ...base, domain: 'a b.example' }), 'options', /domain/);
  await rejects(dkimSignature(msg, { ...base, selector: 'x;y' }), 'options', /selector/);
  await rejects(dkimSignature(msg, { ...base, selector: '' }), 'options', /selector/);
  await rejects(dkimSignature(msg, { ...base, canonicalization: 'relaxed' as DkimCanonicalization }), 'options', /relaxed\/relaxed/);
  await rejects(dkimSignature(msg, { ...base, headers: ['Subject\r\nX-Injected'] }), 'options', /header field name/);
  // ';' ends the h= tag (dkimpy and mailauth then reject the signature); a name over 900
  // characters would make h= longer than a line.
  await rejects(dkimSignature(msg, { ...base, headers: ['Subject', 'X;Y'] }), 'options', /semicolon/);
  await rejects(dkimSignature(msg, { ...base, oversign: ['From', 'X;bh=AAAA'] }), 'options', /semicolon/);
  await rejects(dkimSignature(msg, { ...base, oversign: ['From', `X-${'a'.repeat(1200)}`] }), 'options', /900 characters/);
  // t= is an unsigned number of seconds: dkimpy refuses t=-315619200.
  await rejects(dkimSignature(msg, { ...base, timestamp: new Date('1960-01-01T00:00:00Z') }), 'options', /1970/);
  await rejects(dkimSignature(msg, []), 'options');
  await rejects(dkimSignature('To: a@b.example\r\n\r\nno from\r\n', base), 'message', /From/);
  await rejects(dkimSignature('To: a@b.example\r\n', base), 'message', /From/);
  // Refused as soon as the header section ends, not after the body: this one never ends.
  let pulled = 0;
  await rejects(
    dkimSignature(
      () =>
        (function* () {
          yield enc.encode('To: a@b.example\r\n\r\n');
          for (;;) {
            pulled++;
            yield enc.encode('x\r\n');
          }
        })(),
      base,
    ),
    'message',
    /From/,
  );
  assert.is(pulled, 0);
});

test('keys: PKCS#1 wraps to the same key as PKCS#8; DER, CryptoKey; small, encrypted and foreign keys refused', async () => {
  const rsa = await importDkimKey(RSA_1024_PKCS1);
  assert.is(rsa.algorithm, 'rsa-sha256');
  assert.is(rsa.bits, 1024);
  const ed = await importDkimKey(ED25519_SEED);
  assert.is(ed.algorithm, 'ed25519-sha256');
  // A CryptoKey straight from WebCrypto signs the same bytes as the PEM it came from.
  const fromKey = await dkimSignature(MESSAGES.plain!, { domain: DOMAIN, selector: 'rsa', privateKey: rsa.key, timestamp: TIMESTAMP });
  assert.is(fromKey, EXPECTED['plain rsa relaxed/relaxed']);
  await rejects(importDkimKey(RSA_768_PKCS8), 'key-too-small', /768 bits.*1024/);
  await rejects(importDkimKey(RSA_1024_PKCS1, 'ed25519-sha256'), 'key-type', /RSA/);
  await rejects(
    importDkimKey('-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIB\n-----END ENCRYPTED PRIVATE KEY-----\n'),
    'key-encrypted',
    /openssl pkcs8/,
  );
  await rejects(
    importDkimKey(
      '-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00\n\nAAAA\n-----END RSA PRIVATE KEY-----\n',
    ),
    'key-encrypted',
  );
  await rejects(importDkimKey('-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n'), 'key-type', /Ed25519/);
  await rejects(importDkimKey('-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n'), 'key-format', /public key/);
  await rejects(importDkimKey('not a key at all'), 'key-format', /PEM/);
  await rejects(importDkimKey('-----BEGIN PRIVATE KEY-----\n!!!!\n-----END PRIVATE KEY-----\n'), 'key-format', /base64/);
  // A P-256 PKCS#8 key (the structure only; the type is read from its algorithm identifier).
  const ecOid = Uint8Array.of(
    0x30,
    0x13,
    0x02,
    0x01,
    0x00,
    0x30,
    0x09,
    0x06,
    0x07,
    0x2a,
    0x86,
    0x48,
    0xce,
    0x3d,
    0x02,
    0x01,
    0x04,
    0x03,
    0x30,
    0x01,
    0x00,
  );
  await rejects(importDkimKey(ecOid), 'key-type', /EC/);
  if (typeof crypto.subtle.generateKey === 'function') {
    const hmac = await crypto.subtle.generateKey({ name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
    await rejects(importDkimKey(hmac), 'key-type', /private key/);
  }
});

// ---------------------------------------------------------------- sources

test('sources: string, bytes, iterables, web stream and pull-into sources all sign alike', async () => {
  const text = MESSAGES.tricky!;
  const bytes = enc.encode(text);
  const opts = { domain: DOMAIN, selector: 'rsa', privateKey: RSA_1024_PKCS1, timestamp: TIMESTAMP };
  const expected = EXPECTED['tricky rsa relaxed/relaxed']!;
  const pieces = (n: number) => Array.from({ length: Math.ceil(bytes.length / n) }, (_, i) => bytes.subarray(i * n, (i + 1) * n));
  const pull = () => {
    let at = 0;
    return {
      size: bytes.length,
      readInto: async (b: Uint8Array) => {
        const n = Math.min(7, b.length, bytes.length - at);
        b.set(bytes.subarray(at, at + n));
        at += n;
        return n;
      },
    };
  };
  const sources = {
    string: text,
    bytes,
    iterable: () => pieces(3),
    'async iterable': () =>
      (async function* () {
        yield* pieces(5);
      })(),
    'string chunks': () => [text.slice(0, 10), text.slice(10)],
    'web stream': () =>
      new ReadableStream<Uint8Array>({
        start(c) {
          for (const p of pieces(11)) c.enqueue(p);
          c.close();
        },
      }),
    'pull-into': pull,
    'async factory': async () => pull(),
  };
  for (const [name, source] of Object.entries(sources)) {
    assert.is(await dkimSignature(source, opts), expected, name);
  }
});

test('signDkim on a stream: a pull-into body the client reads (header first, then the message again)', async () => {
  const bytes = enc.encode(MESSAGES.plain);
  let opens = 0;
  let closes = 0;
  const factory = () => {
    opens++;
    let at = 0;
    return {
      readInto: async (b: Uint8Array) => {
        const n = Math.min(b.length, 13, bytes.length - at);
        b.set(bytes.subarray(at, at + n));
        at += n;
        return n;
      },
      close: () => {
        closes++;
      },
    };
  };
  const signed = await signDkim(factory, { domain: DOMAIN, selector: 'ed', privateKey: ED25519_SEED, timestamp: TIMESTAMP });
  assert.ok(signed instanceof DkimSignedStream);
  assert.is(opens, 1);
  assert.is(closes, 1);
  assert.is(signed.header, EXPECTED['plain ed relaxed/relaxed']);
  assert.is(signed.size, signed.header.length + bytes.length);
  const got: number[] = [];
  const buffer = new Uint8Array(100);
  for (let n = await signed.readInto(buffer); n > 0; n = await signed.readInto(buffer)) got.push(...buffer.subarray(0, n));
  await signed.close();
  assert.is(opens, 2);
  assert.is(closes, 2);
  assert.is(bin(Uint8Array.from(got)), signed.header + bin(bytes));

  // Async iteration gives the same bytes.
  const again = await signDkim(() => [bytes], { domain: DOMAIN, selector: 'ed', privateKey: ED25519_SEED, timestamp: TIMESTAMP });
  let text = '';
  for await (const chunk of again) text += bin(chunk);
  assert.is(text, signed.header + bin(bytes));
});

test('signDkim on a stream: a source that changes between the two reads fails the send', async () => {
  let call = 0;
  const signed = await signDkim(() => [enc.encode(MESSAGES.plain! + (call++ === 0 ? '' : 'appended\r\n'))], {
    domain: DOMAIN,
    selector: 'ed',
    privateKey: ED25519_SEED,
  });
  const buffer = new Uint8Array(1 << 16);
  await rejects(
    async () => {
      for (let n = await signed.readInto(buffer); n > 0; n = await signed.readInto(buffer));
    },
    'source',
    /same message/,
  );
});

test.run();

// core/sasl: base64, the built-in mechanisms (RFC examples first), the chooser and the
// credential check.
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from './fc.ts';
import {
  BUILTIN_MECHANISMS,
  SASL_CRAM_MD5,
  SASL_LOGIN,
  SASL_OAUTHBEARER,
  SASL_PLAIN,
  SASL_SCRAM_SHA_256,
  SASL_XOAUTH2,
  SaslError,
  chooseMechanism,
  decodeBase64,
  encodeBase64,
  saslPrep,
  validateCredentials,
  type SaslContext,
  type SaslDeferred,
  type SaslCredentials,
  type SaslExchange,
  type SaslMechanism,
} from '../core/sasl/index.ts';
import { SmtpUsageError } from '../core/errors.ts';
import { SmtpConnection } from '../core/connection.ts';
import type { AuthOptions } from '../core/options.ts';

const enc = new TextEncoder();
const dec = new TextDecoder();
const b = (s: string) => enc.encode(s);
// step() hands out a SaslDeferred only to a context with canDefer; these tests give none.
const str = (u: Uint8Array | SaslDeferred | undefined) => {
  if (u !== undefined && !(u instanceof Uint8Array)) throw new Error('step() deferred without canDefer');
  return u === undefined ? undefined : dec.decode(u);
};
// uvu's assert.throws takes a predicate, not a class.
const isSasl = (e: unknown) => e instanceof SaslError;
const context: SaslContext = { random: (n) => new Uint8Array(randomBytes(n)) };

// ------------------------------------------------------------------ base64

test('base64: RFC 4648 §10 vectors', () => {
  const vectors: [string, string][] = [
    ['', ''],
    ['f', 'Zg=='],
    ['fo', 'Zm8='],
    ['foo', 'Zm9v'],
    ['foob', 'Zm9vYg=='],
    ['fooba', 'Zm9vYmE='],
    ['foobar', 'Zm9vYmFy'],
  ];
  for (const [plain, coded] of vectors) {
    assert.is(encodeBase64(b(plain)), coded);
    assert.is(str(decodeBase64(coded)), plain);
  }
});

test('base64: strict decoding returns undefined for anything not canonical', () => {
  const bad = [
    'Zg=',
    'Zg',
    'Z===',
    '====',
    'Zh==',
    'Zm9=',
    'Zm9v YmFy',
    'Zm9v\r\nYmFy',
    'Zg==Zg==',
    '=Zg=',
    'Zm=v',
    'Zm9\u0100',
    '@@@@',
    'Zm9v-_8=',
  ];
  for (const s of bad) assert.is(decodeBase64(s), undefined, JSON.stringify(s));
});

test('property: base64 matches node Buffer both ways (500 runs)', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), (d) => {
      const coded = encodeBase64(d);
      return coded === Buffer.from(d).toString('base64') && Buffer.from(decodeBase64(coded)!).equals(Buffer.from(d));
    }),
    { numRuns: 500 },
  );
});

test('property: whatever decodes re-encodes to the same text (500 runs)', () => {
  const chars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/='.split('');
  fc.assert(
    fc.property(
      fc.array(fc.constantFrom(...chars), { maxLength: 24 }).map((a) => a.join('')),
      (s) => {
        const d = decodeBase64(s);
        return d === undefined || encodeBase64(d) === s;
      },
    ),
    { numRuns: 500 },
  );
});

// ------------------------------------------------------------------ PLAIN, LOGIN, CRAM-MD5

test('PLAIN: RFC 4616 §4 examples', () => {
  const a = SASL_PLAIN.create({ user: 'tim', pass: 'tanstaaftanstaaf' }, context);
  assert.equal(a.start(), b('\0tim\0tanstaaftanstaaf'));
  const c = SASL_PLAIN.create({ authzid: 'Ursel', user: 'Kurt', pass: 'xipj3plmq' }, context);
  assert.equal(c.start(), b('Ursel\0Kurt\0xipj3plmq'));
  assert.ok(c.complete());
});

test('PLAIN: answers one empty challenge (withheld initial response), nothing else', () => {
  const x = SASL_PLAIN.create({ user: 'tim', pass: 'p' }, context);
  assert.throws(() => x.step(b('hello')), isSasl);
  assert.equal(x.step(new Uint8Array(0)), b('\0tim\0p'));
  assert.throws(() => x.step(new Uint8Array(0)), isSasl);
  assert.throws(() => SASL_PLAIN.create({ user: 'tim' }, context), isSasl);
});

test('LOGIN: no initial response; user then password whatever the prompts say', () => {
  const x = SASL_LOGIN.create({ user: 'alice', pass: 's3cret' }, context);
  assert.is(x.start(), undefined);
  assert.equal(x.step(b('Benutzername:')), b('alice'));
  assert.equal(x.step(b('')), b('s3cret'));
  assert.throws(() => x.step(b('Password:')), isSasl);
  assert.ok(x.complete());
  assert.throws(() => SASL_LOGIN.create({ user: 'a', pass: 'b', authzid: 'c' }, context), isSasl);
});

test('CRAM-MD5: RFC 2195 example', () => {
  const x = SASL_CRAM_MD5.create({ user: 'tim', pass: 'tanstaaftanstaaf' }, context);
  assert.is(x.start(), undefined);
  assert.is(str(x.step(b('<1896.697170952@postoffice.reston.mci.net>'))), 'tim b913a602c7eda7a495b4e6e7334d3890');
  assert.throws(() => x.step(b('<again@example>')), isSasl);
  assert.ok(x.complete());
});

test('CRAM-MD5: refuses an empty challenge', () => {
  const x = SASL_CRAM_MD5.create({ user: 'tim', pass: 'p' }, context);
  assert.throws(() => x.step(new Uint8Array(0)), isSasl);
});

// ------------------------------------------------------------------ XOAUTH2, OAUTHBEARER

test("XOAUTH2: Google's documented initial response", () => {
  const x = SASL_XOAUTH2.create({ user: 'someuser@example.com', token: 'ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg' }, context);
  assert.is(
    encodeBase64(x.start()!),
    'dXNlcj1zb21ldXNlckBleGFtcGxlLmNvbQFhdXRoPUJlYXJlciB5YTI5LnZGOWRmdDRxbVRjMk52YjNSbGNrQmhkSFJoZG1semRHRXVZMjl0Q2cBAQ==',
  );
});

test('XOAUTH2: an error challenge gets an empty response, a second challenge cancels', () => {
  const x = SASL_XOAUTH2.create({ user: 'u', token: 't' }, context);
  assert.equal(x.start(), b('user=u\x01auth=Bearer t\x01\x01'));
  assert.equal(x.step(b('{"status":"401","schemes":"bearer","scope":"https://mail.google.com/"}')), new Uint8Array(0));
  assert.throws(() => x.step(b('{}')), isSasl);
  const y = SASL_XOAUTH2.create({ user: 'u', token: 't' }, context);
  assert.equal(y.step(new Uint8Array(0)), b('user=u\x01auth=Bearer t\x01\x01'), 'withheld initial response');
});

test('OAUTHBEARER: RFC 7628 §4.1 example, and ^A after an error challenge', () => {
  const x = SASL_OAUTHBEARER.create(
    { user: 'user@example.com', token: 'vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==' },
    { ...context, host: 'server.example.com', port: 143 },
  );
  assert.is(
    str(x.start()),
    'n,a=user@example.com,\x01host=server.example.com\x01port=143\x01auth=Bearer vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==\x01\x01',
  );
  assert.equal(x.step(b('{"status":"invalid_token","scope":"example_scope"}')), Uint8Array.of(1));
  assert.throws(() => x.step(b('{}')), isSasl);
});

test('OAUTHBEARER: escapes the gs2 authzid, omits unknown host/port, rejects a bad host', () => {
  const x = SASL_OAUTHBEARER.create({ user: 'a=b,c', token: 't' }, context);
  assert.is(str(x.start()), 'n,a=a=3Db=2Cc,\x01auth=Bearer t\x01\x01');
  assert.throws(() => SASL_OAUTHBEARER.create({ user: 'u', token: 't' }, { ...context, host: 'evil\x01auth=x' }), isSasl);
});

// ------------------------------------------------------------------ SCRAM-SHA-256

const RFC7677 = {
  credentials: { user: 'user', pass: 'pencil' },
  nonce: 'rOprNGfwEbeRWgbNEkqO',
  serverFirst: 'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096',
  clientFinal: 'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=',
  serverFinal: 'v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=',
};
const pinned: SaslContext = { random: (n) => (n === 15 ? decodeBase64(RFC7677.nonce)! : new Uint8Array(n)) };

function rfcExchange(): SaslExchange {
  const x = SASL_SCRAM_SHA_256.create(RFC7677.credentials, pinned);
  assert.is(str(x.start()), 'n,,n=user,r=rOprNGfwEbeRWgbNEkqO');
  return x;
}

test('SCRAM-SHA-256: RFC 7677 §3 example, server signature verified', () => {
  const x = rfcExchange();
  assert.is(str(x.step(b(RFC7677.serverFirst))), RFC7677.clientFinal);
  assert.not.ok(x.complete(), 'not complete before the server signature');
  assert.equal(x.step(b(RFC7677.serverFinal)), new Uint8Array(0));
  assert.ok(x.complete());
  assert.throws(() => x.step(b('v=again')), isSasl);
});

test('SCRAM-SHA-256: a wrong server signature cancels and complete() stays false', () => {
  const x = rfcExchange();
  x.step(b(RFC7677.serverFirst));
  assert.throws(() => x.step(b('v=AAAATRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=')), isSasl);
  assert.not.ok(x.complete());
  const y = rfcExchange();
  y.step(b(RFC7677.serverFirst));
  assert.throws(() => y.step(b('v=not base64')), isSasl);
  assert.not.ok(y.complete());
});

test('SCRAM-SHA-256: 235 without a server-final leaves complete() false', () => {
  const x = rfcExchange();
  x.step(b(RFC7677.serverFirst));
  assert.not.ok(x.complete());
});

test('SCRAM-SHA-256: a server-final e= throws SaslError with the (escaped) reason', () => {
  const x = rfcExchange();
  x.step(b(RFC7677.serverFirst));
  try {
    x.step(b('e=invalid-proof\x1b[2J'));
    assert.unreachable('should throw');
  } catch (e) {
    assert.instance(e, SaslError);
    assert.match((e as Error).message, 'invalid-proof\\x1b[2J');
  }
  assert.not.ok(x.complete());
});

test('SCRAM-SHA-256: hostile server-first messages are refused', () => {
  const hostile = [
    'r=someoneElsesNonce123,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096', // nonce not extended
    'r=rOprNGfwEbeRWgbNEkqO,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096', // nonce not extended at all
    'r=rOprNGfwEbeRWgbNEkqO%h,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=1', // iteration count too low
    'r=rOprNGfwEbeRWgbNEkqO%h,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=99999999999', // too high
    'r=rOprNGfwEbeRWgbNEkqO%h,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=04096',
    'r=rOprNGfwEbeRWgbNEkqO%h,s=not*base64,i=4096',
    'r=rOprNGfwEbeRWgbNEkqO%h,s=,i=4096',
    'r=rOprNGfwEbeRWgbNEkqO%h,i=4096,s=W22ZaJ0SNY7soEsUEjb6gQ==', // attribute order
    'm=ext,r=rOprNGfwEbeRWgbNEkqO%h,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096',
    'e=other-error',
    '',
  ];
  for (const msg of hostile) {
    const x = rfcExchange();
    if (msg === '') {
      assert.equal(x.step(new Uint8Array(0)), b('n,,n=user,r=rOprNGfwEbeRWgbNEkqO'), 'empty challenge resends client-first');
      continue;
    }
    assert.throws(() => x.step(b(msg)), isSasl, msg);
  }
  const x = rfcExchange();
  assert.throws(() => x.step(Uint8Array.of(0x72, 0x3d, 0xff)), isSasl, 'invalid UTF-8');
});

test('SCRAM-SHA-256: escapes = and , in the user name, carries an authzid', () => {
  const x = SASL_SCRAM_SHA_256.create({ user: 'a=b,c', pass: 'p', authzid: 'boss,x' }, pinned);
  assert.is(str(x.start()), 'n,a=boss=2Cx,n=a=3Db=2Cc,r=rOprNGfwEbeRWgbNEkqO');
});

test('SCRAM-SHA-256: an empty first challenge asks for the client-first message', () => {
  const x = SASL_SCRAM_SHA_256.create(RFC7677.credentials, pinned);
  assert.is(str(x.step(new Uint8Array(0))), 'n,,n=user,r=rOprNGfwEbeRWgbNEkqO');
  assert.is(str(x.step(b(RFC7677.serverFirst))), RFC7677.clientFinal);
});

test('SCRAM-SHA-256: SASLprep maps, normalises and rejects controls', () => {
  // RFC 4013 §3 examples (bidi check excepted: not implemented).
  assert.is(saslPrep('I\u00adX', 'x'), 'IX');
  assert.is(saslPrep('user', 'x'), 'user');
  assert.is(saslPrep('USER', 'x'), 'USER');
  assert.is(saslPrep('\u00aa', 'x'), 'a');
  assert.is(saslPrep('\u2168', 'x'), 'IX');
  assert.throws(() => saslPrep('\u0007', 'x'), isSasl);
  assert.is(saslPrep('a\u00a0b', 'x'), 'a b');
  assert.throws(() => saslPrep('a\u200eb', 'x'), isSasl);
  assert.throws(() => saslPrep('a\ue000', 'x'), isSasl);
  assert.throws(() => saslPrep('a\ud800', 'x'), isSasl);
  assert.throws(() => SASL_SCRAM_SHA_256.create({ user: 'u\x7f', pass: 'p' }, context), isSasl);
  assert.throws(() => SASL_SCRAM_SHA_256.create({ user: 'u', pass: 'p\x01' }, context), isSasl);
});

// A SCRAM-SHA-256 server built from node:crypto, to check the client against on random input.
function nodeServer(user: string, pass: string, clientFirst: string, iterations: number) {
  const H = (d: Buffer) => createHash('sha256').update(d).digest();
  const mac = (k: Buffer, d: string) => createHmac('sha256', k).update(d).digest();
  const salt = randomBytes(16);
  const bare = clientFirst.slice(3);
  const cnonce = /,r=([^,]+)$/.exec(bare)![1]!;
  assert.is(bare.slice(0, bare.lastIndexOf(',r=')), `n=${user.replace(/=/g, '=3D').replace(/,/g, '=2C')}`);
  const serverFirst = `r=${cnonce}${randomBytes(9).toString('base64')},s=${salt.toString('base64')},i=${iterations}`;
  const salted = pbkdf2Sync(pass, salt, iterations, 32, 'sha256');
  return {
    serverFirst,
    final(clientFinal: string): string | undefined {
      const withoutProof = clientFinal.slice(0, clientFinal.lastIndexOf(',p='));
      const proof = Buffer.from(clientFinal.slice(clientFinal.lastIndexOf(',p=') + 3), 'base64');
      const auth = `${bare},${serverFirst},${withoutProof}`;
      const signature = mac(H(mac(salted, 'Client Key')), auth);
      const clientKey = Buffer.from(proof.map((x, i) => x ^ signature[i]!));
      if (!H(clientKey).equals(H(mac(salted, 'Client Key')))) return undefined;
      return `v=${mac(mac(salted, 'Server Key'), auth).toString('base64')}`;
    },
  };
}

test('property: SCRAM-SHA-256 client against a node:crypto server (40 runs)', () => {
  const ascii = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), minLength: 1, maxLength: 40 });
  fc.assert(
    fc.property(ascii, ascii, (user, pass) => {
      const x = SASL_SCRAM_SHA_256.create({ user, pass }, context);
      const server = nodeServer(user, pass, str(x.start())!, 4096);
      const serverFinal = server.final(str(x.step(b(server.serverFirst)))!);
      assert.ok(serverFinal, 'server accepts the proof');
      x.step(b(serverFinal));
      return x.complete();
    }),
    { numRuns: 40 },
  );
});

// ------------------------------------------------------------------ chooser

const pw: SaslCredentials = { user: 'u', pass: 'p' };
const tok: SaslCredentials = { user: 'u', token: 't' };
const both: SaslCredentials = { user: 'u', pass: 'p', token: 't' };
const pick = (server: string[], c: SaslCredentials, preferred?: string) => chooseMechanism(server, c, preferred)?.name;

test('chooseMechanism: strongest common mechanism the credentials satisfy', () => {
  assert.is(pick(['LOGIN', 'PLAIN', 'CRAM-MD5', 'SCRAM-SHA-256'], pw), 'SCRAM-SHA-256');
  assert.is(pick(['LOGIN', 'PLAIN', 'CRAM-MD5'], pw), 'CRAM-MD5');
  assert.is(pick(['LOGIN', 'PLAIN'], pw), 'PLAIN');
  assert.is(pick(['login'], pw), 'LOGIN');
  assert.is(pick(['XOAUTH2', 'OAUTHBEARER', 'PLAIN'], tok), 'OAUTHBEARER');
  assert.is(pick(['XOAUTH2', 'PLAIN'], tok), 'XOAUTH2');
  assert.is(pick(['PLAIN', 'LOGIN'], tok), undefined);
  assert.is(pick(['XOAUTH2'], pw), undefined);
  assert.is(pick(['XOAUTH2', 'SCRAM-SHA-256'], both), 'XOAUTH2');
  assert.is(pick(['GSSAPI', 'NTLM'], pw), undefined);
  assert.is(pick(['PLAIN'], { user: 'u', pass: '' }), undefined, 'empty password counts as absent');
});

test('chooseMechanism: an authzid rules out mechanisms that cannot carry it', () => {
  assert.is(pick(['LOGIN', 'CRAM-MD5', 'PLAIN'], { ...pw, authzid: 'boss' }), 'PLAIN');
  assert.is(pick(['LOGIN', 'CRAM-MD5'], { ...pw, authzid: 'boss' }), undefined);
  assert.is(pick(['XOAUTH2', 'OAUTHBEARER'], { ...tok, authzid: 'boss' }), 'OAUTHBEARER');
});

test('chooseMechanism: preferred mechanism', () => {
  assert.is(pick(['PLAIN', 'SCRAM-SHA-256'], pw, 'plain'), 'PLAIN');
  assert.is(pick(['PLAIN', 'SCRAM-SHA-256'], pw, 'LOGIN'), undefined, 'server does not list it');
  assert.is(pick([], pw, 'login'), 'LOGIN', 'server lists no AUTH at all');
  assert.is(pick(['XOAUTH2'], pw, 'XOAUTH2'), undefined, 'credentials cannot satisfy it');
  assert.is(pick([], pw, 'NTLM'), undefined, 'not a known mechanism');
});

test('chooseMechanism: server lists no AUTH and no preference', () => {
  assert.is(pick([], pw), 'PLAIN');
  assert.is(pick([], tok), 'XOAUTH2');
  assert.is(pick([], both), 'PLAIN');
  assert.is(pick([], { user: 'u' }), undefined);
});

test('chooseMechanism: custom mechanism list', () => {
  const custom = { name: 'X-CUSTOM', strength: 1000, needs: 'password' as const, create: SASL_PLAIN.create.bind(SASL_PLAIN) };
  assert.is(chooseMechanism(['PLAIN', 'X-CUSTOM'], pw, undefined, [...BUILTIN_MECHANISMS, custom])?.name, 'X-CUSTOM');
  assert.is(chooseMechanism(['PLAIN', 'X-CUSTOM'], pw)?.name, 'PLAIN');
  assert.is(chooseMechanism([], pw, undefined, [SASL_LOGIN]), undefined);
});

// ------------------------------------------------------------------ credential check

test('validateCredentials: NUL, CR, LF (and ^A outside the password) are usage errors', () => {
  validateCredentials({ user: 'u', pass: 'p \x01 ok', token: 't', authzid: 'a' });
  const bad: SaslCredentials[] = [
    { user: 'u\r\nRSET', pass: 'p' },
    { user: 'u', pass: 'p\0' },
    { user: 'u', pass: 'p\n' },
    { user: 'u', token: 't\r' },
    { user: 'u', token: 't\x01' },
    { user: 'u', pass: 'p', authzid: 'a\0b' },
    { user: 'u\x01', pass: 'p' },
    { user: '', pass: 'p' },
  ];
  for (const c of bad) {
    try {
      validateCredentials(c);
      assert.unreachable(JSON.stringify(c));
    } catch (e) {
      assert.instance(e, SmtpUsageError);
      assert.is((e as SmtpUsageError).code, 'EUSAGE');
      assert.not.match((e as Error).message, /p\0|t\r/, 'the value is not echoed');
    }
  }
});

test('a mechanism name goes on the wire after "AUTH ": CR, LF or anything outside RFC 4422 §3.1 is a usage error at construction', () => {
  const custom = (name: string): SaslMechanism => ({
    name,
    strength: 1,
    needs: 'password',
    create: () => ({ start: () => b('x'), step: () => new Uint8Array(0), complete: () => true }),
  });
  const credentials = { user: 'u', pass: 'p' };
  const open = (auth: AuthOptions) => new SmtpConnection({ host: 'h', secure: true, auth });
  const refused = (f: () => unknown, label: string) => {
    try {
      f();
    } catch (e) {
      assert.is((e as SmtpUsageError).code, 'EUSAGE', label);
      assert.match((e as Error).message, /RFC 4422/, label);
      assert.not.match((e as Error).message, /\r|\n/, 'the name is shown printable');
      return;
    }
    assert.unreachable(`${label}: accepted`);
  };
  // Before the check these wrote "AUTH X-ME\r\nMAIL FROM:<evil@example.com> eA==\r\n" after EHLO.
  refused(() => open({ credentials, mechanism: custom('X-ME\r\nMAIL FROM:<evil@example.com>') }), 'a mechanism object');
  refused(() => open({ credentials, mechanisms: [custom('X-ME\r\nRSET')], mechanism: 'X-ME\r\nRSET' }), 'a list and a preferred name');
  refused(() => open({ credentials, mechanisms: [SASL_PLAIN, custom('X ME')] }), 'a space');
  refused(() => open({ credentials, mechanism: 'PLAIN\0' }), 'a NUL in the preferred name');
  refused(() => open({ credentials, mechanisms: [custom('A'.repeat(21))] }), 'longer than 20');
  refused(() => open({ credentials, mechanisms: [null as unknown as SaslMechanism] }), 'not a mechanism');
  fc.assert(
    fc.property(fc.string({ minLength: 1, maxLength: 20 }), (name) => {
      const ok = /^[A-Za-z0-9_-]+$/.test(name);
      try {
        open({ credentials, mechanisms: [custom(name)], mechanism: name });
        return ok;
      } catch (e) {
        return !ok && (e as SmtpUsageError).code === 'EUSAGE';
      }
    }),
    { numRuns: 300, seed: 4422 },
  );
  for (const m of BUILTIN_MECHANISMS)
    open({ credentials: { ...credentials, token: 't' }, mechanisms: [m], mechanism: m.name.toLowerCase() });
});

test.run();

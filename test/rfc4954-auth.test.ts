// RFC 4954 AUTH byte for byte against scripted servers: each mechanism's exchange (RFC 2195 and
// RFC 7677 vectors), the 512-octet initial response rule, refusals, and never credentials on a
// plain link.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { script } from '../transports/mock.ts';
import { run } from './helpers.ts';

const NAME = 'client.example';

test('60 AUTH mechanisms on a plain link: no credentials sent', () => {
  const mechs = Array.from({ length: 60 }, (_, i) => `X-M${i}`).concat(['PLAIN', 'LOGIN']);
  const s = run(
    { name: NAME, tls: 'none', auth: { credentials: { user: 'u', pass: 'secret' } } },
    script()
      .send('220 mx')
      .expect(`EHLO ${NAME}`)
      .send('250-mx', `250 AUTH ${mechs.join(' ')}`)
      .expect('QUIT'),
    [],
    { quit: false },
  );
  assert.is(s.closedEvent?.error?.code, 'EAUTH');
  assert.ok(!s.clientText.includes('AUTH') && !s.clientText.includes('c2VjcmV0'));
});

test('a user name with no password or token: EAUTH says so, nothing is sent', () => {
  const s = run(
    { name: NAME, secure: true, auth: { credentials: { user: 'alice' } } },
    script().send('220 mx').expect(`EHLO ${NAME}`).send('250-mx', '250 AUTH PLAIN LOGIN XOAUTH2').expect('QUIT'),
    [],
    { quit: false },
  );
  assert.is(s.closedEvent?.error?.code, 'EAUTH');
  assert.match(s.closedEvent?.error?.message ?? '', 'auth.user "alice" has no password: give auth.pass, or auth.token');
  assert.ok(!s.clientText.includes('AUTH'));
});

test('AUTH CRAM-MD5: RFC 2195 vector on the wire', () => {
  const s = run(
    { name: NAME, secure: true, auth: { credentials: { user: 'tim', pass: 'tanstaaftanstaaf' } } },
    script()
      .send('220 mx')
      .expect(`EHLO ${NAME}`)
      .send('250-mx', '250 AUTH CRAM-MD5 PLAIN LOGIN')
      .expect('AUTH CRAM-MD5')
      .send('334 PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+')
      .expect('dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw')
      .send('235 ok')
      .expect('QUIT')
      .send('221 bye'),
  );
  assert.is(s.closedEvent?.error, undefined);
});

test('AUTH SCRAM-SHA-256: RFC 7677 vector on the wire, server signature checked', () => {
  const nonce = 'rOprNGfwEbeRWgbNEkqO';
  const random = (n: number) => {
    const b = Uint8Array.from(atob(nonce), (c) => c.charCodeAt(0));
    assert.is(n, b.length);
    return b;
  };
  const b64 = (s: string) => btoa(s);
  const s = run(
    { name: NAME, secure: true, random, auth: { credentials: { user: 'user', pass: 'pencil' } } },
    script()
      .send('220 mx')
      .expect(`EHLO ${NAME}`)
      .send('250-mx', '250 AUTH SCRAM-SHA-256 PLAIN')
      .expect(`AUTH SCRAM-SHA-256 ${b64('n,,n=user,r=' + nonce)}`)
      .send(`334 ${b64('r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096')}`)
      .expect(b64('c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ='))
      .send(`334 ${b64('v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=')}`)
      .expect('')
      .send('235 ok')
      .expect('QUIT')
      .send('221 bye'),
  );
  assert.is(s.closedEvent?.error, undefined, s.closedEvent?.error?.message);
});

test('AUTH SCRAM-SHA-256: wrong server signature cancels with *', () => {
  const nonce = 'rOprNGfwEbeRWgbNEkqO';
  const random = () => Uint8Array.from(atob(nonce), (c) => c.charCodeAt(0));
  const s = run(
    { name: NAME, secure: true, random, auth: { credentials: { user: 'user', pass: 'pencil' } } },
    script()
      .send('220 mx')
      .expect(`EHLO ${NAME}`)
      .send('250-mx', '250 AUTH SCRAM-SHA-256')
      .expect(/^AUTH SCRAM-SHA-256 /)
      .send(`334 ${btoa('r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096')}`)
      .expect(/./)
      .send(`334 ${btoa('v=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=')}`)
      .expect('*')
      .send('501 cancelled'),
    [],
    { quit: false },
  );
  assert.is(s.closedEvent?.error?.code, 'EAUTH');
});

test('AUTH XOAUTH2 and OAUTHBEARER initial responses', () => {
  const x = run(
    { name: NAME, secure: true, auth: { credentials: { user: 'u@x.org', token: 'tok' }, mechanism: 'XOAUTH2' } },
    script()
      .send('220 mx')
      .expect(`EHLO ${NAME}`)
      .send('250-mx', '250 AUTH XOAUTH2 OAUTHBEARER')
      .expect(`AUTH XOAUTH2 ${btoa('user=u@x.org\x01auth=Bearer tok\x01\x01')}`)
      .send('235 ok')
      .expect('QUIT')
      .send('221 bye'),
  );
  assert.is(x.closedEvent?.error, undefined);
  const o = run(
    { name: NAME, secure: true, host: 'mx.x.org', port: 465, auth: { credentials: { user: 'u@x.org', token: 'tok' } } },
    script()
      .send('220 mx')
      .expect(`EHLO ${NAME}`)
      .send('250-mx', '250 AUTH XOAUTH2 OAUTHBEARER')
      .expect(`AUTH OAUTHBEARER ${btoa('n,a=u@x.org,\x01host=mx.x.org\x01port=465\x01auth=Bearer tok\x01\x01')}`)
      .send('235 ok')
      .expect('QUIT')
      .send('221 bye'),
  );
  assert.is(o.closedEvent?.error, undefined, o.closedEvent?.error?.message);
});

test('AUTH: an initial response that would pass 512 octets waits for the 334', () => {
  const token = 'T'.repeat(600);
  const s = run(
    { name: NAME, secure: true, auth: { credentials: { user: 'u', token }, mechanism: 'XOAUTH2' } },
    script()
      .send('220 mx')
      .expect(`EHLO ${NAME}`)
      .send('250-mx', '250 AUTH XOAUTH2')
      .expect('AUTH XOAUTH2')
      .send('334 ')
      .expect(btoa(`user=u\x01auth=Bearer ${token}\x01\x01`))
      .send('235 ok')
      .expect('QUIT')
      .send('221 bye'),
  );
  assert.is(s.closedEvent?.error, undefined);
});

test('AUTH rejected (535): typed auth error, transient for 454', () => {
  for (const [reply, transient] of [
    ['535 5.7.8 bad credentials', false],
    ['454 4.7.0 try later', true],
  ] as const) {
    const s = run(
      { name: NAME, secure: true, auth: { credentials: { user: 'u', pass: 'p' } } },
      script()
        .send('220 mx')
        .expect(`EHLO ${NAME}`)
        .send('250-mx', '250 AUTH PLAIN')
        .expect(/^AUTH PLAIN /)
        .send(reply)
        .expect('QUIT'),
      [{ envelope: { from: 'a@x.org', to: ['b@x.org'] }, body: 'x' }],
      { quit: false },
    );
    assert.is(s.closedEvent?.error?.code, 'EAUTH');
    assert.is(s.closedEvent?.error?.transient, transient);
    assert.is(s.results[0]!.outcome, 'rejected');
  }
});

test('server lists no AUTH: the legacy rule tries PLAIN', () => {
  const s = run(
    { name: NAME, secure: true, auth: { credentials: { user: 'u', pass: 'p' } } },
    script()
      .send('220 mx')
      .expect(`EHLO ${NAME}`)
      .send('250 mx')
      .expect('AUTH PLAIN AHUAcA==')
      .send('235 ok')
      .expect('QUIT')
      .send('221 bye'),
  );
  assert.is(s.closedEvent?.error, undefined);
});

test.run();

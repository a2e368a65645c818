// RFC 3207 STARTTLS (and RFC 8314 implicit TLS) byte for byte against scripted servers: the
// upgrade and the second EHLO, the injection check, stripping with TLS required, opportunistic
// fallback without AUTH in clear, and a failed handshake.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { script } from '../transports/mock.ts';
import { run } from './helpers.ts';
import { SmtpConnection } from '../core/full.ts';

const NAME = 'client.example';

test('STARTTLS: upgrade, forget the old capabilities, EHLO again, then AUTH', () => {
  const s = run(
    { name: NAME, tls: 'required', auth: { credentials: { user: 'u', pass: 'p' } } },
    script()
      .send('220 mx')
      .expect(`EHLO ${NAME}`)
      .send('250-mx', '250-AUTH PLAIN', '250-PIPELINING', '250 STARTTLS')
      .expect('STARTTLS')
      .send('220 go ahead')
      .tls()
      .expect(`EHLO ${NAME}`)
      .send('250-mx', '250 AUTH PLAIN LOGIN')
      .expect('AUTH PLAIN AHUAcA==')
      .send('235 ok')
      // Pre-TLS PIPELINING was forgotten: commands go one at a time now.
      .expect('MAIL FROM:<a@x.org>')
      .send('250 ok')
      .expect('RCPT TO:<b@x.org>')
      .send('250 ok')
      .expect('DATA')
      .send('354 go')
      .expect('.')
      .send('250 ok')
      .expect('QUIT')
      .send('221 bye'),
    [{ envelope: { from: 'a@x.org', to: ['b@x.org'] }, body: 'x\r\n' }],
  );
  assert.is(s.results[0]!.outcome, 'accepted');
  const ready = s.events.find((e) => e.type === 'ready');
  assert.ok(ready && ready.type === 'ready' && ready.secure && ready.authenticated);
  assert.is(ready.type === 'ready' && ready.capabilities.pipelining, false);
  assert.ok(s.outputs.some((o) => o.type === 'start-tls'));
});

test('STARTTLS injection: a reply after the 220 in the same segment fails closed', () => {
  const s = run(
    { name: NAME, tls: 'required', auth: { credentials: { user: 'u', pass: 'p' } } },
    script()
      .send('220 mx')
      .expect(`EHLO ${NAME}`)
      .send('250-mx', '250 STARTTLS')
      .expect('STARTTLS')
      .sendRaw('220 go\r\n250-evil\r\n250 AUTH PLAIN\r\n')
      .tls(),
    [],
    { quit: false },
  );
  assert.is(s.closedEvent?.error?.code, 'EPROTOCOL');
  assert.ok(!s.clientText.includes('AUTH'));
  assert.not.ok(
    s.outputs.some((o) => o.type === 'start-tls'),
    'no handshake is started with a server caught injecting',
  );
});

test('STARTTLS injection: a partial line after the 220 fails closed too', () => {
  const s = run(
    { name: NAME, tls: 'required' },
    script().send('220 mx').expect(`EHLO ${NAME}`).send('250-mx', '250 STARTTLS').expect('STARTTLS').sendRaw('220 go\r\n25'),
    [],
    { quit: false },
  );
  assert.is(s.closedEvent?.error?.code, 'EPROTOCOL');
});

for (const [label, reply] of [
  ['not advertised', null],
  ['454', '454 TLS not available'],
  ['502', '502 no'],
  ['354', '354 what'],
  ['garbage', 'xyz'],
] as const) {
  test(`STARTTLS required, ${label}: no AUTH, no MAIL, typed error`, () => {
    const b = script().send('220 mx');
    if (reply === null) b.expect(`EHLO ${NAME}`).send('250-mx', '250 AUTH PLAIN');
    else b.expect(`EHLO ${NAME}`).send('250-mx', '250-AUTH PLAIN', '250 STARTTLS').expect('STARTTLS').send(reply);
    const s = run({ name: NAME, tls: 'required', auth: { credentials: { user: 'u', pass: 'p' } } }, b, [
      { envelope: { from: 'a@x.org', to: ['b@x.org'] }, body: 'x' },
    ]);
    assert.ok(['ETLS', 'EPROTOCOL'].includes(s.closedEvent?.error?.code ?? ''), s.closedEvent?.error?.message);
    assert.ok(!s.clientText.includes('AUTH') && !s.clientText.includes('MAIL'));
    assert.is(s.results[0]!.outcome, 'rejected');
  });
}

test('opportunistic STARTTLS refused: go on in clear, but never AUTH in clear', () => {
  const s = run(
    { name: NAME, auth: { credentials: { user: 'u', pass: 'p' } } },
    script()
      .send('220 mx')
      .expect(`EHLO ${NAME}`)
      .send('250-mx', '250-AUTH PLAIN', '250 STARTTLS')
      .expect('STARTTLS')
      .send('454 4.7.0 not now')
      .expect('QUIT'),
    [],
    { quit: false },
  );
  assert.is(s.closedEvent?.error?.code, 'EAUTH');
  assert.ok(!s.clientText.includes('AUTH'));
});

test('implicit TLS: no STARTTLS, AUTH right away', () => {
  const s = run(
    { name: NAME, secure: true, auth: { credentials: { user: 'u', pass: 'p' }, mechanism: 'LOGIN' } },
    script()
      .send('220 mx')
      .expect(`EHLO ${NAME}`)
      .send('250-mx', '250 AUTH=LOGIN')
      .expect('AUTH LOGIN')
      .send('334 VXNlcm5hbWU6')
      .expect('dQ==')
      .send('334 UGFzc3dvcmQ6')
      .expect('cA==')
      .send('235 2.7.0 ok')
      .expect('QUIT')
      .send('221 bye'),
  );
  assert.is(s.closedEvent?.error, undefined);
});

test('a failed STARTTLS handshake is a TLS error, and a typed transport error passes through', () => {
  const clock = 0;
  const core = new SmtpConnection({ tls: 'required' });
  core.start(clock);
  for (const line of ['220 mx', '250-mx\r\n250 STARTTLS', '220 go']) core.receive(new TextEncoder().encode(line + '\r\n'), clock);
  while (core.poll(clock).type !== 'wait');
  assert.is(core.state, 'tls');
  core.transportError(new Error('self-signed certificate'), 1);
  let closed: import('../core/events.ts').SmtpEvent | undefined;
  for (let o = core.poll(1); o.type !== 'wait'; o = core.poll(1)) if (o.type === 'event' && o.event.type === 'closed') closed = o.event;
  assert.is(closed?.type === 'closed' && closed.error?.code, 'ETLS');
});

test.run();

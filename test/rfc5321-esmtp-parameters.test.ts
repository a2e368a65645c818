// ESMTP parameters (RFC 5321 §2.2, SIZE RFC 1870, 8BITMIME RFC 6152, DSN RFC 3461, SMTPUTF8
// RFC 6531) go on MAIL/RCPT only when advertised; a message that needs a missing one is a typed
// error before MAIL. Byte for byte against scripted servers.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { script } from '../transports/mock.ts';
import { run } from './helpers.ts';

const NAME = 'client.example';

test('DSN and ESMTP parameters only when advertised', () => {
  const envelope = {
    from: 'a@x.org',
    to: [{ address: 'b@x.org', notify: ['SUCCESS', 'FAILURE'] as const, orcpt: 'b+1=x@x.org' }],
    dsn: { ret: 'HDRS' as const, envid: 'id 1' },
    size: 3,
    body: '8BITMIME' as const,
  };
  const s = run(
    { name: NAME, tls: 'none' },
    script()
      .send('220 mx')
      .expect(`EHLO ${NAME}`)
      .send('250-mx', '250-DSN', '250-SIZE', '250 8BITMIME')
      .expect('MAIL FROM:<a@x.org> SIZE=3 BODY=8BITMIME RET=HDRS ENVID=id+201')
      .send('250 ok')
      .expect('RCPT TO:<b@x.org> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;b+2B1+3Dx@x.org')
      .send('250 ok')
      .expect('DATA')
      .send('354 go')
      .expect('.')
      .send('250 ok')
      .expect('QUIT')
      .send('221 bye'),
    [{ envelope: { ...envelope, to: [...envelope.to] }, body: 'hé\r\n' }],
  );
  assert.is(s.results[0]!.outcome, 'accepted');
  const t = run(
    { name: NAME, tls: 'none' },
    script()
      .send('220 mx')
      .expect(`EHLO ${NAME}`)
      .send('250-mx', '250 8BITMIME')
      .expect('MAIL FROM:<a@x.org> BODY=8BITMIME')
      .send('250 ok')
      .expect('RCPT TO:<b@x.org>')
      .send('250 ok')
      .expect('DATA')
      .send('354 go')
      .expect('.')
      .send('250 ok')
      .expect('QUIT')
      .send('221 bye'),
    [{ envelope: { ...envelope, to: [...envelope.to] }, body: 'hé\r\n' }],
  );
  assert.is(t.results[0]!.outcome, 'accepted');
});

test('8BITMIME / SMTPUTF8 / SIZE needed but missing: typed error before MAIL, session goes on', () => {
  const s = run(
    { name: NAME, tls: 'none' },
    script().send('220 mx').expect(`EHLO ${NAME}`).send('250-mx', '250 SIZE 100').expect('QUIT').send('221 bye'),
    [
      { envelope: { from: 'a@x.org', to: ['b@x.org'], body: '8BITMIME' }, body: 'x' },
      { envelope: { from: 'a@x.org', to: ['jörg@x.org'] }, body: 'x' },
      { envelope: { from: 'a@x.org', to: ['b@x.org'], size: 101 }, body: 'x' },
    ],
  );
  assert.equal(
    s.results.map((r) => [r.outcome, r.error?.code]),
    [
      ['rejected', 'ECAPABILITY'],
      ['rejected', 'ECAPABILITY'],
      ['rejected', 'ECAPABILITY'],
    ],
  );
  assert.ok(!s.clientText.includes('MAIL'));
});

test.run();

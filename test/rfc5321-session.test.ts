// RFC 5321 sessions byte for byte against scripted servers: greeting, EHLO/HELO, MAIL/RCPT/DATA,
// dot-stuffing, QUIT, NOOP/RSET, and how every transaction settles (accepted, rejected, unknown).
// Split from the former transcript.test.ts by RFC: pipelining, BDAT, LMTP, STARTTLS, AUTH and ESMTP
// parameters have files of their own (rfc2920-, rfc3030-, rfc2033-, rfc3207-, rfc4954-, rfc5321-esmtp-).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { script } from '../transports/mock.ts';
import { run, lines, dec } from './helpers.ts';
import { SmtpConnection } from '../core/full.ts';

const NAME = 'client.example';

test('plain session: EHLO, MAIL, RCPT, DATA, body, QUIT', () => {
  const s = run(
    { name: NAME, tls: 'none' },
    script()
      .send('220 mx.example ESMTP')
      .expect(`EHLO ${NAME}`)
      .send('250-mx.example', '250 8BITMIME')
      .expect('MAIL FROM:<a@example.com>')
      .send('250 ok')
      .expect('RCPT TO:<b@example.org>')
      .send('250 ok')
      .expect('DATA')
      .send('354 go')
      .expect('.')
      .send('250 2.0.0 queued as X')
      .expect('QUIT')
      .send('221 bye'),
    [{ envelope: { from: 'a@example.com', to: ['b@example.org'] }, body: 'Subject: hi\r\n\r\nhello\r\n' }],
  );
  assert.is(
    s.clientText,
    lines(`EHLO ${NAME}`, 'MAIL FROM:<a@example.com>', 'RCPT TO:<b@example.org>', 'DATA', 'Subject: hi', '', 'hello', '.', 'QUIT'),
  );
  assert.is(s.results.length, 1);
  assert.is(s.results[0]!.outcome, 'accepted');
  assert.equal(
    s.results[0]!.accepted.map((r) => r.address),
    ['b@example.org'],
  );
  assert.is(s.closedEvent?.error, undefined);
  assert.ok(s.closed);
  assert.is(dec.decode(s.server.messages[0]), 'Subject: hi\r\n\r\nhello\r\n');
});

test('EHLO refused with 502: HELO fallback, no extensions used', () => {
  const s = run(
    { name: NAME, tls: 'opportunistic' },
    script()
      .send('220 old.example')
      .expect(`EHLO ${NAME}`)
      .send('502 5.5.2 what?')
      .expect(`HELO ${NAME}`)
      .send('250 old.example')
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
    [{ envelope: { from: 'a@x.org', to: ['b@x.org'], size: 10 }, body: 'x\r\n' }],
  );
  assert.is(s.results[0]!.outcome, 'accepted');
  assert.ok(!s.clientText.includes('SIZE='), 'no ESMTP parameter after HELO');
});

test('EHLO not understood (500): HELO fallback', () => {
  const s = run(
    { name: NAME },
    script()
      .send('220 old')
      .expect(`EHLO ${NAME}`)
      .send('500 unrecognized')
      .expect(`HELO ${NAME}`)
      .send('250 old')
      .expect('QUIT')
      .send('221 bye'),
  );
  assert.is(s.closedEvent?.error, undefined);
});

test('a failed transaction with nothing after it: QUIT needs no RSET', () => {
  const s = run(
    { name: NAME, tls: 'none' },
    script()
      .send('220 mx')
      .expect(`EHLO ${NAME}`)
      .send('250 mx')
      .expect('MAIL FROM:<a@x.org>')
      .send('250 ok')
      .expect('RCPT TO:<b@x.org>')
      .send('550 no')
      .expect('QUIT')
      .send('221 bye'),
    [{ envelope: { from: 'a@x.org', to: ['b@x.org'] }, body: 'x\r\n' }],
  );
  assert.is(s.results[0]!.outcome, 'rejected');
});

test('MAIL FROM rejected: transaction rejected with that reply, connection stays usable', () => {
  const s = run(
    { name: NAME, tls: 'none' },
    script()
      .send('220 mx')
      .expect(`EHLO ${NAME}`)
      .send('250 mx')
      .expect('MAIL FROM:<bad@x.org>')
      .send('553 5.7.1 sender refused')
      .expect('MAIL FROM:<good@x.org>')
      .send('250 ok')
      .expect('RCPT TO:<b@x.org>')
      .send('250 ok')
      .expect('DATA')
      .send('354 go')
      .expect('.')
      .send('250 ok')
      .expect('QUIT')
      .send('221 bye'),
    [
      { envelope: { from: 'bad@x.org', to: ['b@x.org'] }, body: 'x\r\n' },
      { envelope: { from: 'good@x.org', to: ['b@x.org'] }, body: 'y\r\n' },
    ],
  );
  assert.equal(
    s.results.map((r) => r.outcome),
    ['rejected', 'accepted'],
  );
  assert.is(s.results[0]!.reply?.code, 553);
});

test('greeting 554: QUIT politely, typed permanent error; 421: transient', () => {
  const s = run(
    { name: NAME },
    script().send('554 5.7.1 go away').expect('QUIT'),
    [{ envelope: { from: 'a@x.org', to: ['b@x.org'] }, body: 'x' }],
    { quit: false },
  );
  assert.is(s.closedEvent?.error?.code, 'EREPLY');
  assert.is(s.closedEvent?.error?.transient, false);
  assert.is(s.results[0]!.outcome, 'rejected');
  const t = run({ name: NAME }, script().send('421 4.3.2 busy'), [{ envelope: { from: 'a@x.org', to: ['b@x.org'] }, body: 'x' }], {
    quit: false,
  });
  assert.is(t.closedEvent?.error?.transient, true);
  assert.is(t.results[0]!.error?.transient, true);
});

test('link lost after the final dot: outcome unknown, never sent or failed', () => {
  const s = run(
    { name: NAME, tls: 'none' },
    script()
      .send('220 mx')
      .expect(`EHLO ${NAME}`)
      .send('250 mx')
      .expect('MAIL FROM:<a@x.org>')
      .send('250 ok')
      .expect('RCPT TO:<b@x.org>')
      .send('250 ok')
      .expect('DATA')
      .send('354 go')
      .expect('.')
      .reset(),
    [{ envelope: { from: 'a@x.org', to: ['b@x.org'] }, body: 'x\r\n' }],
    { quit: false },
  );
  assert.is(s.results[0]!.outcome, 'unknown');
  assert.is(s.closedEvent?.error?.code, 'ECONNECTION');
});

test('a 3xx to the end of data is unknown, never accepted', () => {
  const s = run(
    { name: NAME, tls: 'none' },
    script()
      .send('220 mx')
      .expect(`EHLO ${NAME}`)
      .send('250 mx')
      .expect('MAIL FROM:<a@x.org>')
      .send('250 ok')
      .expect('RCPT TO:<b@x.org>')
      .send('250 ok')
      .expect('DATA')
      .send('354 go')
      .expect('.')
      .send('354 more please'),
    [{ envelope: { from: 'a@x.org', to: ['b@x.org'] }, body: 'x\r\n' }],
    { quit: false },
  );
  assert.is(s.results[0]!.outcome, 'unknown');
  assert.is(s.closedEvent?.error?.code, 'EPROTOCOL');
});

test('a 3xx to MAIL or RCPT is not an acceptance', () => {
  const s = run(
    { name: NAME, tls: 'none' },
    script()
      .send('220 mx')
      .expect(`EHLO ${NAME}`)
      .send('250 mx')
      .expect('MAIL FROM:<a@x.org>')
      .send('250 ok')
      .expect('RCPT TO:<b@x.org>')
      .send('354 odd')
      .expect('QUIT')
      .send('221 bye'),
    [{ envelope: { from: 'a@x.org', to: ['b@x.org'] }, body: 'x\r\n' }],
  );
  // RCPT cannot get a 3xx (RFC 5321 §4.3.2): the replies are out of step, so the session fails
  // and the message, whose end was never written, is rejected as transient (issue 12).
  assert.is(s.results[0]!.outcome, 'rejected');
  assert.is(s.results[0]!.error?.code, 'EPROTOCOL');
  assert.is(s.results[0]!.error?.transient, true);
  assert.equal(s.results[0]!.accepted, []);
  assert.is(s.closedEvent?.error?.code, 'EPROTOCOL');
});

test('link lost before the final dot: rejected as transient', () => {
  const s = run(
    { name: NAME, tls: 'none' },
    script().send('220 mx').expect(`EHLO ${NAME}`).send('250 mx').expect('MAIL FROM:<a@x.org>').send('250 ok').eof(),
    [{ envelope: { from: 'a@x.org', to: ['b@x.org'] }, body: 'x\r\n' }],
    { quit: false },
  );
  assert.is(s.results[0]!.outcome, 'rejected');
  assert.is(s.results[0]!.error?.transient, true);
});

for (const [label, dataReply, closes] of [
  ['refused', '554 5.5.1 not now', false],
  ['accepted', '354 go', true],
] as const) {
  test(`cancel while DATA awaits its reply (${label}): rejected now, the link closes only if 354 comes`, () => {
    const s = run(
      { name: NAME, tls: 'none' },
      script()
        .send('220 mx')
        .expect(`EHLO ${NAME}`)
        .send('250-mx', '250 PIPELINING')
        .expect('MAIL FROM:<a@x.org>', 'RCPT TO:<b@x.org>', 'DATA')
        .send('250 ok', '250 ok', dataReply)
        .expect(...(closes ? [] : ['RSET', 'MAIL FROM:<a@x.org>', 'RCPT TO:<c@x.org>', 'DATA']))
        .send(...(closes ? [] : ['250 ok', '250 ok', '250 ok', '354 go']))
        .expect(...(closes ? [] : ['.']))
        .send(...(closes ? [] : ['250 ok'])),
      [{ envelope: { from: 'a@x.org', to: ['b@x.org'] } }, { envelope: { from: 'a@x.org', to: ['c@x.org'] }, body: 'two\r\n' }],
      {
        quit: false,
        onEvent: (e, core, clock) => {
          if (e.type === 'ready') core.cancel(1, clock.now);
        },
      },
    );
    assert.is(s.results[0]!.outcome, 'rejected');
    assert.is(s.results[0]!.error?.code, 'EABORT');
    if (closes) {
      assert.is(s.closedEvent?.error?.code, 'ECONNECTION');
      assert.is(s.results[1]!.outcome, 'rejected');
      assert.ok(!s.clientText.includes('\r\n.\r\n'), 'no dot was sent for the cancelled message');
    } else {
      assert.is(s.results[1]!.outcome, 'accepted');
      assert.is(s.server.messages.length, 1);
      assert.is(dec.decode(s.server.messages[0]), 'two\r\n');
    }
  });
}

test('NOOP and RSET on request', () => {
  const clock0 = script()
    .send('220 mx')
    .expect(`EHLO ${NAME}`)
    .send('250 mx')
    .expect('NOOP')
    .send('250 2.0.0 ok')
    .expect('RSET')
    .send('250 flushed')
    .expect('QUIT')
    .send('221 bye');
  const s = run({ name: NAME, tls: 'none' }, clock0, [], {
    quit: false,
    onEvent: (e, core, clock) => {
      if (e.type === 'ready') {
        core.noop(clock.now);
        core.rset(clock.now);
        core.quit(clock.now);
      }
    },
  });
  const cmds = s.events.filter((e) => e.type === 'command');
  assert.equal(
    cmds.map((e) => e.type === 'command' && [e.command, e.reply.code]),
    [
      ['NOOP', 250],
      ['RSET', 250],
    ],
  );
});

test('transcript events: AUTH redacted, server text printable', () => {
  const s = run(
    { name: NAME, secure: true, transcript: true, auth: { credentials: { user: 'u', pass: 'hunter2' } } },
    script()
      .send('220 mx \x1b[31mred\x1b[0m')
      .expect(`EHLO ${NAME}`)
      .send('250-mx', '250 AUTH PLAIN')
      .expect(/^AUTH PLAIN/)
      .send('235 ok')
      .expect('QUIT')
      .send('221 bye'),
  );
  const text = s.events
    .filter((e) => e.type === 'transcript')
    .map((e) => e.type === 'transcript' && `${e.from}: ${e.text}`)
    .join('\n');
  assert.ok(text.includes('client: AUTH PLAIN <redacted>'), text);
  assert.ok(!text.includes(btoa('\0u\0hunter2')));
  assert.ok(!text.includes('\x1b'));
  assert.ok(text.includes('\\x1b[31mred'));
});

test('DATA: a whole body changed after send() to hold "\\r\\n.\\r\\n" is still stuffed (checked when written)', () => {
  const enc = new TextEncoder();
  const core = new SmtpConnection({ name: NAME, tls: 'none' });
  const wire: Uint8Array[] = [];
  const drain = (): void => {
    for (let o = core.poll(0); o.type !== 'wait'; o = core.poll(0)) if (o.type === 'write') wire.push(...o.chunks);
  };
  core.start(0);
  core.receive(enc.encode('220 mx\r\n'), 0);
  drain();
  core.receive(enc.encode('250-mx\r\n250 PIPELINING\r\n'), 0); // no CHUNKING: DATA
  drain();
  const body = enc.encode('Subject: x\r\n\r\nline one\r\nline two\r\n'); // clean when sent
  core.send({ from: 'a@x.org', to: ['b@x.org'] }, 0, body);
  drain();
  body.set(enc.encode('\r\n.\r\n'), 'Subject: x\r\n\r\nline one'.length); // "...one\r\n.\r\ne two\r\n"
  core.receive(enc.encode('250 ok\r\n250 ok\r\n354 go\r\n'), 0);
  drain();
  const text = wire.map((v) => dec.decode(v)).join('');
  const data = text.slice(text.indexOf('DATA\r\n') + 6);
  assert.is(data, 'Subject: x\r\n\r\nline one\r\n..\r\ne two\r\n.\r\n');
});

test.run();

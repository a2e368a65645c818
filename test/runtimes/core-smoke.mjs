// Loads the published core entries (dist/core/index.js, dist/core/internal.js) the way a browser
// or a Worker with no Node compatibility would, and drives one whole session through the public
// one against the scripted mock server: AUTH PLAIN, a pipelined transaction with a rejected
// recipient, a SCRAM-free QUIT.
// Run in workerd without nodejs_compat by browser-bundle.mjs.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as core from '../../dist/core/index.js';
import * as internal from '../../dist/core/internal.js';
import { script, ScriptedServer, drive, VirtualClock } from '../../dist/transports/mock.js';

test('smtpwire/core loads with its public API, smtpwire/core/internal with the building blocks', () => {
  for (const name of ['SmtpConnection', 'composeMessage', 'SmtpError', 'SmtpUsageError']) {
    assert.type(core[name], 'function', name);
  }
  for (const name of ['ReplyParser', 'BodyEncoder', 'parseEhloReply']) {
    assert.type(internal[name], 'function', `internal ${name}`);
    assert.is(core[name], undefined, `${name} is not public`);
  }
});

test('one session through the core: AUTH PLAIN, pipelining, a rejected recipient, QUIT', () => {
  const enc = new TextEncoder();
  const dec = new TextDecoder();
  const clock = new VirtualClock(1000);
  const conn = new core.SmtpConnection({
    name: 'client.example',
    tls: 'none',
    allowInsecureAuth: true,
    auth: { credentials: { user: 'u', pass: 'p' }, mechanism: 'PLAIN' },
  });
  const server = new ScriptedServer(
    script()
      .send('220 mx.example ESMTP')
      .expect('EHLO client.example')
      .send('250-mx.example', '250-PIPELINING', '250-AUTH PLAIN', '250 8BITMIME')
      .expect('AUTH PLAIN AHUAcA==')
      .send('235 ok')
      .expect('MAIL FROM:<a@x.org>', 'RCPT TO:<b@x.org>', 'RCPT TO:<nobody@x.org>', 'DATA')
      .send('250 ok', '250 ok', '550 no such user', '354 go')
      .expect('.')
      .send('250 queued')
      .expect('QUIT')
      .send('221 bye'),
  );
  conn.start(clock.now);
  const id = conn.send({ from: 'a@x.org', to: ['b@x.org', 'nobody@x.org'] }, clock.now);
  conn.writeBody(id, enc.encode('Subject: hi\r\n\r\n.dot\r\n'), clock.now);
  conn.endBody(id, clock.now);
  conn.quit(clock.now);
  const result = drive(conn, server, { clock, started: true });
  const tx = result.events.find((e) => e.type === 'transaction').result;
  assert.is(tx.outcome, 'accepted');
  assert.equal(
    tx.accepted.map((r) => r.address),
    ['b@x.org'],
  );
  assert.equal(
    tx.rejected.map((r) => r.address),
    ['nobody@x.org'],
  );
  assert.is(dec.decode(server.messages[0]), 'Subject: hi\r\n\r\n.dot\r\n');
  assert.is(result.events.at(-1).type, 'closed');
  assert.is(result.events.at(-1).error, undefined);
});

test.run();

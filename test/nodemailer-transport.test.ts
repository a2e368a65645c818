// smtpwire/nodemailer: nodemailer (the real package) builds messages, smtpwire's pool sends them
// to the in-memory testing server. Delivered bytes equal what nodemailer built; `info` has
// nodemailer's shape plus `outcome`; rejected and unknown come back as errors saying which.
// The same against real MTAs (Postfix, aiosmtpd) is in test/interop/nodemailer-suite.ts.
import { generateKeyPairSync } from 'node:crypto';
import nodemailer from 'nodemailer';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { exitWhenDone } from './exit-when-done.ts';
import { createTestServer } from '../testing/index.ts';
import { smtpwireTransport, type SmtpwireInfo } from '../nodemailer/transport.ts';
import { teed } from './nodemailer-tee.ts';

test("nodemailer messages (text, HTML, attachments, DKIM) arrive byte for byte; info has nodemailer's shape", async () => {
  const server = createTestServer();
  const built: Buffer[] = [];
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
  const mailer = nodemailer.createTransport(teed(smtpwireTransport({ host: 'mx.test', transport: server.transport }), built) as never, {
    dkim: { domainName: 'example.com', keySelector: 'sel', privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string },
  });
  const infos: SmtpwireInfo[] = [];
  infos.push(
    (await mailer.sendMail({
      from: 'Sender <sender@example.com>',
      to: 'a@example.net, b@example.net',
      subject: 'Hello ✔',
      text: 'Hello world?',
      html: '<b>Hello world?</b>',
    })) as never,
  );
  infos.push(
    (await mailer.sendMail({
      from: 'sender@example.com',
      to: 'c@example.net',
      cc: 'd@example.net',
      bcc: 'hidden@example.net',
      subject: 'attachments',
      text: 'see attached',
      attachments: [
        { filename: 'text1.txt', content: 'hello world!' },
        { filename: 'bin.dat', content: Buffer.from([0, 1, 2, 255]) },
      ],
    })) as never,
  );
  mailer.close();
  assert.is(server.messages.length, 2);
  server.messages.forEach((m, i) => assert.equal(Buffer.from(m.raw), built[i]!, `message ${i} byte for byte`));
  const [a, b] = infos as [SmtpwireInfo, SmtpwireInfo];
  assert.is(a.outcome, 'accepted');
  assert.equal(a.accepted, ['a@example.net', 'b@example.net']);
  assert.equal(a.rejected, []);
  assert.equal(a.envelope, { from: 'sender@example.com', to: ['a@example.net', 'b@example.net'] });
  assert.match(a.response, /^250 2\.0\.0 queued as 1$/);
  assert.is(a.messageId, server.messages[0]!.header('message-id'));
  assert.ok(server.messages[0]!.header('dkim-signature')?.includes('d=example.com'), 'nodemailer signed it');
  assert.equal(b.envelope.to, ['c@example.net', 'd@example.net', 'hidden@example.net'], 'Bcc in the envelope');
  assert.is(server.messages[1]!.header('bcc'), undefined, 'and not in the headers');
  assert.equal(
    server.messages[1]!.attachments.map((p) => [p.filename, Buffer.from(p.content).toString('hex')]),
    [
      ['text1.txt', Buffer.from('hello world!').toString('hex')],
      ['bin.dat', '000102ff'],
    ],
  );
});

test('partly and wholly refused recipients; 421; a link lost after the dot is "unknown"', async () => {
  const server = createTestServer({ rules: { rejectRecipients: [{ match: /^no@/, code: 550 }], dropAfterEnd: [2] } });
  const mailer = nodemailer.createTransport(smtpwireTransport({ host: 'mx.test', transport: server.transport, retries: 0 }) as never);
  const part = (await mailer.sendMail({
    from: 's@example.com',
    to: ['yes@example.net', 'no@example.net'],
    subject: 'x',
    text: 'y',
  })) as unknown as SmtpwireInfo;
  assert.equal([part.accepted, part.rejected], [['yes@example.net'], ['no@example.net']]);
  assert.is(part.rejectedErrors[0]!.message, 'Recipient command failed: 550 5.1.1 recipient refused (testing rule)');
  const unknown = await mailer.sendMail({ from: 's@example.com', to: 'yes@example.net', subject: 'x', text: 'y' }).then(
    () => undefined,
    (e) => e,
  );
  assert.is(unknown?.outcome, 'unknown');
  assert.is(unknown?.code, 'EUNKNOWN');
  const refused = await mailer.sendMail({ from: 's@example.com', to: 'no@example.net', subject: 'x', text: 'y' }).then(
    () => undefined,
    (e) => e,
  );
  assert.is(refused?.outcome, 'rejected');
  assert.is(refused?.code, 'EENVELOPE');
  assert.is(refused?.info?.rejected[0], 'no@example.net');
  mailer.close();
});

test('verify() opens and closes a session; a bad password fails it', async () => {
  const server = createTestServer({ rules: { auth: { users: { u: 'p' } } } });
  const good = nodemailer.createTransport(
    smtpwireTransport({ host: 'mx.test', transport: server.transport, auth: { user: 'u', pass: 'p' } }) as never,
  );
  assert.is(await good.verify(), true);
  const bad = nodemailer.createTransport(
    smtpwireTransport({ host: 'mx.test', transport: server.transport, auth: { user: 'u', pass: 'x' } }) as never,
  );
  const err = await bad.verify().then(
    () => undefined,
    (e) => e,
  );
  assert.is(err?.responseCode, 535);
});

exitWhenDone(test);
test.run();

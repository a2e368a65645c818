// International addresses through the Node client against an independent SMTP server
// (nodemailer's smtp-server): the raw MAIL FROM / RCPT TO lines it logs, with and without
// SMTPUTF8. The expected A-labels are Node's own UTS #46 (url.domainToASCII); the server turns
// them back into U-labels with its own Punycode (punycode.js), which must give the domain back.
import { domainToASCII } from 'node:url';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { exitWhenDone } from './exit-when-done.ts';
import { connect } from '../transports/node.ts';
import { commandLogger } from './smtp-server-log.ts';

interface Received {
  from: string;
  to: string[];
  utf8: boolean;
}

async function startServer(
  hideSMTPUTF8: boolean,
): Promise<{ port: number; received: Received[]; commands: string[]; close(): Promise<void> }> {
  const received: Received[] = [];
  const commands: string[] = [];
  const server = new SMTPServer({
    logger: commandLogger(commands),
    authOptional: true,
    disableReverseLookup: true,
    closeTimeout: 200,
    hideSTARTTLS: true,
    hideSMTPUTF8,
    onData(stream, session, cb) {
      stream.resume();
      stream.on('end', () => {
        received.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          utf8: commands.some((c) => /^MAIL .* SMTPUTF8$/.test(c)),
        });
        cb(null);
      });
    },
  });
  server.on('error', () => {});
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.server.address() as AddressInfo).port;
  return { port, received, commands, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

const FROM = 'sender@B\u00fccher.example';
const TO = ['r@\u4f8b\u5b50.\u5e7f\u544a', 'plain@ascii.example'];
const body = 'Subject: idn\r\n\r\nHello.\r\n';

test('server without SMTPUTF8: U-label domains arrive as A-labels; a UTF-8 local part is refused before MAIL', async () => {
  const srv = await startServer(true);
  const client = await connect({ host: '127.0.0.1', port: srv.port, tls: 'none' });
  const r = await client.send({ from: FROM, to: TO, body });
  assert.is(r.outcome, 'accepted', String(r.error));
  const r2 = await client.send({ from: 'a@ascii.example', to: ['j\u00f6rg@b\u00fccher.example'], body });
  assert.is(r2.outcome, 'rejected');
  assert.is(r2.error?.code, 'ECAPABILITY');
  await client.close();
  await srv.close();
  const mail = srv.commands.filter((c) => /^(MAIL|RCPT) /.test(c));
  assert.equal(mail, [
    `MAIL FROM:<sender@${domainToASCII('B\u00fccher.example')}>`,
    `RCPT TO:<r@${domainToASCII('\u4f8b\u5b50.\u5e7f\u544a')}>`,
    'RCPT TO:<plain@ascii.example>',
  ]);
  assert.is(mail[1], 'RCPT TO:<r@xn--fsqu00a.xn--4rr70v>');
  // smtp-server decodes the A-labels with its own Punycode: the domains come back.
  assert.equal(srv.received, [
    { from: 'sender@b\u00fccher.example', to: ['r@\u4f8b\u5b50.\u5e7f\u544a', 'plain@ascii.example'], utf8: false },
  ]);
  assert.not.ok(
    srv.commands.some((c) => c.includes('j\u00f6rg')),
    'the refused address never reached the server',
  );
});

test('server with SMTPUTF8: the addresses arrive in UTF-8, with SMTPUTF8 on MAIL', async () => {
  const srv = await startServer(false);
  const client = await connect({ host: '127.0.0.1', port: srv.port, tls: 'none' });
  const r = await client.send({ from: FROM, to: [...TO, 'j\u00f6rg@b\u00fccher.example'], body });
  assert.is(r.outcome, 'accepted', String(r.error));
  await client.close();
  await srv.close();
  assert.equal(
    srv.commands.filter((c) => /^(MAIL|RCPT) /.test(c)),
    [`MAIL FROM:<${FROM}> SMTPUTF8`, ...[...TO, 'j\u00f6rg@b\u00fccher.example'].map((a) => `RCPT TO:<${a}>`)],
  );
  assert.equal(srv.received, [{ from: FROM, to: [...TO, 'j\u00f6rg@b\u00fccher.example'], utf8: true }]);
});

exitWhenDone(test);
test.run();

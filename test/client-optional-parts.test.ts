// The lean wiring the Worker entry uses (client/entry.ts with no parts), here over Node's sockets
// against an independent server (nodemailer's smtp-server): what is left out must be a typed
// error that names the import, each opt-in must work once imported, and the Node entry (every
// part) must keep its behaviour. The Worker entry itself runs the same opt-ins in workerd
// (test/runtimes/worker-entry.mjs) and is measured by bench/bundle-size.mjs.
import { domainToASCII } from 'node:url';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { exitWhenDone } from './exit-when-done.ts';
import { bindConnect, bindSendMail } from '../client/entry.ts';
import { messages } from '../client/messages.ts';
import { proxies } from '../client/proxies.ts';
import { derivePbkdf2, slicedPbkdf2 } from '../client/pbkdf2.ts';
import { idn } from '../core/idn.ts';
import { SASL_CRAM_MD5, SASL_PLAIN, SASL_XOAUTH2 } from '../core/sasl/index.ts';
import { SmtpAuthError, SmtpUsageError } from '../core/errors.ts';
import { buildMessage } from '../message/build.ts';
import { connect as nodeConnect, nodeTransport } from '../transports/node.ts';
import { commandLogger } from './smtp-server-log.ts';

const leanConnect = bindConnect(nodeTransport);
const leanSendMail = bindSendMail(nodeTransport);

interface Server {
  port: number;
  commands: string[];
  received: string[];
  close(): Promise<void>;
}

async function startServer(authMethods: string[], hideSMTPUTF8 = true): Promise<Server> {
  const commands: string[] = [];
  const received: string[] = [];
  const server = new SMTPServer({
    logger: commandLogger(commands),
    authMethods,
    allowInsecureAuth: true,
    authOptional: true,
    disableReverseLookup: true,
    closeTimeout: 200,
    hideSTARTTLS: true,
    hideSMTPUTF8,
    onAuth(auth, _session, cb) {
      const ok =
        auth.method === 'XOAUTH2'
          ? auth.accessToken === 'tok'
          : auth.method === 'CRAM-MD5'
            ? auth.validatePassword('secret')
            : auth.password === 'secret';
      cb(ok ? null : new Error('bad credentials'), ok ? { user: auth.username } : undefined);
    },
    onData(stream, _session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        received.push(Buffer.concat(chunks).toString('utf8'));
        cb(null);
      });
    },
  });
  server.on('error', () => {});
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.server.address() as AddressInfo).port;
  return { port, commands, received, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

const base = (port: number) => ({ host: '127.0.0.1', port, tls: 'none' as const, allowInsecureAuth: true });
const raw = { from: 'a@example.com', to: ['b@example.org'], body: 'Subject: hi\r\n\r\nhello\r\n' };
const authLine = (s: Server) => s.commands.find((c) => c.startsWith('AUTH '))?.split(' ')[1];

async function usageError(run: () => Promise<unknown>, names: string): Promise<void> {
  try {
    await run();
    assert.unreachable('should have failed');
  } catch (err) {
    assert.instance(err, SmtpUsageError, String(err));
    assert.ok((err as Error).message.includes(names), `"${(err as Error).message}" should name ${names}`);
  }
}

test('SASL: lean picks PLAIN where the Node entry picks CRAM-MD5; auth.mechanisms opts in', async () => {
  const srv = await startServer(['PLAIN', 'LOGIN', 'CRAM-MD5']);
  try {
    const lean = await leanConnect({ ...base(srv.port), auth: { user: 'u', pass: 'secret' } });
    await lean.close();
    assert.is(authLine(srv), 'PLAIN');
    srv.commands.length = 0;
    const full = await nodeConnect({ ...base(srv.port), auth: { user: 'u', pass: 'secret' } });
    await full.close();
    assert.is(authLine(srv), 'CRAM-MD5');
    srv.commands.length = 0;
    const optedIn = await leanConnect({ ...base(srv.port), auth: { user: 'u', pass: 'secret', mechanisms: [SASL_CRAM_MD5, SASL_PLAIN] } });
    await optedIn.close();
    assert.is(authLine(srv), 'CRAM-MD5');
  } finally {
    await srv.close();
  }
});

test('SASL: a token, or a named mechanism, that the lean list lacks is a usage error naming smtpwire/sasl; with it, XOAUTH2 authenticates', async () => {
  const srv = await startServer(['PLAIN', 'XOAUTH2']);
  try {
    await usageError(() => leanConnect({ ...base(srv.port), auth: { user: 'u', token: 'tok' } }), "from 'smtpwire/sasl'");
    await usageError(() => leanConnect({ ...base(srv.port), auth: { user: 'u', pass: 'secret', mechanism: 'CRAM-MD5' } }), 'SASL_CRAM_MD5');
    assert.not.ok(
      srv.commands.some((c) => c.startsWith('AUTH ')),
      'nothing was tried',
    );
    const client = await leanConnect({ ...base(srv.port), auth: { user: 'u', token: 'tok', mechanisms: [SASL_XOAUTH2] } });
    await client.close();
    assert.is(authLine(srv), 'XOAUTH2');
  } finally {
    await srv.close();
  }
});

test('SASL: a server offering only mechanisms the lean list lacks: the AUTH error says what to import', async () => {
  const srv = await startServer(['CRAM-MD5']);
  try {
    await leanConnect({ ...base(srv.port), auth: { user: 'u', pass: 'secret' } });
    assert.unreachable('should have failed');
  } catch (err) {
    assert.instance(err, SmtpAuthError, String(err));
    assert.match((err as Error).message, "import { SASL_CRAM_MD5 } from 'smtpwire/sasl'");
  } finally {
    await srv.close();
  }
});

test('IDN: no codec and no SMTPUTF8 asked is a usage error naming smtpwire/idn; smtpUtf8: true sends U-labels; `idn` sends A-labels', async () => {
  const to = ['r@b\u00fccher.example'];
  const utf8 = await startServer([], false);
  try {
    const lean = await leanConnect(base(utf8.port));
    await usageError(() => lean.send({ ...raw, to }), "import { idn } from 'smtpwire/idn'");
    const r = await lean.send({ ...raw, to, smtpUtf8: true });
    assert.is(r.outcome, 'accepted', String(r.error));
    await lean.close();
    assert.equal(
      utf8.commands.filter((c) => /^(MAIL|RCPT) /.test(c)),
      ['MAIL FROM:<a@example.com> SMTPUTF8', `RCPT TO:<${to[0]}>`],
    );
  } finally {
    await utf8.close();
  }
  const ascii = await startServer([], true);
  try {
    const withIdn = await leanConnect({ ...base(ascii.port), idn });
    assert.is((await withIdn.send({ ...raw, to })).outcome, 'accepted');
    await withIdn.close();
    // The expected A-labels are Node's own UTS #46.
    assert.equal(
      ascii.commands.filter((c) => c.startsWith('RCPT ')),
      [`RCPT TO:<r@${domainToASCII('b\u00fccher.example')}>`],
    );
  } finally {
    await ascii.close();
  }
});

test('proxies: a proxy URL without the part is a usage error naming smtpwire/proxy (before connecting); with it, the URL is checked', async () => {
  await usageError(() => leanConnect({ ...base(1), proxy: 'socks5://127.0.0.1:1080' }), "import { proxies } from 'smtpwire/proxy'");
  await usageError(() => leanConnect({ ...base(1), proxy: 'ftp://127.0.0.1:1080', proxies }), 'ftp');
});

test('messages: builder options and DKIM need the part (usage errors naming it); a built message needs none; sendMail composes with none', async () => {
  const srv = await startServer([]);
  try {
    const lean = await leanConnect(base(srv.port));
    const mail = { from: 'a@example.com', to: 'b@example.org', subject: 'built', text: 'hello' };
    await usageError(() => lean.send(mail), "import { messages } from 'smtpwire/message'");
    await usageError(
      () => lean.send({ ...raw, dkim: { domain: 'example.com', selector: 's', privateKey: 'x' } }),
      "import { messages } from 'smtpwire/message'",
    );
    assert.is((await lean.send(buildMessage(mail))).outcome, 'accepted');
    await lean.close();
    const withMessages = await leanConnect({ ...base(srv.port), messages });
    assert.is((await withMessages.send({ ...mail, subject: 'from options' })).outcome, 'accepted');
    await withMessages.close();
    assert.is((await leanSendMail({ ...base(srv.port), ...mail, subject: 'sendMail' })).outcome, 'accepted');
    assert.is(srv.received.length, 3);
    assert.match(srv.received[1]!, /^Subject: from options\r$/m);
  } finally {
    await srv.close();
  }
});

test('PBKDF2: with no WebCrypto and no fallback part, the error names slicedPbkdf2; with it, the pure code runs', async () => {
  const request = {
    algorithm: 'PBKDF2-SHA-256' as const,
    password: new Uint8Array([1]),
    salt: new Uint8Array([2]),
    iterations: 2,
    length: 32,
  };
  try {
    await derivePbkdf2(request, undefined, null);
    assert.unreachable('should have failed');
  } catch (err) {
    assert.match((err as Error).message, "import { slicedPbkdf2 } from 'smtpwire'");
  }
  const { key, by } = await derivePbkdf2(request, undefined, null, slicedPbkdf2);
  assert.is(key.length, 32);
  assert.match(by, 'pure TypeScript');
});

exitWhenDone(test);
test.run();

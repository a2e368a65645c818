// client.send() and sendMail() with built messages and builder options, against a real
// smtp-server on 127.0.0.1 with and without 8BITMIME/SMTPUTF8: the message is rendered for the
// server it meets (8bit or quoted-printable, UTF-8 or A-label domains), the envelope comes from
// To/Cc/Bcc, Bcc never reaches the message. What arrived is read with mailparser.
import type { AddressInfo } from 'node:net';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SmtpUsageError } from '../core/errors.ts';
import { buildMessage } from '../message/index.ts';
import { connect, createPool, sendMail } from '../transports/node.ts';

interface Received {
  from: string;
  to: string[];
  body: string;
  smtpUtf8: boolean;
  data: Buffer;
}

async function server(options: SMTPServerOptions = {}): Promise<{ port: number; got: Received[]; close(): Promise<void> }> {
  const got: Received[] = [];
  const s = new SMTPServer({
    logger: false,
    disableReverseLookup: true,
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    closeTimeout: 500,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const env = session.envelope as typeof session.envelope & { bodyType?: string; smtpUtf8?: boolean };
        got.push({
          from: env.mailFrom ? env.mailFrom.address : '',
          to: env.rcptTo.map((r) => r.address),
          body: env.bodyType ?? '',
          smtpUtf8: env.smtpUtf8 === true,
          data: Buffer.concat(chunks),
        });
        callback();
      });
    },
    ...options,
  });
  s.on('error', () => {});
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  return { port: (s.server.address() as AddressInfo).port, got, close: () => new Promise((r) => s.close(() => r())) };
}

const parse = (data: Buffer): Promise<ParsedMail> => (simpleParser as unknown as (b: Buffer, o: object) => Promise<ParsedMail>)(data, {});
const plain = (port: number) => ({ host: '127.0.0.1', port, tls: 'none' as const });

test('sendMail with builder options: envelope from To/Cc/Bcc, Bcc not in the message, parts read back', async () => {
  const s = await server();
  try {
    const r = await sendMail({
      ...plain(s.port),
      from: 'Ann <ann@example.com>',
      to: ['bob@example.org', 'Carol <carol@example.org>'],
      cc: 'dave@example.net',
      bcc: ['eve@example.net'],
      subject: 'Plan',
      text: 'Grüße',
      html: '<p>Grüße</p>',
      attachments: [{ filename: 'a.txt', content: 'attached\n' }],
    });
    assert.is(r.outcome, 'accepted');
    const m = s.got[0]!;
    assert.is(m.from, 'ann@example.com');
    assert.equal(m.to, ['bob@example.org', 'carol@example.org', 'dave@example.net', 'eve@example.net']);
    assert.not.ok(m.data.includes('eve@example.net'));
    const p = await parse(m.data);
    assert.is(p.text, 'Grüße');
    assert.is(p.html, '<p>Grüße</p>');
    assert.is(p.attachments[0]!.content.toString(), 'attached\n');
  } finally {
    await s.close();
  }
});

test('8bit only when the server has 8BITMIME; quoted-printable and no 8-bit octet otherwise', async () => {
  for (const hide8BITMIME of [false, true]) {
    const s = await server({ hide8BITMIME, hideSMTPUTF8: hide8BITMIME });
    try {
      const client = await connect(plain(s.port));
      const r = await client.send(
        buildMessage({
          from: 'a@example.com',
          to: 'b@example.org',
          subject: 'Grüße',
          text: 'Viele Grüße aus Köln und einen schönen Tag noch\n',
        }),
      );
      await client.close();
      assert.is(r.outcome, 'accepted', r.error?.message);
      const m = s.got[0]!;
      const eightBit = m.data.some((b) => b >= 0x80);
      assert.is(eightBit, !hide8BITMIME, `8-bit octets with hide8BITMIME=${hide8BITMIME}`);
      assert.is(m.body, hide8BITMIME ? '7bit' : '8bitmime');
      assert.match(
        m.data.toString('latin1'),
        hide8BITMIME ? /Content-Transfer-Encoding: quoted-printable/ : /Content-Transfer-Encoding: 8bit/,
      );
      assert.is((await parse(m.data)).text, 'Viele Grüße aus Köln und einen schönen Tag noch\n');
    } finally {
      await s.close();
    }
  }
});

test('an IDN domain: UTF-8 with SMTPUTF8, A-labels without; a UTF-8 local part without SMTPUTF8 is a usage error', async () => {
  for (const hideSMTPUTF8 of [false, true]) {
    const s = await server({ hideSMTPUTF8 });
    try {
      const log: string[] = [];
      const client = await connect({ ...plain(s.port), logger: (e) => log.push(e.text) });
      const r = await client.send({ from: 'a@example.com', to: 'Jürgen <j@bücher.example>', text: 'x' });
      assert.is(r.outcome, 'accepted', r.error?.message);
      const m = s.got[0]!;
      // (smtp-server shows domains in U-labels whatever came: the transcript shows what was sent.)
      assert.ok(log.includes(hideSMTPUTF8 ? 'RCPT TO:<j@xn--bcher-kva.example>' : 'RCPT TO:<j@bücher.example>'), log.join('\n'));
      assert.match(
        m.data.toString('utf8'),
        hideSMTPUTF8 ? /^To: =\?UTF-8\?.*<j@xn--bcher-kva\.example>\r$/m : /^To: Jürgen <j@bücher\.example>\r$/m,
      );
      assert.is(m.smtpUtf8, !hideSMTPUTF8);
      if (hideSMTPUTF8) {
        assert.ok(
          m.data.every((b) => b < 0x80),
          'an ASCII message for a server without SMTPUTF8',
        );
        let err: unknown;
        try {
          await client.send({ from: 'a@example.com', to: 'jürgen@example.org', text: 'x' });
        } catch (e) {
          err = e;
        }
        assert.instance(err, SmtpUsageError);
        assert.is(s.got.length, 1);
      }
      await client.close();
    } finally {
      await s.close();
    }
  }
});

test('send() with builder options takes a signal: an aborted one never starts', async () => {
  const s = await server();
  try {
    const client = await connect(plain(s.port));
    const ac = new AbortController();
    ac.abort();
    const r = await client.send({ from: 'a@example.com', to: 'b@example.org', text: 'x', signal: ac.signal });
    assert.is(r.outcome, 'rejected');
    assert.is(r.error?.code, 'EABORT');
    await client.close();
    assert.is(s.got.length, 0);
  } finally {
    await s.close();
  }
});

test('a pool sends built messages and builder options', async () => {
  const s = await server();
  try {
    const pool = createPool({ ...plain(s.port), maxConnections: 2 });
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        pool.send(
          i % 2
            ? buildMessage({ from: 'a@example.com', to: `r${i}@example.org`, subject: `built ${i}`, text: `n${i}` })
            : { from: 'a@example.com', to: `r${i}@example.org`, subject: `options ${i}`, html: `<p>n${i}</p>` },
        ),
      ),
    );
    await pool.close();
    assert.ok(results.every((r) => r.outcome === 'accepted'));
    assert.equal(s.got.map((m) => m.to[0]).sort(), [
      'r0@example.org',
      'r1@example.org',
      'r2@example.org',
      'r3@example.org',
      'r4@example.org',
      'r5@example.org',
    ]);
    for (const m of s.got) assert.match((await parse(m.data)).subject ?? '', /^(built|options) \d$/);
  } finally {
    await s.close();
  }
});

test('an attachment that fails while the message is sent: rejected, nothing delivered (never a false sent)', async () => {
  const s = await server();
  try {
    const client = await connect(plain(s.port));
    const failing = async function* (): AsyncGenerator<Uint8Array> {
      yield new Uint8Array(200_000).fill(65);
      throw new Error('disk gone');
    };
    const r = await client.send({
      from: 'a@example.com',
      to: 'b@example.org',
      text: 'x',
      attachments: [{ filename: 'x.bin', content: failing }],
    });
    assert.is(r.outcome, 'rejected');
    assert.match(String(r.error?.message), /disk gone/);
    await client.close(); // a DATA body cannot be withdrawn mid-way: the core closes the link
    assert.is(s.got.length, 0);
  } finally {
    await s.close();
  }
});

test('builder errors are typed and raised before any connection', async () => {
  for (const bad of [
    { from: 'not an address', to: 'b@example.org' },
    { from: 'a@example.com' },
    { from: 'a@example.com', to: 'b@example.org', headers: { 'Content-Type': 'text/html' } },
    { from: 'a@example.com', to: 'b@example.org', attachments: [{ content: 42 }] },
    { from: 'a@example.com', to: 'b@example.org', listUnsubscribe: { url: 'mailto:u@example.com', oneClick: true } },
    // Options of the wrong type (from JavaScript, or JSON) are usage errors too, not TypeErrors.
    { from: 'a@example.com', to: 'b@example.org', attachments: 'report.pdf' },
    { from: 'a@example.com', to: 'b@example.org', references: 42 },
  ]) {
    let err: unknown;
    try {
      await sendMail({ ...plain(1), ...(bad as { from: string }) });
    } catch (e) {
      err = e;
    }
    assert.instance(err, SmtpUsageError, JSON.stringify(bad));
  }
});

test.run();

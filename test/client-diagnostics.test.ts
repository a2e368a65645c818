// client/diagnostics.ts: common connection mistakes become errors that say what to do, fast.
// Fake transports stand in for what each runtime's TLS library reports (the real thing, against
// real servers in Node, Deno and Bun, is in test/proxy/cases.ts).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { connect } from '../client/client.ts';
import { SmtpTlsError } from '../core/errors.ts';
import type { Link, LinkHandlers, Transport } from '../client/transport.ts';
import { ScriptedServer, mockTransport, script } from '../transports/mock.ts';

/** A link that sends `first` (or nothing) and otherwise stays quiet. */
function quietTransport(first?: Uint8Array): Transport {
  return {
    name: 'fake',
    connect: async (_params, handlers: LinkHandlers): Promise<Link> => {
      let closed = false;
      if (first) setTimeout(() => !closed && handlers.data(first), 5);
      return {
        secure: false,
        write: () => true,
        startTls: () => Promise.reject(new Error('no TLS here')),
        close: () => {
          closed = true;
        },
        destroy: () => {
          closed = true;
        },
      };
    },
  };
}

/** connect() rejects the way a transport wraps its TLS library's error. */
function failingTls(code: string, message: string): Transport {
  return {
    name: 'fake',
    connect: async () => {
      const raw = Object.assign(new Error(message), { code });
      const err = new SmtpTlsError(`TLS failed: ${message}`);
      (err as { cause?: unknown }).cause = raw;
      throw err;
    },
  };
}

async function rejection(p: Promise<unknown>): Promise<Error & { code?: string }> {
  try {
    await p;
  } catch (err) {
    return err as Error & { code?: string };
  }
  throw new Error('resolved, expected a rejection');
}

test('clear text to port 465 that stays silent: ETLS "speaks TLS from the first byte" within seconds', async () => {
  const started = Date.now();
  const err = await rejection(connect({ host: 'mx.test', port: 465, tls: 'starttls', transport: quietTransport() }));
  const took = Date.now() - started;
  assert.is(err.code, 'ETLS');
  assert.match(err.message, 'this port speaks TLS from the first byte: use smtps://');
  assert.ok(took >= 2900 && took < 6000, `took ${took} ms`);
});

test('a TLS record where the greeting should be: ETLS at once, on any port', async () => {
  const alert = Uint8Array.of(0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x46);
  const started = Date.now();
  const err = await rejection(connect({ host: 'mx.test', port: 2525, transport: quietTransport(alert) }));
  assert.is(err.code, 'ETLS');
  assert.match(err.message, 'answered with a TLS record instead of an SMTP greeting');
  assert.ok(Date.now() - started < 1000);
});

test("implicit TLS to a clear-text port: OpenSSL's text becomes the hint, on one line", async () => {
  const err = await rejection(
    connect({
      host: 'mx.test',
      port: 587,
      tls: 'implicit',
      transport: failingTls(
        'ERR_SSL_WRONG_VERSION_NUMBER',
        'C0D7:error:0A00010B:SSL routines:ssl3_get_record:wrong version number:../deps/openssl/ssl/record/ssl3_record.c:354:\n',
      ),
    }),
  );
  assert.is(err.code, 'ETLS');
  assert.match(err.message, 'this port speaks clear text first');
  assert.match(err.message, 'smtp://');
  assert.not.match(err.message, /\n|\\x0a/);
});

test('rustls (Deno) saying the same: recognised too', async () => {
  const err = await rejection(
    connect({
      host: 'mx.test',
      port: 25,
      tls: 'implicit',
      transport: failingTls('', 'received corrupt message of type InvalidContentType'),
    }),
  );
  assert.match(err.message, 'speaks clear text first');
});

test('certificate failures name the reason and point at ca / --ca', async () => {
  const cases: [string, string, RegExp][] = [
    ['DEPTH_ZERO_SELF_SIGNED_CERT', 'self-signed certificate', /self-signed/],
    ['SELF_SIGNED_CERT_IN_CHAIN', 'self-signed certificate in certificate chain', /CA that is not trusted/],
    ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'unable to verify the first certificate', /not trusted/],
    ['', 'invalid peer certificate: UnknownIssuer', /not trusted/],
    ['CERT_HAS_EXPIRED', 'certificate has expired', /expired/],
  ];
  for (const [code, message, reason] of cases) {
    const err = await rejection(connect({ host: 'mx.test', port: 465, tls: 'implicit', transport: failingTls(code, message) }));
    assert.is(err.code, 'ETLS');
    assert.match(err.message, reason, message);
    assert.match(err.message, '`ca` option (CLI: --ca FILE)', message);
  }
  const name = await rejection(
    connect({
      host: 'mx.test',
      port: 465,
      tls: 'implicit',
      transport: failingTls(
        'ERR_TLS_CERT_ALTNAME_INVALID',
        "Hostname/IP does not match certificate's altnames: Host: mx.test. is not in the cert's altnames: DNS:other",
      ),
    }),
  );
  assert.match(name.message, 'not issued for the name "mx.test"');
  assert.match(name.message, 'servername');
});

test('a clear-text server on port 465 that greets is not taken for a TLS port', async () => {
  const server = new ScriptedServer(
    script()
      .send('220 plain on 465')
      .expect(/^EHLO /)
      .send('250 ok')
      .expect('QUIT')
      .send('221 bye'),
  );
  const client = await connect({ host: 'mx.test', port: 465, tls: 'none', transport: mockTransport(server) });
  await new Promise((r) => setTimeout(r, 3500)); // past the 3 s silence limit
  assert.is(client.isClosed, false);
  await client.close();
  assert.is(await client.closed, undefined);
});

test.run();

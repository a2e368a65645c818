// RFC 3207 STARTTLS against hostile servers: scripted raw node:net / node:tls servers on 127.0.0.1
// (test/hostile-server.ts) driving the REAL Node transport and client. Response injection after
// the 220 (RFC 3207 §5), stripping when TLS is required, no fallback to clear text after a failed
// handshake, and certificates for the wrong name or self-signed. Split from
// client-hostile-servers.test.ts; the same attacks at the core level are in rfc3207-starttls.test.ts.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { exitWhenDone } from './exit-when-done.ts';
import { rejection, within } from './helpers.ts';
import {
  closeAllServers,
  unhandled,
  key,
  cert,
  ca,
  sleep,
  type Peer,
  allServers,
  serve,
  session,
  base,
  mail,
  withAuth,
} from './hostile-server.ts';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { connect } from '../transports/node.ts';

test.after(closeAllServers);
if (process.env.HOSTILE_DEBUG) test.before.each((ctx) => console.error('>>', (ctx as { __test__?: string }).__test__));

// ================================================================ STARTTLS response injection

/** SMTP command lines the client sent after STARTTLS. (The server in these tests never takes
 *  the link over with TLS, so a ClientHello, if the client sends one, is read here as a binary
 *  "line": only text that looks like a command counts.) */
function commandsAfterStartTls(peer: Peer): string[] {
  const at = peer.lines.indexOf('STARTTLS');
  assert.ok(at >= 0, 'STARTTLS was sent');
  return peer.lines.slice(at + 1).filter((l) => /^[A-Za-z]{4}( |$)/.test(l));
}

test('STARTTLS injection: extra replies after the 220 in the same segment fail closed', async () => {
  const srv = await serve(
    session({
      caps: ['STARTTLS', 'AUTH PLAIN'],
      hook: async (line, peer) => {
        if (line !== 'STARTTLS') return undefined;
        // Injected by an on-path attacker in clear, after the 220, in one TCP segment.
        await peer.send('220 2.0.0 go ahead\r\n250-mx.evil\r\n250 AUTH PLAIN\r\n235 2.7.0 ok\r\n');
        return 'handled';
      },
    }),
  );
  const err = await rejection(within(5000, connect(base(srv.port, { tls: 'required-starttls', ca, ...withAuth })), 'connect'));
  assert.is(err.code, 'EPROTOCOL');
  assert.match(err.message, /STARTTLS injection/);
  await sleep(20);
  const peer = srv.peers[0]!;
  assert.equal(commandsAfterStartTls(peer), [], 'no SMTP command after STARTTLS');
  assert.not.ok(peer.saw('AUTH') || peer.saw('MAIL'));
  assert.not.ok(peer.leakedInClear());
  await srv.close();
});

test('STARTTLS injection: a partial line after the 220 fails closed', async () => {
  const srv = await serve(
    session({
      caps: ['STARTTLS'],
      hook: async (line, peer) => {
        if (line !== 'STARTTLS') return undefined;
        await peer.send('220 2.0.0 go ahead\r\n250 AUTH PL');
        return 'handled';
      },
    }),
  );
  const err = await rejection(within(5000, connect(base(srv.port, { tls: 'starttls', ca, ...withAuth })), 'connect'));
  assert.is(err.code, 'EPROTOCOL');
  await sleep(20);
  assert.equal(commandsAfterStartTls(srv.peers[0]!), []);
  assert.not.ok(srv.peers[0]!.leakedInClear());
  await srv.close();
});

test('STARTTLS injection: clear-text bytes in a later segment are never read as SMTP', async () => {
  const srv = await serve(
    session({
      caps: ['STARTTLS'],
      hook: async (line, peer) => {
        if (line !== 'STARTTLS') return undefined;
        await peer.send('220 2.0.0 go ahead\r\n');
        await sleep(5);
        await peer.send('250-mx.evil\r\n250 AUTH PLAIN\r\n'); // lands in the TLS layer: a bad record
        return 'handled';
      },
    }),
  );
  const err = await rejection(within(5000, connect(base(srv.port, { tls: 'starttls', ca, ...withAuth })), 'connect'));
  assert.ok(['ETLS', 'ECONNECTION', 'EPROTOCOL', 'ETIMEOUT'].includes(err.code), `${err.code}: ${err.message}`);
  await sleep(20);
  const peer = srv.peers[0]!;
  assert.equal(commandsAfterStartTls(peer), []);
  assert.not.ok(peer.saw('AUTH') || peer.saw('MAIL'));
  assert.not.ok(peer.leakedInClear());
  await srv.close();
});

test('STARTTLS: nothing said before TLS is believed after it (capabilities are re-read)', async () => {
  const srv = await serve(
    session({
      // Before TLS: a tiny SIZE and a weak mechanism. After TLS: no SIZE, only LOGIN.
      caps: ['STARTTLS', 'SIZE 100', 'AUTH PLAIN', 'PIPELINING'],
      tlsCaps: ['AUTH LOGIN', 'CHUNKING', 'PIPELINING', '8BITMIME'],
    }),
  );
  const client = await within(5000, connect(base(srv.port, { tls: 'required-starttls', ca, ...withAuth })), 'connect');
  assert.is(client.secure, true);
  assert.not.ok(client.capabilities.size, 'SIZE from before TLS is forgotten');
  assert.ok(client.capabilities.chunking);
  const r = await client.send({ from: 'a@example.com', to: 'b@example.com', body: mail('after tls', 'x'.repeat(500)) });
  assert.is(r.outcome, 'accepted');
  await client.close();
  const peer = srv.peers[0]!;
  assert.equal(peer.lines.filter((l) => l.startsWith('EHLO')).length, 2, 'EHLO again after TLS');
  assert.ok(peer.lines.includes('AUTH LOGIN'), `chose from the post-TLS list: ${peer.lines.join(' | ')}`);
  assert.not.ok(peer.leakedInClear());
  assert.is(peer.messages[0]!.body.toString(), mail('after tls', 'x'.repeat(500)));
  await srv.close();
});

// ================================================================ STARTTLS stripping, TLS required

const STRIPPING: { name: string; caps: string[]; reply?: string; codes: string[] }[] = [
  { name: 'not advertised', caps: ['AUTH PLAIN LOGIN', 'PIPELINING'], codes: ['ETLS'] },
  { name: '454 refusal', caps: ['STARTTLS', 'AUTH PLAIN'], reply: '454 4.7.0 TLS not available\r\n', codes: ['ETLS'] },
  { name: '502 refusal', caps: ['STARTTLS', 'AUTH PLAIN'], reply: '502 5.5.1 not implemented\r\n', codes: ['ETLS'] },
  // STARTTLS cannot get a 3xx: out of step, a protocol error (issue 12), still no AUTH or MAIL.
  { name: '354 nonsense', caps: ['STARTTLS', 'AUTH PLAIN'], reply: '354 go on\r\n', codes: ['EPROTOCOL'] },
  { name: '421 closing', caps: ['STARTTLS', 'AUTH PLAIN'], reply: '421 4.3.2 closing\r\n', codes: ['ECONNECTION', 'ETLS'] },
  { name: 'garbage', caps: ['STARTTLS', 'AUTH PLAIN'], reply: 'HTTP/1.1 400 Bad Request\r\n', codes: ['EPROTOCOL'] },
];

for (const s of STRIPPING) {
  test(`STARTTLS stripping with TLS required (${s.name}): no AUTH, no MAIL, a typed error`, async () => {
    const srv = await serve(session({ caps: s.caps, hook: (line) => (line === 'STARTTLS' && s.reply ? s.reply : undefined) }));
    const err = await rejection(within(5000, connect(base(srv.port, { tls: 'required-starttls', ca, ...withAuth })), 'connect'));
    assert.ok(s.codes.includes(err.code), `${err.code}: ${err.message}`);
    await sleep(20);
    const peer = srv.peers[0]!;
    assert.not.ok(peer.saw('AUTH'), 'no AUTH');
    assert.not.ok(peer.saw('MAIL'), 'no MAIL');
    assert.not.ok(peer.leakedInClear(), 'no credentials on the wire');
    await srv.close();
  });
}

test('STARTTLS: a handshake that fails after the 220 never falls back to clear text', async () => {
  const srv = await serve(
    session({
      caps: ['STARTTLS', 'AUTH PLAIN'],
      hook: async (line, peer) => {
        if (line !== 'STARTTLS') return undefined;
        await peer.send('220 2.0.0 go ahead\r\n');
        await sleep(10);
        peer.destroy(); // the handshake dies
        return 'handled';
      },
    }),
  );
  // Opportunistic mode: still no fallback once the upgrade has begun.
  const err = await rejection(within(5000, connect(base(srv.port, { tls: 'starttls', ca, ...withAuth })), 'connect'));
  assert.ok(['ETLS', 'ECONNECTION'].includes(err.code), `${err.code}: ${err.message}`);
  assert.is(srv.peers.length, 1, 'no second, clear-text attempt');
  assert.not.ok(srv.peers[0]!.leakedInClear());
  assert.not.ok(srv.peers[0]!.saw('MAIL'));
  await srv.close();
});

// ================================================================ certificates

test('certificate for the wrong name: refused (STARTTLS and implicit) unless the user opts out', async () => {
  const srv = await serve(session({ caps: ['STARTTLS', 'AUTH PLAIN'] }));
  const e1 = await rejection(
    within(5000, connect(base(srv.port, { tls: 'required-starttls', ca, servername: 'mail.example.net', ...withAuth })), 'connect'),
  );
  assert.ok(e1.code === 'ETLS' || (e1.code === 'ECONNECTION' && /TLS/.test(e1.message)), `${e1.code}: ${e1.message}`);
  assert.match(e1.message + String((e1 as { cause?: unknown }).cause), /altnames|Hostname|IP/i);
  await sleep(20);
  assert.not.ok(srv.peers[0]!.saw('AUTH'));
  assert.not.ok(srv.peers[0]!.saw('MAIL'));

  // Opting out: the session works (for tests and private networks only).
  const client = await within(
    5000,
    connect(base(srv.port, { tls: 'required-starttls', servername: 'mail.example.net', rejectUnauthorized: false, ...withAuth })),
    'connect',
  );
  assert.is(client.secure, true);
  assert.is((await client.send({ from: 'a@example.com', to: 'b@example.com', body: mail('opt-out') })).outcome, 'accepted');
  await client.close();
  await srv.close();

  // Implicit TLS with the wrong name.
  const tlsServer = tls.createServer({ key, cert }, (s) => {
    s.on('error', () => {});
    s.end('220 mx\r\n');
  });
  await new Promise<void>((r) => tlsServer.listen(0, '127.0.0.1', () => r()));
  tlsServer.unref();
  const port = (tlsServer.address() as net.AddressInfo).port;
  const e2 = await rejection(within(5000, connect(base(port, { tls: 'implicit', ca, servername: 'wrong.example.net' })), 'connect'));
  assert.is(e2.code, 'ETLS');
  await new Promise<void>((r) => tlsServer.close(() => r()));
});

test('self-signed certificate: refused without the CA, unless the user opts out', async () => {
  const srv = await serve(session({ caps: ['STARTTLS', 'AUTH PLAIN'] }));
  const err = await rejection(within(5000, connect(base(srv.port, { tls: 'required-starttls', ...withAuth })), 'connect'));
  assert.ok(err.code === 'ETLS' || (err.code === 'ECONNECTION' && /TLS/.test(err.message)), `${err.code}: ${err.message}`);
  assert.match(err.message + String((err as { cause?: unknown }).cause), /self[- ]signed|certificate/i);
  await sleep(20);
  assert.not.ok(srv.peers[0]!.saw('AUTH'));
  assert.not.ok(srv.peers[0]!.leakedInClear());
  // Opportunistic STARTTLS does not downgrade to clear text on a bad certificate either.
  const err2 = await rejection(within(5000, connect(base(srv.port, { tls: 'starttls', ...withAuth })), 'connect'));
  assert.ok(['ETLS', 'ECONNECTION'].includes(err2.code));
  assert.is(srv.peers.length, 2);
  assert.not.ok(srv.peers[1]!.saw('AUTH') || srv.peers[1]!.saw('MAIL'));
  const client = await within(
    5000,
    connect(base(srv.port, { tls: 'required-starttls', rejectUnauthorized: false, ...withAuth })),
    'connect',
  );
  assert.is(client.secure, true);
  await client.close();
  await srv.close();
});

test('no unhandled promise rejections; every server script ran without a throw', async () => {
  await sleep(50);
  assert.equal(unhandled, []);
  assert.equal(
    allServers.flatMap((s) => s.errors.map(String)),
    [],
  );
});

exitWhenDone(test);
test.run();

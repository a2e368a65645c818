// Credentials that change: token and password providers, asked per connection, refreshed once
// after the server refuses an OAuth token, once for a whole pool. Against smtp-server
// (nodemailer's server: its XOAUTH2 sends the 334 error challenge, then 535) and, for the
// 454 4.7.0 variant smtp-server cannot stage with XOAUTH2's challenge, the scripted sim.
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { exitWhenDone } from './exit-when-done.ts';
import { startSim } from './smtp-sim.ts';
import { rejection } from './helpers.ts';
import { connect, createPool, shareSecret, type SecretContext, type LogEntry } from '../transports/node.ts';

const unhandled: unknown[] = [];
process.on('unhandledRejection', (reason) => unhandled.push(reason));
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const msg = (i: number) => ({ from: 'a@example.com', to: 'b@example.com', body: `Subject: m${i}\r\n\r\nmessage ${i}\r\n` });

/** smtp-server taking XOAUTH2 (and PLAIN) for user "alice": only `valid()` is accepted. */
async function oauthServer(valid: () => string, pass = 'pw') {
  const seen: string[] = [];
  let delivered = 0;
  const server = new SMTPServer({
    logger: false,
    disableReverseLookup: true,
    allowInsecureAuth: true,
    authMethods: ['XOAUTH2', 'PLAIN'],
    onAuth(auth, _session, callback) {
      if (auth.method === 'XOAUTH2') {
        seen.push(auth.accessToken ?? '');
        if (auth.username === 'alice' && auth.accessToken === valid()) return callback(null, { user: 'alice' });
        // The 334 error challenge; smtp-server then answers the client's empty line with 535.
        return callback(null, { data: { status: '401', schemes: 'bearer', scope: 'https://mail.example.com/' } });
      }
      seen.push(`PLAIN:${auth.password ?? ''}`);
      if (auth.password === pass) return callback(null, { user: 'alice' });
      return callback(new Error('bad password'));
    },
    onData(stream, _session, callback) {
      stream.on('data', () => {});
      stream.on('end', () => {
        delivered++;
        callback(null);
      });
    },
  });
  server.on('error', () => {});
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.server.address() as AddressInfo).port;
  return {
    port,
    seen,
    get delivered() {
      return delivered;
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

const opts = (port: number) => ({ host: '127.0.0.1', port, tls: 'none' as const, allowInsecureAuth: true });

/** A token source the way an OAuth library behaves: cached until asked to refresh. */
function tokenSource(delay = 20) {
  const calls: SecretContext[] = [];
  let current = 'stale-token-1';
  let n = 1;
  return {
    calls,
    get current() {
      return current;
    },
    provider: async (context: SecretContext) => {
      calls.push(context);
      if (context.refresh) {
        await sleep(delay);
        current = `fresh-token-${++n}`;
      }
      return current;
    },
  };
}

test('token provider: asked per connection; after the 334 error challenge and 535 it is asked once with refresh: true and the client reconnects', async () => {
  const tokens = tokenSource();
  const srv = await oauthServer(() => (tokens.current.startsWith('fresh') ? tokens.current : 'never'));
  const log: LogEntry[] = [];
  const client = await connect({ ...opts(srv.port), auth: { user: 'alice', token: tokens.provider }, logger: (e) => log.push(e) });
  assert.equal(
    tokens.calls.map((c) => [c.kind, c.refresh, c.user, c.host, c.port]),
    [
      ['token', false, 'alice', '127.0.0.1', srv.port],
      ['token', true, 'alice', '127.0.0.1', srv.port],
    ],
  );
  assert.equal(srv.seen, ['stale-token-1', 'fresh-token-2']);
  assert.is((await client.send(msg(1))).outcome, 'accepted');
  await client.close();
  const transcript = JSON.stringify(log);
  for (const secret of ['stale-token-1', 'fresh-token-2']) {
    assert.not.ok(transcript.includes(secret), 'no token in the transcript');
    assert.not.ok(transcript.includes(Buffer.from(`user=alice\x01auth=Bearer ${secret}\x01\x01`).toString('base64')), 'nor its base64');
  }
  assert.ok(log.some((e) => e.text === 'AUTH XOAUTH2 <redacted>'));
  await srv.close();
});

test('a refreshed token that is refused too ends the attempt: one refresh, no loop, no secret in the error', async () => {
  const tokens = tokenSource();
  const srv = await oauthServer(() => 'nothing-is-good');
  const err = await rejection(connect({ ...opts(srv.port), auth: { user: 'alice', token: tokens.provider } }));
  assert.is(err.code, 'EAUTH');
  assert.is(err.reply?.code, 535);
  assert.is(tokens.calls.filter((c) => c.refresh).length, 1);
  assert.is(srv.seen.length, 2);
  assert.not.ok(err.message.includes('token-'), err.message);
  assert.match(err.message, /refused again after one token refresh: check auth\.user and the token.s scopes/);
  await srv.close();
});

test('454 4.7.0 after AUTH XOAUTH2 also refreshes (scripted server)', async () => {
  const tokens = tokenSource();
  const srv = await startSim({
    auth: { mechanisms: ['XOAUTH2'], token: () => (tokens.current.startsWith('fresh') ? tokens.current : 'x'), failure: '454' },
  });
  const client = await connect({ ...opts(srv.port), auth: { user: 'alice', token: tokens.provider } });
  assert.equal(srv.stats.tokensSeen, ['stale-token-1', 'fresh-token-2']);
  assert.is((await client.send(msg(1))).outcome, 'accepted');
  await client.close();
  await srv.close();
});

test('OAUTHBEARER refused with the error challenge and 535 refreshes too (scripted server)', async () => {
  const tokens = tokenSource();
  const srv = await startSim({
    auth: { mechanisms: ['OAUTHBEARER'], token: () => (tokens.current.startsWith('fresh') ? tokens.current : 'x') },
  });
  const client = await connect({ ...opts(srv.port), auth: { user: 'alice', token: tokens.provider } });
  assert.equal(srv.stats.tokensSeen, ['stale-token-1', 'fresh-token-2']);
  await client.close();
  await srv.close();
});

test('a password refused is not "refreshed": PLAIN 535 fails at once; a password provider is asked per connection', async () => {
  const srv = await oauthServer(() => 'unused', 'right');
  let asked = 0;
  const err = await rejection(
    connect({
      ...opts(srv.port),
      auth: {
        user: 'alice',
        pass: async () => {
          asked++;
          return 'wrong';
        },
      },
    }),
  );
  assert.is(err.code, 'EAUTH');
  assert.is(asked, 1);
  const pool = createPool({
    ...opts(srv.port),
    maxConnections: 3,
    maxPendingPerConnection: 1,
    auth: {
      user: 'alice',
      pass: async (c) => {
        asked++;
        assert.is(c.kind, 'pass');
        return 'right';
      },
    },
  });
  const r = await Promise.all(Array.from({ length: 9 }, (_, i) => pool.send(msg(i))));
  assert.ok(r.every((x) => x.outcome === 'accepted'));
  await pool.close();
  assert.is(asked - 1, srv.seen.filter((s) => s === 'PLAIN:right').length, 'one ask per connection');
  await srv.close();
});

test('provider failures are typed: a throwing provider is EAUTH with its message; an empty token is EUSAGE', async () => {
  const srv = await oauthServer(() => 'x');
  const e1 = await rejection(
    connect({
      ...opts(srv.port),
      auth: {
        user: 'alice',
        token: async () => {
          throw new Error('vault sealed');
        },
      },
    }),
  );
  assert.is(e1.code, 'EAUTH');
  assert.match(e1.message, /auth\.token provider failed: vault sealed/);
  const e2 = await rejection(connect({ ...opts(srv.port), auth: { user: 'alice', token: async () => '' } }));
  assert.is(e2.code, 'EUSAGE');
  const e3 = await rejection(connect({ ...opts(srv.port), auth: { user: 'alice', token: async () => 'a\r\nQUIT' } }));
  assert.is(e3.code, 'EUSAGE');
  assert.not.ok(e3.message.includes('QUIT'), 'the message names the field, never the value');
  await srv.close();
});

const tokenContext: SecretContext = { kind: 'token', host: 'h', port: 587, user: 'alice', refresh: false };

test('a refresh resolving with CR/LF is EUSAGE naming the provider, and is not kept: the next refresh asks again', async () => {
  const asked: boolean[] = [];
  const shared = shareSecret((c) => {
    asked.push(c.refresh);
    return c.refresh ? (asked.length === 2 ? 'fresh\r\nQUIT' : 'fresh-ok') : 'stale';
  });
  assert.is(await shared(tokenContext), 'stale');
  const err = await rejection(shared.refresh(tokenContext, 'stale'));
  assert.is(err.code, 'EUSAGE');
  assert.match(err.message, /auth\.token provider resolved with a value holding NUL, CR, LF or \\x01/);
  assert.not.ok(err.message.includes('QUIT'), 'the message never holds the value');
  // Before: the bad value was kept as the "latest" and handed out without asking again.
  assert.is(await shared.refresh(tokenContext, 'stale'), 'fresh-ok');
  assert.equal(asked, [false, true, true]);
  const sohToken = await rejection(shareSecret(() => 'a\x01auth=Bearer b')(tokenContext));
  assert.is(sohToken.code, 'EUSAGE');
  assert.is(await shareSecret(() => 'pass\x01word')({ ...tokenContext, kind: 'pass' }), 'pass\x01word', '^A is fine in a password');
});

test('two sessions refreshing at once share one refresh; a refresh that throws or resolves empty fails both, typed, and is asked again later', async () => {
  const answers: (() => string)[] = [
    () => {
      throw new Error('token endpoint said 500');
    },
    () => '',
    () => 'fresh',
  ];
  let refreshes = 0;
  const shared = shareSecret(async (c) => {
    if (!c.refresh) return 'stale';
    await sleep(10);
    return answers[refreshes++]!();
  });
  const stale = await shared(tokenContext);
  const [a, b] = await Promise.all([rejection(shared.refresh(tokenContext, stale)), rejection(shared.refresh(tokenContext, stale))]);
  assert.is(a, b, "the second session joined the first one's refresh");
  assert.is(a.code, 'EAUTH');
  assert.match(a.message, /auth\.token provider failed: token endpoint said 500/);
  const empty = await rejection(shared.refresh(tokenContext, stale));
  assert.is(empty.code, 'EUSAGE');
  assert.match(empty.message, /auth\.token provider must resolve with a non-empty string/);
  assert.is(await shared.refresh(tokenContext, stale), 'fresh');
  assert.is(refreshes, 3);
  assert.is(shared.refreshes, 3);
});

test('a refused token newer than the last refresh is refreshed, not swapped for that older token', async () => {
  // A provider that mints a new token on every call (a client-credentials grant, no cache).
  let minted = 0;
  const shared = shareSecret(() => `tok${++minted}`);
  const first = await shared(tokenContext); // tok1
  assert.is(await shared.refresh(tokenContext, first), 'tok2');
  const later = await shared(tokenContext); // tok3, newer than the refresh
  // Before: tok3 refused gave back tok2 (older, likely refused too) without asking the provider.
  assert.is(await shared.refresh(tokenContext, later), 'tok4');
  assert.is(shared.refreshes, 2);
  // A connection still holding tok1 takes the newest value instead of asking again.
  assert.is(await shared.refresh(tokenContext, first), 'tok4');
  assert.is(shared.refreshes, 2);
});

test('a pool of 4 connections all refused at once refreshes exactly once', async () => {
  const tokens = tokenSource(50);
  const srv = await oauthServer(() => (tokens.current.startsWith('fresh') ? tokens.current : 'never'));
  const pool = createPool({
    ...opts(srv.port),
    maxConnections: 4,
    maxPendingPerConnection: 2,
    auth: { user: 'alice', token: tokens.provider },
  });
  const results = await Promise.all(Array.from({ length: 40 }, (_, i) => pool.send(msg(i))));
  assert.ok(results.every((r) => r.outcome === 'accepted'));
  const refreshes = tokens.calls.filter((c) => c.refresh).length;
  assert.is(refreshes, 1, `refreshes: ${refreshes}`);
  const stale = srv.seen.filter((t) => t === 'stale-token-1').length;
  assert.is(stale, 4, 'four connections were refused at once');
  assert.ok(srv.seen.filter((t) => t === 'fresh-token-2').length >= 4);
  assert.is(srv.delivered, 40);
  await pool.close();
  await srv.close();
});

test('no unhandled promise rejections', async () => {
  await sleep(20);
  assert.equal(unhandled, []);
});

exitWhenDone(test);
test.run();

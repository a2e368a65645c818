// Hostile servers: scripted raw node:net / node:tls servers on 127.0.0.1 (port 0) driving the
// REAL Node transport and client. Each test plays one attack or one broken server and checks
// that the client fails closed with a typed error, never leaks credentials, never believes
// what it should not, never hangs, and never lets raw control bytes reach logs or results.
// The scripted server is test/hostile-server.ts; the STARTTLS and certificate attacks are in
// rfc3207-starttls-hostile.test.ts.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { exitWhenDone } from './exit-when-done.ts';
import { rejection, within } from './helpers.ts';
import {
  closeAllServers,
  unhandled,
  ca,
  sleep,
  USER,
  PASS,
  SECRETS,
  type Script,
  allServers,
  serve,
  ehloReply,
  session,
  base,
  mail,
  assertClean,
  assertResultClean,
  quick,
  withAuth,
} from './hostile-server.ts';
import type { LogEntry } from '../client/client.ts';
import { SmtpError, SmtpTimeoutError } from '../core/errors.ts';
import { connect } from '../transports/node.ts';

test.after(closeAllServers);
if (process.env.HOSTILE_DEBUG) test.before.each((ctx) => console.error('>>', (ctx as { __test__?: string }).__test__));

// ================================================================ timeouts of the right phase

test('greeting never sent: the greeting timeout fires', async () => {
  const srv = await serve(async (peer) => {
    await peer.gone;
  });
  const started = Date.now();
  const err = await rejection(within(3000, connect(base(srv.port, { timeouts: { ...quick(), greeting: 200 } })), 'connect'));
  assert.instance(err, SmtpTimeoutError);
  assert.is((err as SmtpTimeoutError).phase, 'greeting');
  const took = Date.now() - started;
  assert.ok(took >= 190 && took < 2000, `took ${took} ms`);
  await srv.close();
});

test('a reply that stalls mid-line: the timeout of that phase fires (EHLO)', async () => {
  const srv = await serve(
    session({
      hook: async (line, peer) => {
        if (!line.startsWith('EHLO')) return undefined;
        await peer.send('250-mx.hostile.test\r\n250-PIPEL'); // and nothing more
        return 'handled';
      },
    }),
  );
  const err = await rejection(within(3000, connect(base(srv.port, { timeouts: { ...quick(), hello: 200 } })), 'connect'));
  assert.instance(err, SmtpTimeoutError);
  assert.is((err as SmtpTimeoutError).phase, 'hello');
  await srv.close();
});

test('a slowloris reply (a 250- line every 40 ms, never the last one): the hello timeout is not reset by partial replies', async () => {
  let lines = 0;
  const srv = await serve(
    session({
      hook: async (line, peer) => {
        if (!line.startsWith('EHLO')) return undefined;
        while (!peer.ended && lines < 200) {
          await peer.send(`250-KEEP-ALIVE ${lines++}\r\n`);
          await sleep(40);
        }
        return 'handled';
      },
    }),
  );
  const started = Date.now();
  const err = await rejection(within(5000, connect(base(srv.port, { timeouts: { ...quick(), hello: 300 } })), 'connect'));
  const took = Date.now() - started;
  assert.instance(err, SmtpTimeoutError);
  assert.is((err as SmtpTimeoutError).phase, 'hello');
  assert.ok(took < 1500, `took ${took} ms (${lines} lines)`);
  await srv.close();
});

test('a final reply that stalls mid-line: dataEnd timeout, outcome unknown', async () => {
  const srv = await serve(
    session({
      caps: ['PIPELINING'],
      final: () => '250 2.0.0 que', // never finished
    }),
  );
  const client = await within(3000, connect(base(srv.port, { timeouts: { ...quick(), dataEnd: 200 } })), 'connect');
  const started = Date.now();
  const r = await within(3000, client.send({ from: 'a@example.com', to: 'b@example.com', body: mail('stall') }), 'send');
  assert.is(r.outcome, 'unknown');
  assert.instance(r.error, SmtpTimeoutError);
  assert.is((r.error as SmtpTimeoutError).phase, 'dataEnd');
  assert.ok(Date.now() - started < 2000);
  await within(3000, client.close(), 'close');
  assert.is(srv.peers[0]!.messages.length, 1);
  await srv.close();
});

test('a MAIL reply that never comes: mail timeout, rejected (the end was never written)', async () => {
  const srv = await serve(session({ hook: (line) => (line.startsWith('MAIL') ? 'handled' : undefined) }));
  const client = await within(3000, connect(base(srv.port, { timeouts: { ...quick(), mail: 200 } })), 'connect');
  const r = await within(3000, client.send({ from: 'a@example.com', to: 'b@example.com', body: mail('no mail reply') }), 'send');
  assert.is(r.outcome, 'rejected');
  assert.is((r.error as SmtpTimeoutError).phase, 'mail');
  await within(3000, client.close(), 'close');
  await srv.close();
});

// ================================================================ hostile framing

test('replies one byte at a time (with STARTTLS and AUTH): the session completes', async () => {
  // Every server write goes out one byte per write (and, after TLS, one byte per TLS record).
  const script = session({ caps: ['STARTTLS', 'PIPELINING', 'AUTH LOGIN PLAIN'], tlsCaps: ['PIPELINING', 'CHUNKING', 'AUTH LOGIN'] });
  const srv = await serve(async (peer) => {
    const send = peer.send.bind(peer);
    peer.send = async (data) => {
      const buf = Buffer.from(data);
      for (let i = 0; i < buf.length; i++) {
        await send(buf.subarray(i, i + 1));
        if (i % 16 === 0) await new Promise((r) => setImmediate(r));
      }
    };
    await script(peer);
  });
  const client = await within(10_000, connect(base(srv.port, { tls: 'required-starttls', ca, ...withAuth })), 'connect');
  const bodies = [mail('one', '.dot\r\nline'), mail('two'), mail('three')];
  const results = await within(
    10_000,
    Promise.all(bodies.map((body) => client.send({ from: 'a@example.com', to: ['b@example.com', 'c@example.com'], body }))),
    'send',
  );
  assert.equal(
    results.map((r) => r.outcome),
    ['accepted', 'accepted', 'accepted'],
  );
  await within(5000, client.close(), 'close');
  assert.is(await client.closed, undefined);
  assert.equal(
    srv.peers[0]!.messages.map((m) => m.body.toString()),
    bodies,
  );
  await srv.close();
});

test('a 10 MB reply line: bounded reading, a remote protocol error', async () => {
  let written = 0;
  let finished = false;
  const srv = await serve(async (peer) => {
    await peer.send('220-');
    const block = Buffer.alloc(64 * 1024, 0x61);
    while (written < 10 * 1024 * 1024 && !peer.ended) {
      await peer.send(block);
      written += block.length;
    }
    finished = !peer.ended;
  });
  const before = process.memoryUsage().arrayBuffers;
  const err = await rejection(within(5000, connect(base(srv.port)), 'connect'));
  assert.is(err.code, 'EPROTOCOL');
  assert.match(err.message, /longer than/);
  await sleep(50);
  assert.not.ok(finished && written >= 10 * 1024 * 1024 && !srv.peers[0]!.ended, 'the client hung up instead of reading it all');
  const grown = process.memoryUsage().arrayBuffers - before;
  assert.ok(grown < 8 * 1024 * 1024, `external memory grew by ${grown}`);
  await srv.close();
});

test('endless 250- lines: bounded memory, a remote protocol error', async () => {
  let sent = 0;
  const srv = await serve(
    session({
      hook: async (line, peer) => {
        if (!line.startsWith('EHLO')) return undefined;
        const chunk = Buffer.from('250-PADDING xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\r\n'.repeat(200));
        while (!peer.ended && sent < 1_000_000) {
          await peer.send(chunk);
          sent += 200;
        }
        return 'handled';
      },
    }),
  );
  const err = await rejection(within(5000, connect(base(srv.port)), 'connect'));
  assert.is(err.code, 'EPROTOCOL');
  assert.match(err.message, /more than \d+ lines/);
  await sleep(50);
  assert.ok(srv.peers[0]!.ended, 'the client closed the link');
  assert.ok(sent < 1_000_000, `the server got to write ${sent} lines`);
  await srv.close();
});

for (const bad of ['600 nope', '2x0 nope', '25', '99 x', '250x no separator', '']) {
  test(`invalid reply code ${JSON.stringify(bad)}: a remote protocol error`, async () => {
    const srv = await serve(session({ greeting: `${bad}\r\n` }));
    const err = await rejection(within(3000, connect(base(srv.port)), 'connect'));
    assert.is(err.code, 'EPROTOCOL');
    assertClean(err.message, 'error');
    await srv.close();
  });
}

test('invalid code in a transaction reply: the send settles, the session fails with EPROTOCOL', async () => {
  const srv = await serve(session({ hook: (line) => (line.startsWith('RCPT') ? '2x0 whatever\r\n' : undefined) }));
  const client = await within(3000, connect(base(srv.port)), 'connect');
  const r = await within(3000, client.send({ from: 'a@example.com', to: 'b@example.com', body: mail('x') }), 'send');
  assert.is(r.outcome, 'rejected');
  assert.is(r.error?.code, 'EPROTOCOL');
  assert.is((await client.closed)?.code, 'EPROTOCOL');
  await srv.close();
});

test('mixed codes in one multi-line reply: a remote protocol error', async () => {
  const srv = await serve(
    session({ hook: (line) => (line.startsWith('EHLO') ? '250-mx\r\n250-PIPELINING\r\n550 CHUNKING\r\n' : undefined) }),
  );
  const err = await rejection(within(3000, connect(base(srv.port)), 'connect'));
  assert.is(err.code, 'EPROTOCOL');
  assert.match(err.message, /changed inside a multi-line reply/);
  await srv.close();
});

test('replies nobody asked for (ahead of the commands): a remote protocol error, nothing believed', async () => {
  const srv = await serve(
    session({
      caps: ['PIPELINING'],
      // The EHLO answer comes with answers to MAIL, RCPT, DATA and the dot the client has not sent.
      hook: (line) => (line.startsWith('EHLO') ? ehloReply(['PIPELINING']) + '250 ok\r\n250 ok\r\n354 go\r\n250 queued\r\n' : undefined),
    }),
  );
  const client = await within(3000, connect(base(srv.port)), 'connect').catch((e: unknown) => e);
  if (client instanceof SmtpError) {
    assert.is(client.code, 'EPROTOCOL');
  } else {
    const c = client as Awaited<ReturnType<typeof connect>>;
    const r = await within(3000, c.send({ from: 'a@example.com', to: 'b@example.com', body: mail('x') }), 'send');
    assert.is.not(r.outcome, 'accepted');
    c.abort();
  }
  await srv.close();
});

// A 3xx is an intermediate reply: as the answer to the end of data it never means accepted.
for (const [chunking, reply] of [
  [false, '354 send more'],
  [true, '334 what?'],
] as const) {
  test(`a ${reply.slice(0, 3)} answer to the end of data is not an acceptance (${chunking ? 'BDAT' : 'DATA'})`, async () => {
    const srv = await serve(session({ caps: ['PIPELINING', ...(chunking ? ['CHUNKING'] : [])], final: () => `${reply}\r\n` }));
    const client = await within(3000, connect(base(srv.port)), 'connect');
    const r = await within(3000, client.send({ from: 'a@example.com', to: 'b@example.com', body: mail('3xx') }), 'send');
    assert.is.not(r.outcome, 'accepted', `a ${reply.slice(0, 3)} to the end of data was taken as acceptance`);
    client.abort();
    await srv.close();
  });
}

// ================================================================ 421 and resets mid-run

for (const chunking of [false, true]) {
  test(`421 unprompted in the middle of a pipelined run (${chunking ? 'BDAT' : 'DATA'}): the rest is rejected (transient), never unknown or accepted`, async () => {
    let finals = 0;
    let closing = false;
    const srv = await serve(
      session({
        caps: ['PIPELINING', ...(chunking ? ['CHUNKING'] : [])],
        hook: async (line, peer) => {
          if (closing) return 'handled'; // it reads nothing more
          // After two messages went through, the next MAIL gets a 421 and the server hangs up.
          if (line.startsWith('MAIL') && finals >= 2) {
            closing = true;
            await peer.send('421 4.3.2 shutting down\r\n');
            await sleep(5);
            peer.end();
            return 'handled';
          }
          return undefined;
        },
        final: () => {
          finals++;
          return '250 2.0.0 queued\r\n';
        },
      }),
    );
    const client = await within(3000, connect(base(srv.port)), 'connect');
    const results = await within(
      5000,
      Promise.all(
        [0, 1, 2, 3, 4].map((i) => client.send({ from: 'a@example.com', to: ['b@example.com', 'c@example.com'], body: mail(`m${i}`) })),
      ),
      'sends',
    );
    assert.equal(
      results.map((r) => r.outcome),
      ['accepted', 'accepted', 'rejected', 'rejected', 'rejected'],
    );
    // The third MAIL got the 421 itself; the others were never answered: the session closed.
    assert.is(results[2]!.error?.code, 'EREPLY');
    assert.is(results[2]!.reply?.code ?? results[2]!.error?.reply?.code, 421);
    for (const r of results.slice(2)) assert.is(r.error?.transient, true);
    for (const r of results.slice(3)) assert.is(r.error?.code, 'ECONNECTION');
    assert.equal(
      srv.peers[0]!.messages.map((m) => m.body.toString()),
      [mail('m0'), mail('m1')],
    );
    assert.is((await client.closed)?.code, 'ECONNECTION');
    await srv.close();
  });
}

for (const chunking of [false, true]) {
  test(`reset after the final ${chunking ? 'BDAT LAST' : 'dot'} and before its reply: outcome unknown`, async () => {
    const srv = await serve(
      session({
        caps: ['PIPELINING', ...(chunking ? ['CHUNKING'] : [])],
        hook: async (line, peer) => {
          if (chunking && line.startsWith('BDAT')) {
            await peer.bytes(Number(line.split(' ')[1]));
            peer.socket.resetAndDestroy();
            return 'handled';
          }
          if (!chunking && line === 'DATA') {
            await peer.send('354 go\r\n');
            await peer.dataBody();
            peer.socket.resetAndDestroy();
            return 'handled';
          }
          return undefined;
        },
      }),
    );
    const client = await within(3000, connect(base(srv.port)), 'connect');
    const r = await within(3000, client.send({ from: 'a@example.com', to: 'b@example.com', body: mail('lost reply') }), 'send');
    assert.is(r.outcome, 'unknown');
    assert.is(r.error?.code, 'ECONNECTION');
    assert.is((await client.closed)?.code, 'ECONNECTION');
    await srv.close();
  });
}

// ================================================================ slow reader, replies due

for (const chunking of [false, true]) {
  test(`a server that reads slowly with a tiny window while replies are due: no deadlock (4 MB, ${chunking ? 'BDAT' : 'DATA'})`, async () => {
    const srv = await serve(async (peer) => {
      // Read in small sips: pause the socket, let 16 KiB through every few milliseconds.
      const s = peer.socket;
      let budget = 0;
      s.pause();
      const sip = setInterval(() => {
        budget = 16 * 1024;
        s.resume();
      }, 2);
      s.on('data', (b: Buffer) => {
        budget -= b.length;
        if (budget <= 0) s.pause();
      });
      try {
        await session({ caps: ['PIPELINING', '8BITMIME', ...(chunking ? ['CHUNKING'] : [])] })(peer);
      } finally {
        clearInterval(sip);
      }
    });
    const client = await within(3000, connect(base(srv.port, { highWaterMark: 64 * 1024, timeouts: { ...quick(20_000) } })), 'connect');
    const line = 'abcdefghijklmnopqrstuvwxyz0123456789'.repeat(2) + '\r\n';
    const big = 'Subject: big\r\n\r\n' + line.repeat(Math.ceil((4 * 1024 * 1024) / line.length));
    async function* stream(): AsyncGenerator<string> {
      for (let at = 0; at < big.length; at += 8192) yield big.slice(at, at + 8192);
    }
    const results = await within(
      30_000,
      Promise.all([
        client.send({ from: 'a@example.com', to: 'b@example.com', body: stream() }),
        client.send({ from: 'a@example.com', to: 'c@example.com', body: mail('after the big one') }),
      ]),
      'sends',
    );
    assert.equal(
      results.map((r) => r.outcome),
      ['accepted', 'accepted'],
    );
    await within(5000, client.close(), 'close');
    const got = srv.peers[0]!.messages;
    assert.is(got.length, 2);
    assert.ok(got[0]!.body.equals(Buffer.from(big)), 'the big body arrived byte-exact');
    await srv.close();
  });
}

// ================================================================ credentials

test('60 AUTH mechanisms offered on a plain link: no credentials sent', async () => {
  const mechs = Array.from({ length: 58 }, (_, i) => `X-MECH-${i}`).concat(['PLAIN', 'LOGIN']);
  assert.is(mechs.length, 60);
  const srv = await serve(session({ caps: ['PIPELINING', `AUTH ${mechs.join(' ')}`, `AUTH=${mechs.join(' ')}`] }));
  for (const mode of ['starttls', 'none'] as const) {
    for (const mechanism of [undefined, 'PLAIN', 'LOGIN']) {
      const err = await rejection(
        within(3000, connect(base(srv.port, { tls: mode, auth: { user: USER, pass: PASS, mechanism } })), 'connect'),
      );
      assert.is(err.code, 'EAUTH');
      assert.match(err.message, /without TLS/);
    }
  }
  await sleep(20);
  assert.is(srv.peers.length, 6);
  for (const p of srv.peers) {
    assert.not.ok(p.saw('AUTH'), 'no AUTH command');
    assert.not.ok(p.leakedInClear(), 'no credential bytes');
  }
  await srv.close();
});

test('credentials never reach the logger, nor an error, whatever the mechanism and outcome', async () => {
  for (const [mechanism, verdict] of [
    ['PLAIN', '235 2.7.0 ok'],
    ['LOGIN', '235 2.7.0 ok'],
    ['CRAM-MD5', '235 2.7.0 ok'],
    ['PLAIN', '535 5.7.8 no'],
    ['LOGIN', '454 4.7.0 later'],
  ] as const) {
    const srv = await serve(
      session({
        caps: ['STARTTLS'],
        tlsCaps: ['AUTH PLAIN LOGIN CRAM-MD5'],
        hook: async (line, peer) => {
          if (!line.startsWith('AUTH')) return undefined;
          if (mechanism === 'LOGIN') {
            await peer.send('334 VXNlcm5hbWU6\r\n');
            await peer.line();
            await peer.send('334 UGFzc3dvcmQ6\r\n');
            await peer.line();
          } else if (mechanism === 'CRAM-MD5') {
            await peer.send(`334 ${Buffer.from('<1896.697170952@mx.hostile.test>').toString('base64')}\r\n`);
            await peer.line();
          }
          return verdict + '\r\n';
        },
      }),
    );
    const log: LogEntry[] = [];
    const attempt = connect(
      base(srv.port, { tls: 'required-starttls', ca, auth: { user: USER, pass: PASS, mechanism }, logger: (e) => log.push(e) }),
    );
    let message = '';
    try {
      const c = await within(3000, attempt, 'connect');
      await c.close();
    } catch (err) {
      assert.instance(err, SmtpError);
      assert.is((err as SmtpError).code, 'EAUTH');
      message = (err as Error).message;
    }
    assert.is(message === '', verdict.startsWith('235'), `${mechanism} ${verdict}: ${message}`);
    const text = log.map((e) => e.text).join('\n') + message;
    assert.ok(
      log.some((e) => e.from === 'client' && e.text.startsWith(`AUTH ${mechanism}`)),
      'the AUTH step is logged',
    );
    for (const secret of SECRETS) assert.not.ok(text.includes(secret), `${mechanism}: ${JSON.stringify(secret)} in the log`);
    assert.not.ok(srv.peers[0]!.leakedInClear());
    await srv.close();
  }
});

// ================================================================ control bytes in server text

test('ANSI and control bytes in reply text never reach logs, errors or results raw', async () => {
  const nasty = '\x1b[31mRED\x1b[0m \x07bell \x00nul \x08bs \x7fdel \x9bcsi \u202eevil\u202c \u2028sep \rcr';
  const srv = await serve(
    session({
      greeting: `220 mx ${nasty}\r\n`,
      caps: ['PIPELINING', `X-NOTE ${nasty}`],
      hook: (line) => {
        if (line === 'RCPT TO:<bad@example.com>') return `550 5.1.1 ${nasty}\r\n`;
        if (line === 'NOOP') return `250 ${nasty}\r\n`;
        return undefined;
      },
      final: (i) => (i === 1 ? `554 5.6.0 ${nasty}\r\n` : `250 2.0.0 ${nasty}\r\n`),
    }),
  );
  const log: LogEntry[] = [];
  const client = await within(3000, connect(base(srv.port, { logger: (e) => log.push(e) })), 'connect');
  const results = await within(
    3000,
    Promise.all([
      client.send({ from: 'a@example.com', to: ['b@example.com', 'bad@example.com'], body: mail('one') }),
      client.send({ from: 'a@example.com', to: ['b@example.com'], body: mail('two') }),
      client.send({ from: 'a@example.com', to: ['bad@example.com'], body: mail('three') }),
    ]),
    'sends',
  );
  assert.equal(
    results.map((r) => r.outcome),
    ['accepted', 'rejected', 'rejected'],
  );
  results.forEach((r, i) => assertResultClean(r, `send ${i}`));
  const noop = await client.noop();
  for (const l of noop.lines) assertClean(l, 'noop reply');
  await client.close();
  assert.ok(log.length > 10);
  for (const e of log) assertClean(e.text, `log entry ${JSON.stringify(e.from)}`);
  // The text is still there, visibly escaped.
  assert.ok(
    log.some((e) => e.text.includes('\\x1b[31mRED')),
    'escaped, not dropped',
  );
  await srv.close();

  // A refused greeting and a 421: the errors that end connect() are clean too.
  for (const greeting of [`554 5.3.2 ${nasty}\r\n`, `421 4.3.2 ${nasty}\r\n`]) {
    const bad = await serve(session({ greeting }));
    const log2: LogEntry[] = [];
    const err = await rejection(within(3000, connect(base(bad.port, { logger: (e) => log2.push(e) })), 'connect'));
    assertClean(err.message, 'connect error');
    for (const l of err.reply?.lines ?? []) assertClean(l, 'connect error reply');
    for (const e of log2) assertClean(e.text, 'log entry');
    await bad.close();
  }
});

// ================================================================ issue 12: transactions fail closed

/**
 * An Exim-like server for refused recipients: RCPT "refuse..." gets 550, "later..." 451, the
 * rest 250. A BDAT with no accepted recipient is read, answered 503 and the transaction KEPT
 * (as Exim does): a MAIL then gets "503 sender already given", and RCPT/BDAT join the old
 * transaction, which is delivered under its sender. Only RSET clears it.
 */
function eximLike(caps: string[]): Script {
  return async (peer) => {
    await peer.send('220 mx.hostile.test ESMTP\r\n');
    let from: string | undefined;
    let to: string[] = [];
    let bdat: Buffer[] = [];
    for (;;) {
      const line = await peer.line();
      if (line === undefined) return;
      const verb = line.split(' ')[0]!.toUpperCase();
      if (verb === 'EHLO') await peer.send(ehloReply(caps));
      else if (verb === 'MAIL') {
        if (from !== undefined) await peer.send('503 sender already given\r\n');
        else {
          from = /<([^>]*)>/.exec(line)?.[1] ?? '';
          await peer.send('250 OK\r\n');
        }
      } else if (verb === 'RCPT') {
        const rcpt = /<([^>]*)>/.exec(line)?.[1] ?? '';
        if (from === undefined) await peer.send('503 sender not yet given\r\n');
        else if (rcpt.startsWith('refuse')) await peer.send('550 5.1.1 no such user here\r\n');
        else if (rcpt.startsWith('later')) await peer.send('451 4.2.1 try again later\r\n');
        else {
          to.push(rcpt);
          await peer.send('250 Accepted\r\n');
        }
      } else if (verb === 'BDAT') {
        const [, size, last] = line.split(' ');
        const chunk = await peer.bytes(Number(size));
        if (to.length === 0) {
          await peer.send('503-All RCPT commands were rejected\r\n503 Valid RCPT command must precede BDAT\r\n');
          continue; // the transaction (its sender) stays
        }
        bdat.push(chunk);
        if (last?.toUpperCase() === 'LAST') {
          peer.messages.push({ from: from ?? '', to, body: Buffer.concat(bdat) });
          from = undefined;
          to = [];
          bdat = [];
          await peer.send('250 OK id=1\r\n');
        } else await peer.send(`250 ${size} byte chunk\r\n`);
      } else if (verb === 'RSET') {
        from = undefined;
        to = [];
        bdat = [];
        await peer.send('250 Reset OK\r\n');
      } else if (verb === 'QUIT') {
        await peer.send('221 bye\r\n');
        peer.end();
        return;
      } else await peer.send('500 unrecognized command\r\n');
    }
  };
}

for (const pipelining of [false, true]) {
  test(`CHUNKING${pipelining ? ' + PIPELINING' : ' without PIPELINING'}, every recipient refused: the recipients' most hopeful reply decides, an RSET follows, the next message goes under its own sender`, async () => {
    const srv = await serve(eximLike(['CHUNKING', ...(pipelining ? ['PIPELINING'] : [])]));
    const client = await within(3000, connect(base(srv.port)), 'connect');
    const sends = [
      { from: 'first@example.com', to: ['refuse1@example.com'], body: mail('m1') },
      { from: 'second@example.com', to: ['refuse2@example.com', 'later2@example.com'], body: mail('m2') },
      { from: 'third@example.com', to: ['ok3@example.com'], body: mail('m3') },
    ];
    // Pipelined: all three go together; without PIPELINING they are queued at once all the same.
    const results = await within(5000, Promise.all(sends.map((m) => client.send(m))), 'sends');
    await within(3000, client.close(), 'close');
    assert.equal(
      results.map((r) => r.outcome),
      ['rejected', 'rejected', 'accepted'],
    );
    // The recipients' replies, not the BDAT's 503: 550 is permanent, the 451 makes m2 transient.
    assert.is(results[0]!.error?.reply?.code, 550);
    assert.is((results[0]!.error as { command?: string }).command, 'RCPT');
    assert.is(results[0]!.error?.transient, false);
    assert.is(results[1]!.error?.reply?.code, 451);
    assert.is(results[1]!.error?.transient, true);
    // The third message was delivered once, under its own envelope sender.
    assert.equal(
      srv.peers[0]!.messages.map((m) => [m.from, m.to]),
      [['third@example.com', ['ok3@example.com']]],
    );
    const lines = srv.peers[0]!.lines;
    const bdats = lines.filter((l) => l.startsWith('BDAT')).length;
    // Without PIPELINING the client holds every refusal before the body: no BDAT, no body.
    assert.is(bdats, pipelining ? 3 : 1, lines.join(' | '));
    // An RSET before each MAIL that follows a transaction the server may hold.
    const mails = lines
      .map((l, i) => [l, i] as const)
      .filter(([l]) => l.startsWith('MAIL'))
      .map(([, i]) => i);
    for (const at of mails.slice(1)) assert.is(lines[at - 1], 'RSET', lines.join(' | '));
    await srv.close();
  });
}

/** Cases of a reply class the command cannot get (RFC 5321 §4.3.2). `answer` replaces the
 *  server's reply to the first command matching `on`. */
const MISFITS: {
  name: string;
  caps: string[];
  on: RegExp;
  answer: string;
  outcome: 'rejected' | 'unknown';
  chunkSize?: number;
  bodyParts?: number;
}[] = [
  { name: 'a 354 to MAIL', caps: ['PIPELINING'], on: /^MAIL/, answer: '354 go on', outcome: 'rejected' },
  { name: 'a 334 to RCPT', caps: [], on: /^RCPT/, answer: '334 what', outcome: 'rejected' },
  { name: 'a 250 to DATA', caps: [], on: /^DATA/, answer: '250 2.0.0 ok', outcome: 'rejected' },
  { name: 'a 334 to DATA (only 354 starts the body)', caps: ['PIPELINING'], on: /^DATA/, answer: '334 go', outcome: 'rejected' },
  // The chunk's 354 comes once BDAT LAST has been written: the server may have the message.
  {
    name: 'a 354 to a BDAT chunk that is not the last, BDAT LAST already written',
    caps: ['PIPELINING', 'CHUNKING'],
    on: /^BDAT \d+$/,
    answer: '354 go on',
    outcome: 'unknown',
    chunkSize: 8,
    bodyParts: 3,
  },
];

for (const c of MISFITS) {
  test(`reply class the command cannot get: ${c.name}: a protocol error, ${c.outcome}, never a permanent refusal`, async () => {
    let held = false;
    const held354: string[] = [];
    const srv = await serve(
      session({
        caps: c.caps,
        hook: async (line, peer) => {
          if (held || !c.on.test(line)) return undefined;
          held = true;
          if (line.startsWith('BDAT')) {
            // Take the whole body (through BDAT LAST) before answering the first chunk.
            await peer.bytes(Number(line.split(' ')[1]));
            held354.push(line);
            for (;;) {
              const next = await peer.line();
              if (next === undefined) return 'handled';
              const [, size, last] = next.split(' ');
              await peer.bytes(Number(size));
              held354.push(next);
              if (last === 'LAST') break;
            }
            await peer.send(`${c.answer}\r\n` + '250 2.0.0 chunk ok\r\n'.repeat(held354.length - 2) + '250 2.0.0 queued\r\n');
            return 'handled';
          }
          return `${c.answer}\r\n`;
        },
      }),
    );
    const client = await within(3000, connect(base(srv.port, { chunkSize: c.chunkSize })), 'connect');
    async function* parts(): AsyncGenerator<string> {
      const text = mail('misfit', 'a body long enough for several chunks');
      const n = c.bodyParts ?? 1;
      const step = Math.ceil(text.length / n);
      for (let at = 0; at < text.length; at += step) yield text.slice(at, at + step);
    }
    const r = await within(
      3000,
      client.send({ from: 'a@example.com', to: 'b@example.com', body: c.bodyParts ? parts() : mail('misfit') }),
      'send',
    );
    assert.is(r.outcome, c.outcome, r.error?.message);
    assert.is(r.error?.code, 'EPROTOCOL', r.error?.message);
    assert.is(r.error?.transient, true);
    assert.is((await client.closed)?.code, 'EPROTOCOL');
    if (c.bodyParts) assert.ok(held354.length >= 3 && held354[held354.length - 1]!.endsWith('LAST'), held354.join(' | '));
    await srv.close();
  });
}

for (const [command, caps, answer] of [
  ['EHLO', [], '334 what'],
  ['STARTTLS', ['STARTTLS'], '354 go on'],
] as const) {
  test(`reply class the command cannot get: a ${answer.slice(0, 3)} to ${command} (opportunistic TLS): connect fails with EPROTOCOL, nothing goes on in clear`, async () => {
    const srv = await serve(session({ caps: [...caps], hook: (line) => (line.startsWith(command) ? `${answer}\r\n` : undefined) }));
    const err = await rejection(within(3000, connect(base(srv.port, { tls: 'starttls' })), 'connect'));
    assert.is(err.code, 'EPROTOCOL', err.message);
    assert.is(err.transient, true);
    await srv.peers[0]!.gone;
    assert.not.ok(srv.peers[0]!.saw('MAIL') || srv.peers[0]!.saw('AUTH'));
    await srv.close();
  });
}

test('an extra reply under cross-message pipelining: a RCPT reply (250 2.1.5) is never taken as the end-of-data acceptance', async () => {
  // A correct server except for one unsolicited reply after the first message's acceptance:
  // every later reply is one step behind. The second message is refused at its end (554).
  let finals = 0;
  const srv = await serve(
    session({
      caps: ['PIPELINING', 'CHUNKING', 'ENHANCEDSTATUSCODES'],
      final: () => (finals++ === 0 ? '250 2.0.0 queued as A\r\n250 2.0.0 nobody asked\r\n' : '554 5.6.0 content refused\r\n'),
    }),
  );
  const client = await within(3000, connect(base(srv.port)), 'connect');
  const results = await within(
    5000,
    Promise.all([1, 2].map((i) => client.send({ from: 'a@example.com', to: 'b@example.com', body: mail(`m${i}`) }))),
    'sends',
  );
  assert.is(results[0]!.outcome, 'accepted');
  // Message 2's end was written and no reply that fits came: unknown (never accepted).
  assert.is(results[1]!.outcome, 'unknown', results[1]!.error?.message);
  assert.is(results[1]!.error?.code, 'EPROTOCOL');
  assert.match(results[1]!.error!.message, /2\.1\.5/);
  assert.is((await client.closed)?.code, 'EPROTOCOL');
  await srv.close();
});

test('RCPT accepted after its MAIL was refused (the server holds another transaction): a protocol error, never a refusal', async () => {
  // A server that kept an earlier transaction (a refused BDAT at Exim, say) answers the next
  // MAIL 503 and lets its RCPT and BDAT LAST join the old one: that message may be delivered.
  const srv = await serve(
    session({
      caps: ['PIPELINING', 'CHUNKING'],
      hook: (line) => (line.startsWith('MAIL') ? '503 5.5.1 sender already given\r\n' : undefined),
    }),
  );
  const client = await within(3000, connect(base(srv.port)), 'connect');
  const r = await within(3000, client.send({ from: 'a@example.com', to: 'b@example.com', body: mail('joins another') }), 'send');
  assert.is(r.outcome, 'unknown', r.error?.message);
  assert.is(r.error?.code, 'EPROTOCOL');
  await srv.close();
});

// A server that reads nothing once the body starts: a whole body stays in the runtime's socket
// buffer (32 MiB: more than the kernel's buffers take on loopback).
for (const chunking of [false, true]) {
  test(`a server that reads nothing of a whole ${chunking ? 'Uint8Array body (BDAT)' : 'string body (DATA)'}: rejected on the data-block timer, never unknown`, async () => {
    const srv = await serve(
      session({
        caps: ['PIPELINING', '8BITMIME', ...(chunking ? ['CHUNKING'] : [])],
        hook: async (line, peer) => {
          if (line === 'DATA') await peer.send('354 go\r\n');
          if (line === 'DATA' || line.startsWith('BDAT')) {
            // Read nothing more, and do nothing with what was read, until the client goes.
            peer.socket.pause();
            await peer.gone;
            return 'handled';
          }
          return undefined;
        },
      }),
    );
    const client = await within(3000, connect(base(srv.port, { timeouts: { ...quick(), dataBlock: 400, dataEnd: 6000 } })), 'connect');
    const line = 'abcdefghijklmnopqrstuvwxyz0123456789'.repeat(2) + '\r\n';
    const text = 'Subject: big\r\n\r\n' + line.repeat(Math.ceil((32 * 1024 * 1024) / line.length));
    const started = Date.now();
    const r = await within(
      10_000,
      client.send({ from: 'a@example.com', to: 'b@example.com', body: chunking ? new TextEncoder().encode(text) : text }),
      'send',
    );
    const took = Date.now() - started;
    assert.is(r.outcome, 'rejected', r.error?.message);
    assert.instance(r.error, SmtpTimeoutError, r.error?.message);
    assert.is((r.error as SmtpTimeoutError).phase, 'dataBlock');
    assert.is(r.error?.transient, true);
    assert.ok(took < 4000, `the data-block timer, not the end-of-data one (${took} ms)`);
    client.abort();
    await srv.close();
  });
}

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

// The spool (--queue, smtpwire queue list | flush | drop): the built CLI against a real
// smtp-server and a scripted server that never answers the final dot. Includes the crash
// matrix: the process SIGKILLs itself at each named step (SMTPWIRE_TEST_CRASH_AT), and a later
// flush must neither lose nor duplicate the message.
import { chmodSync, chownSync, readdirSync, statSync, symlinkSync } from 'node:fs';
import * as net from 'node:net';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { EXIT } from '../bin/exit-codes.ts';
import { cli, freePort, it, tempDir, testServer, unansweredServer, type TestServer } from './cli-harness.ts';
import { exitWhenDone } from './exit-when-done.ts';

const msg = (n: number | string): string => `From: a@example.com\r\nTo: b@example.com\r\nSubject: spooled ${n}\r\n\r\nbody ${n}\r\n`;

function files(q: string, d: string): string[] {
  try {
    return readdirSync(join(q, d));
  } catch {
    return [];
  }
}

/** Queue one message for a port where nothing listens: it must end up in new/. */
async function enqueue(q: string, port: number, n: number | string, extra: string[] = [], env: Record<string, string> = {}) {
  return cli(
    [
      'send',
      '--queue',
      '--queue-dir',
      q,
      '--server',
      `smtp+plain://127.0.0.1:${port}`,
      '--from',
      'a@example.com',
      'b@example.com',
      ...extra,
    ],
    { stdin: msg(n), env },
  );
}

const flush = (q: string, extra: string[] = [], env: Record<string, string> = {}) =>
  cli(['queue', 'flush', '--queue-dir', q, ...extra], { env, timeout: 20_000 });

it('--queue with nothing listening: exit 0 "queued"; queue list shows it; flush delivers it byte for byte, once', async () => {
  const t = tempDir('spool');
  const port = await freePort();
  let s: TestServer | undefined;
  try {
    const q = join(t.dir, 'q');
    const r = await enqueue(q, port, 1);
    assert.is(r.code, 0, r.stderr);
    assert.match(r.stderr, /queued as [a-z0-9.]+/);
    assert.is(files(q, 'new').length, 1);
    assert.is(files(q, 'tmp').length, 0);
    const list = await cli(['queue', 'list', '--queue-dir', q]);
    assert.match(list.stdout, /queued\s+attempts=1.*from=a@example\.com to=b@example\.com/);
    assert.match(list.stdout, /cannot connect/);
    // The same port now has a server.
    s = await testServer();
    const r2 = await enqueue(q, s.port, 'direct'); // sent at once, not queued
    assert.is(r2.code, 0, r2.stderr);
    assert.not.match(r2.stderr, /queued/);
    await s.close();
    s = undefined;
    const srv = await serverOn(port);
    s = srv;
    const f = await flush(q);
    assert.is(f.code, 0, f.stderr);
    assert.is(srv.received.length, 1);
    assert.is(srv.received[0]!.data.toString('latin1'), msg(1));
    assert.equal(srv.received[0]!.to, ['b@example.com']);
    assert.is(files(q, 'new').length + files(q, 'cur').length, 0);
    const again = await flush(q);
    assert.is(again.code, 0);
    assert.is(srv.received.length, 1);
    // sendmail's own queue commands: -bp lists, -q flushes.
    assert.is((await enqueue(q, await freePort(), 'q')).code, 0);
    const bp = await cli(['sendmail', '-bp', '--queue-dir', q]);
    assert.match(bp.stdout, /queued\s+attempts=1/);
    const dq = await cli(['sendmail', '-q', '--queue-dir', q], { timeout: 20_000 });
    assert.is(dq.code, EXIT.TEMPFAIL, dq.stderr); // its port has no server: deferred, still queued
    assert.match(dq.stderr, /deferred \(attempt 2/);
  } finally {
    await s?.close();
    t.done();
  }
});

/** A test server on a given port (the one messages were queued for). */
async function serverOn(port: number, options: Parameters<typeof testServer>[0] = {}): Promise<TestServer> {
  // testServer listens on port 0; for a fixed, just-freed port build the same with listen(port).
  const { SMTPServer } = await import('smtp-server');
  const received: TestServer['received'] = [];
  const server = new SMTPServer({
    logger: false,
    disableReverseLookup: true,
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    closeTimeout: 200,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const env = session.envelope as unknown as { mailFrom: { address: string }; rcptTo: { address: string }[] };
        received.push({
          from: env.mailFrom.address,
          to: env.rcptTo.map((x) => x.address),
          mailArgs: {},
          rcptArgs: [],
          data: Buffer.concat(chunks),
        });
        callback();
      });
    },
    ...options,
  });
  server.on('error', () => {});
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return { port, url: `smtp+plain://127.0.0.1:${port}`, received, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

it('a transient refusal of one recipient: the others get it now, only that one is queued, flush sends it to that one', async () => {
  const t = tempDir('spool-partial');
  let refuse = true;
  const s = await testServer({
    onRcptTo(a, _s, cb) {
      cb(refuse && a.address === 'later@example.com' ? Object.assign(new Error('try later'), { responseCode: 451 }) : undefined);
    },
  });
  try {
    const q = join(t.dir, 'q');
    const r = await cli(
      ['send', '--queue', '--queue-dir', q, '--server', s.url, '--from', 'a@example.com', 'b@example.com', 'later@example.com'],
      { stdin: msg('p') },
    );
    assert.is(r.code, 0, r.stderr);
    assert.match(r.stderr, /queued as/);
    assert.equal(
      s.received.map((m) => m.to),
      [['b@example.com']],
    );
    refuse = false;
    const f = await flush(q);
    assert.is(f.code, 0, f.stderr);
    assert.equal(
      s.received.map((m) => m.to),
      [['b@example.com'], ['later@example.com']],
    );
    assert.is(s.received[1]!.data.toString('latin1'), msg('p'));
  } finally {
    await s.close();
    t.done();
  }
});

it('every recipient refused, one for now and one for good: exit 67, the 4xx one queued and later sent', async () => {
  const t = tempDir('spool-mixed');
  let refuse = true;
  const s = await testServer({
    onRcptTo(a, _s, cb) {
      if (a.address === 'gone@example.com') return cb(Object.assign(new Error('no such user'), { responseCode: 550 }));
      cb(refuse ? Object.assign(new Error('try later'), { responseCode: 451 }) : undefined);
    },
  });
  try {
    const q = join(t.dir, 'q');
    const r = await cli(
      ['send', '--queue', '--queue-dir', q, '--server', s.url, '--from', 'a@example.com', 'later@example.com', 'gone@example.com'],
      { stdin: msg('m') },
    );
    assert.is(r.code, EXIT.NOUSER, r.stderr);
    assert.match(r.stderr, /rejected gone@example\.com: 550/);
    assert.match(r.stderr, /queued as/);
    assert.is(s.received.length, 0);
    refuse = false;
    const f = await flush(q);
    assert.is(f.code, 0, f.stderr);
    assert.equal(
      s.received.map((m) => m.to),
      [['later@example.com']],
    );
  } finally {
    await s.close();
    t.done();
  }
});

it('flush retries with backoff: 451 twice, then accepted, within one --retry-for flush; delivered once', async () => {
  const t = tempDir('spool-backoff');
  let refusals = 0;
  const s = await testServer({
    onData(stream, _session, cb) {
      stream.resume();
      stream.on('end', () => (refusals++ < 3 ? cb(Object.assign(new Error('busy'), { responseCode: 451 })) : cb()));
    },
  });
  try {
    const q = join(t.dir, 'q');
    const r = await cli(['send', '--queue', '--queue-dir', q, '--server', s.url, '--from', 'a@example.com', 'b@example.com'], {
      stdin: msg('b'),
    });
    assert.is(r.code, 0, r.stderr); // refusal 1: queued
    const started = Date.now();
    const f = await flush(q, ['--backoff', '0.4', '--retry-for', '10']);
    const took = Date.now() - started;
    assert.is(f.code, 0, f.stderr);
    // The enqueueing send was attempt 1; the flush's attempts 2 and 3 wait 0.8 s and 1.6 s.
    assert.match(f.stderr, /deferred \(attempt 2, next try in 0\.8 s\)/);
    assert.match(f.stderr, /deferred \(attempt 3, next try in 1\.6 s\)/);
    assert.match(f.stderr, /: sent/);
    assert.ok(took >= 2400, `the backoff waits 0.8 + 1.6 s; took ${took} ms`);
    assert.is(refusals, 4);
    assert.is(files(q, 'new').length, 0);
  } finally {
    await s.close();
    t.done();
  }
});

/** A server that takes the whole message and never answers the final dot, counting messages. */
async function silentAtDot(): Promise<{ port: number; dots: () => number; close(): Promise<void> }> {
  let dots = 0;
  const server = await unansweredServer({ name: 'silent.test', go: 'go', onDot: () => (dots++, true) });
  return { ...server, dots: () => dots };
}

it('--queue and an unknown outcome at once: exit 76, not queued (it may have been delivered)', async () => {
  const t = tempDir('spool-unknown');
  const silent = await silentAtDot();
  try {
    const q = join(t.dir, 'q');
    const r = await cli(
      [
        'send',
        '--queue',
        '--queue-dir',
        q,
        '--data-end-timeout',
        '0.5',
        '--server',
        `smtp+plain://127.0.0.1:${silent.port}`,
        '--from',
        'a@example.com',
        'b@example.com',
      ],
      { stdin: msg('u') },
    );
    assert.is(r.code, EXIT.PROTOCOL, r.stderr);
    assert.not.match(r.stderr, /queued/);
    assert.is(files(q, 'new').length + files(q, 'tmp').length, 0);
    assert.is(silent.dots(), 1);
  } finally {
    await silent.close();
    t.done();
  }
});

it('flush ending unknown: held and marked; a plain flush leaves it; --force resends it once; drop removes it', async () => {
  const t = tempDir('spool-hold');
  const port = await freePort();
  try {
    const q = join(t.dir, 'q');
    assert.is((await enqueue(q, port, 'h')).code, 0);
    // Now the silent server comes up on that port.
    const silent = await silentOn(port);
    try {
      const f = await flush(q, ['--data-end-timeout', '0.5']);
      assert.is(f.code, EXIT.PROTOCOL, f.stderr);
      assert.match(f.stderr, /outcome unknown: kept in hold/);
      assert.is(silent.dots(), 1);
      assert.is(files(q, 'hold').length, 1);
      const list = await cli(['queue', 'list', '--queue-dir', q]);
      assert.match(list.stdout, /unknown\s+attempts=2/);
      assert.match(list.stdout, /outcome unknown/);
      const f2 = await flush(q, ['--data-end-timeout', '0.5']);
      assert.is(f2.code, 0, f2.stderr);
      assert.is(silent.dots(), 1, 'a held message was resent without --force');
      const f3 = await flush(q, ['--force', '--data-end-timeout', '0.5']);
      assert.is(f3.code, EXIT.PROTOCOL, f3.stderr);
      assert.is(silent.dots(), 2);
      const id = files(q, 'hold')[0]!.split(',')[0]!;
      const d = await cli(['queue', 'drop', '--queue-dir', q, id]);
      assert.is(d.code, 0, d.stderr);
      assert.is(files(q, 'hold').length, 0);
      const d2 = await cli(['queue', 'drop', '--queue-dir', q, id]);
      assert.is(d2.code, EXIT.NOINPUT);
    } finally {
      await silent.close();
    }
  } finally {
    t.done();
  }
});

async function silentOn(port: number): Promise<{ dots: () => number; close(): Promise<void> }> {
  const s = await silentAtDot();
  // Forward the fixed port to the silent server (it listens on its own ephemeral port).
  const sockets = new Set<net.Socket>();
  const fwd = net.createServer((c) => {
    const u = net.connect(s.port, '127.0.0.1');
    sockets.add(c).add(u);
    c.on('error', () => u.destroy());
    u.on('error', () => c.destroy());
    c.pipe(u).pipe(c);
  });
  await new Promise<void>((r) => fwd.listen(port, '127.0.0.1', () => r()));
  return {
    dots: s.dots,
    close: async () => {
      for (const x of sockets) x.destroy();
      await new Promise<void>((r) => fwd.close(() => r()));
      await s.close();
    },
  };
}

// ---- the crash matrix -------------------------------------------------------------------------

it('crash while queueing (killed at each step): queued exactly when the rename into new/ happened', async () => {
  const t = tempDir('spool-crash-q');
  const port = await freePort();
  try {
    for (const [step, queued] of [
      ['spool-written', 0],
      ['spool-synced', 0],
      ['spool-committed', 1],
    ] as const) {
      const q = join(t.dir, step);
      const r = await enqueue(q, port, step, [], { SMTPWIRE_TEST_CRASH_AT: step });
      assert.is(r.code, null, `${step}: the process should have been killed: ${r.stderr}`);
      assert.is(files(q, 'new').length, queued, step);
      // Not queued: the sender saw a failure (it was killed before saying "queued"), so the
      // message is still the caller's; a left-over in tmp/ is never sent.
      const s = await serverOn(port);
      try {
        const f = await flush(q);
        assert.is(f.code, 0, `${step}: ${f.stderr}`);
        assert.is(s.received.length, queued, step);
      } finally {
        await s.close();
      }
    }
  } finally {
    t.done();
  }
}, 60_000);

it('crash while flushing (killed at each step), then a normal flush: never lost, never sent twice', async () => {
  const t = tempDir('spool-crash-f');
  const port = await freePort();
  // step -> [messages delivered in all, state after the recovery flush]
  const matrix: [string, number, 'gone' | 'hold'][] = [
    ['flush-claimed', 1, 'gone'], // nothing left the process: the recovery flush sends it
    ['flush-end-marked', 0, 'hold'], // the end may have left (it had not): kept as unknown, not resent
    ['flush-replied', 1, 'hold'], // delivered, the removal never happened: unknown, not resent
    ['flush-finished', 1, 'gone'], // delivered and removed
  ];
  try {
    for (const [step, delivered, after] of matrix) {
      const q = join(t.dir, step);
      assert.is((await enqueue(q, port, step)).code, 0);
      const s = await serverOn(port);
      try {
        const crashed = await flush(q, [], { SMTPWIRE_TEST_CRASH_AT: step });
        assert.is(crashed.code, null, `${step}: the flush should have been killed: ${crashed.stderr}`);
        const f = await flush(q);
        assert.ok(f.code === 0, `${step}: recovery flush: ${f.code} ${f.stderr}`);
        assert.is(s.received.length, delivered, `${step}: delivered`);
        const held = files(q, 'hold').length;
        const left = files(q, 'new').length + files(q, 'cur').length;
        assert.is(left, 0, `${step}: left in new/ or cur/`);
        assert.is(held, after === 'hold' ? 1 : 0, `${step}: held`);
        if (after === 'hold') {
          const list = await cli(['queue', 'list', '--queue-dir', q]);
          assert.match(list.stdout, /unknown/, step);
          assert.match(list.stdout, /may have been delivered/, step);
        }
        for (const m of s.received) assert.is(m.data.toString('latin1'), msg(step));
      } finally {
        await s.close();
      }
    }
  } finally {
    t.done();
  }
}, 90_000);

it('three concurrent flushes of 12 queued messages: each delivered exactly once', async () => {
  const t = tempDir('spool-concurrent');
  const port = await freePort();
  try {
    const q = join(t.dir, 'q');
    for (let i = 0; i < 12; i++) assert.is((await enqueue(q, port, `c${i}`)).code, 0);
    assert.is(files(q, 'new').length, 12);
    const s = await serverOn(port);
    try {
      const runs = await Promise.all([flush(q), flush(q), flush(q)]);
      for (const r of runs) assert.is(r.code, 0, r.stderr);
      const subjects = s.received.map((m) => /Subject: spooled (c\d+)/.exec(m.data.toString())![1]).sort();
      assert.equal(subjects, Array.from({ length: 12 }, (_, i) => `c${i}`).sort());
      assert.is(files(q, 'new').length + files(q, 'cur').length + files(q, 'hold').length, 0);
    } finally {
      await s.close();
    }
  } finally {
    t.done();
  }
}, 90_000);

it('an envelope line over 64 KiB (3000 recipients) is read back whole: flushed to every recipient, once', async () => {
  const t = tempDir('spool-wide');
  let s: TestServer | undefined;
  try {
    const q = join(t.dir, 'q');
    const port = await freePort();
    const to = Array.from({ length: 3000 }, (_, i) => `recipient-number-${i}@example.com`);
    const r = await cli(
      ['send', '--queue', '--queue-dir', q, '--server', `smtp+plain://127.0.0.1:${port}`, '--from', 'a@example.com', ...to],
      {
        stdin: msg('wide'),
      },
    );
    assert.is(r.code, 0, r.stderr);
    assert.is(files(q, 'new').length, 1);
    assert.match((await cli(['queue', 'list', '--queue-dir', q])).stdout, /recipient-number-2999@example\.com/);
    s = await serverOn(port);
    const f = await flush(q);
    assert.is(f.code, 0, f.stderr);
    assert.is(s.received.length, 1);
    assert.equal(s.received[0]!.to, to);
    assert.is(s.received[0]!.data.toString('latin1'), msg('wide'));
    assert.is(files(q, 'new').length + files(q, 'cur').length + files(q, 'hold').length, 0);
  } finally {
    await s?.close();
    t.done();
  }
}, 60_000);

it('the spool is private: created 0700 with 0600 files; an open, linked or foreign spool is refused (78), nothing written or run', async () => {
  const t = tempDir('spool-perm');
  try {
    const q = join(t.dir, 'q');
    const port = await freePort();
    const r = await enqueue(q, port, 1);
    assert.is(r.code, 0, r.stderr);
    for (const d of ['', 'tmp', 'new', 'cur', 'hold', 'failed', 'info']) assert.is(statSync(join(q, d)).mode & 0o777, 0o700, `${d}/`);
    const queued = files(q, 'new');
    assert.is(queued.length, 1);
    assert.is(statSync(join(q, 'new', queued[0]!)).mode & 0o777, 0o600);

    // Open to others: whoever can write there could plant a message whose recipe runs a command.
    chmodSync(q, 0o755);
    const open = await enqueue(q, port, 2);
    assert.is(open.code, EXIT.CONFIG, open.stderr);
    assert.match(open.stderr, /open to group or others \(mode 755\).*chmod 700/);
    for (const args of [['flush'], ['list'], ['drop', 'x']]) {
      const c = await cli(['queue', ...args, '--queue-dir', q]);
      assert.is(c.code, EXIT.CONFIG, `${args[0]}: ${c.stderr}`);
    }
    assert.equal(files(q, 'new'), queued);
    assert.equal(files(q, 'tmp'), []);
    chmodSync(join(q, 'new'), 0o777);
    chmodSync(q, 0o700);
    assert.is((await flush(q)).code, EXIT.CONFIG, 'a subdirectory open to others');
    chmodSync(join(q, 'new'), 0o700);

    // A symbolic link in its place (say, planted in a shared directory).
    const link = join(t.dir, 'link');
    symlinkSync(q, link);
    const linked = await enqueue(link, port, 3);
    assert.is(linked.code, EXIT.CONFIG, linked.stderr);
    assert.match(linked.stderr, /symbolic link/);
    assert.is((await flush(link)).code, EXIT.CONFIG);

    if (process.getuid!() === 0) {
      chownSync(q, 65534, 65534); // another user's spool
      const foreign = await flush(q);
      assert.is(foreign.code, EXIT.CONFIG, foreign.stderr);
      assert.match(foreign.stderr, /belongs to uid 65534/);
      chownSync(q, 0, 0);
    }
    // The private spool works as before: the message is still queued and tried.
    const f = await flush(q);
    assert.is(f.code, EXIT.TEMPFAIL, f.stderr);
    assert.is(files(q, 'new').length, 1);
  } finally {
    t.done();
  }
}, 60_000);

exitWhenDone(test);
test.run();

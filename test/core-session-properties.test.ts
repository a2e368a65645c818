// Property tests of the whole core against fast-check-chosen servers. Each property states its
// run count; `SMTPWIRE_FUZZ_SCALE` multiplies them (npm run fuzz uses it for long runs).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from './fc.ts';
import { SmtpConnection, type ConnectionOptions } from '../core/full.ts';
import type { SmtpEvent, TransactionResult } from '../core/events.ts';
import { ReplyParser, type Reply } from '../core/reply.ts';
import { SmtpError } from '../core/errors.ts';
import { lookup, TABLE, type Input, type Phase } from '../core/states.ts';
import { script, ScriptedServer, drive, VirtualClock, type ScriptBuilder } from '../transports/mock.ts';
import { enc } from './helpers.ts';

const SCALE = Number(process.env.SMTPWIRE_FUZZ_SCALE ?? '1');
const runs = (n: number) => Math.max(1, Math.round(n * SCALE));
const SEED = process.env.SMTPWIRE_FUZZ_SEED ? Number(process.env.SMTPWIRE_FUZZ_SEED) : undefined;
const params = (n: number) => ({ numRuns: runs(n), ...(SEED === undefined ? {} : { seed: SEED }) });

/** Counted runs, so the closing note and `npm run fuzz` can say how many streams were tried. */
export const counted = { streams: 0 };

// ---- 1. any split of the server stream gives the same events ---------------------------------

const SCENARIOS: { name: string; options: ConnectionOptions; build: () => ScriptBuilder; bodies: string[] }[] = [
  {
    name: 'pipelined DATA with a rejected recipient',
    options: { name: 'c.example', tls: 'none' },
    bodies: ['one\r\n.dot\r\n', 'two\n'],
    build: () =>
      script()
        .send('220-mx.example multi', '220 line greeting')
        .expect('EHLO c.example')
        .send('250-mx', '250-PIPELINING', '250-ENHANCEDSTATUSCODES', '250 SIZE 1000')
        .expect('MAIL FROM:<a@x.org>', 'RCPT TO:<b@x.org>', 'RCPT TO:<c@x.org>', 'DATA')
        .send('250 2.1.0 ok', '550-5.1.1 no such', '550 5.1.1 user', '354 go')
        .expect('.')
        .send('250 2.0.0 queued')
        .expect('MAIL FROM:<a@x.org>', 'RCPT TO:<b@x.org>', 'RCPT TO:<c@x.org>', 'DATA')
        .send('250 ok', '250 ok', '250 ok', '354 go')
        .expect('.')
        .send('451 4.3.0 try later')
        .expect('QUIT')
        .send('221 bye'),
  },
  {
    name: 'STARTTLS, AUTH LOGIN, BDAT pipelined',
    options: { name: 'c.example', tls: 'required', auth: { credentials: { user: 'u', pass: 'p' }, mechanism: 'LOGIN' } },
    bodies: ['x\r\n', 'y\r\n'],
    build: () =>
      script()
        .send('220 mx')
        .expect('EHLO c.example')
        .send('250-mx', '250 STARTTLS')
        .expect('STARTTLS')
        .send('220 go')
        .tls()
        .expect('EHLO c.example')
        .send('250-mx', '250-PIPELINING', '250-CHUNKING', '250 AUTH LOGIN')
        .expect('AUTH LOGIN')
        .send('334 VXNlcm5hbWU6')
        .expect('dQ==')
        .send('334 UGFzc3dvcmQ6')
        .expect('cA==')
        .send('235 ok')
        // The RSET: the first transaction is still in flight when the second MAIL goes (issue 12).
        .expect(
          'MAIL FROM:<a@x.org>',
          'RCPT TO:<b@x.org>',
          'RCPT TO:<c@x.org>',
          'BDAT 3 LAST',
          'RSET',
          'MAIL FROM:<a@x.org>',
          'RCPT TO:<b@x.org>',
          'RCPT TO:<c@x.org>',
          'BDAT 3 LAST',
        )
        .send('250 ok', '250 ok', '250 ok', '250 done', '250 reset', '250 ok', '550 no', '250 ok', '250 done')
        .expect('QUIT')
        .send('221 bye'),
  },
  {
    name: 'LMTP with per-recipient replies and a lost link',
    options: { name: 'c.example', lmtp: true, tls: 'none' },
    bodies: ['hello\r\n'],
    build: () =>
      script()
        .send('220 lmtp')
        .expect('LHLO c.example')
        .send('250-lmtp', '250 PIPELINING')
        .expect('MAIL FROM:<a@x.org>', 'RCPT TO:<b@x.org>', 'RCPT TO:<c@x.org>', 'DATA')
        .send('250 ok', '250 ok', '250 ok', '354 go')
        .expect('.')
        .send('250 b ok')
        .eof(),
  },
];

function runScenario(sc: (typeof SCENARIOS)[number], split: number): SmtpEvent[] {
  const clock = new VirtualClock(0);
  const core = new SmtpConnection(sc.options);
  core.start(0);
  for (const body of sc.bodies) {
    const id = core.send({ from: 'a@x.org', to: ['b@x.org', 'c@x.org'] }, 0);
    core.writeBody(id, enc.encode(body), 0);
    core.endBody(id, 0);
  }
  core.quit(0);
  const b = sc.build();
  b.steps.unshift({ type: 'split', size: split });
  return drive(core, new ScriptedServer(b), { clock, started: true }).events;
}

for (const sc of SCENARIOS) {
  test(`any split of the server stream gives the same events: ${sc.name} (${runs(60)} runs)`, () => {
    const baseline = JSON.stringify(runScenario(sc, 1 << 20));
    assert.ok(baseline.includes('"transaction"'));
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 40 }), (split) => {
        counted.streams++;
        assert.is(JSON.stringify(runScenario(sc, split)), baseline);
      }),
      params(60),
    );
  });
}

test(`reply parser: arbitrary cut points give the same replies (${runs(500)} runs)`, () => {
  const replyLine = fc
    .tuple(
      fc.integer({ min: 200, max: 559 }).filter((c) => c % 100 < 60),
      fc.array(
        fc.string({ maxLength: 20 }).map((s) => s.replace(/[\r\n]/g, '')),
        { minLength: 1, maxLength: 4 },
      ),
    )
    .map(([code, texts]) => texts.map((t, i) => `${code}${i < texts.length - 1 ? '-' : ' '}${t}\r\n`).join(''));
  fc.assert(
    fc.property(fc.array(replyLine, { minLength: 1, maxLength: 6 }), fc.array(fc.nat(), { maxLength: 12 }), (replies, cuts) => {
      counted.streams++;
      const stream = enc.encode(replies.join(''));
      const whole: Reply[] = [];
      new ReplyParser().push(stream, (r) => {
        whole.push(r);
      });
      const points = [...new Set(cuts.map((c) => c % (stream.length + 1)))].sort((a, b) => a - b);
      const parts: Reply[] = [];
      const parser = new ReplyParser();
      let at = 0;
      for (const p of [...points, stream.length]) {
        parser.push(stream.subarray(at, p), (r) => {
          parts.push(r);
        });
        at = p;
      }
      assert.equal(parts, whole);
      assert.is(whole.length, replies.length);
    }),
    params(500),
  );
});

// ---- 2. arbitrary bytes as server replies: events or a remote error, never a throw or a hang --

const TOKENS = [
  '220',
  '250',
  '354',
  '421',
  '451',
  '550',
  '334',
  '235',
  '-',
  ' ',
  '\r\n',
  '\n',
  '\r',
  'ok',
  'PIPELINING',
  'CHUNKING',
  'STARTTLS',
  'AUTH PLAIN LOGIN',
  'SIZE 10',
  '\0',
  '\x1b[2J',
  '999',
  '2x0',
  '25',
  '600',
  '.',
  '2.0.0 ',
  'é',
];
const replyish = fc.array(fc.constantFrom(...TOKENS), { maxLength: 60 }).map((t) => enc.encode(t.join('')));
const anyBytes = fc.uint8Array({ maxLength: 300 });

function assertNeverHangs(chunks: Uint8Array[], options: ConnectionOptions): void {
  counted.streams++;
  const core = new SmtpConnection(options);
  let now = 0;
  core.start(now);
  const id = core.send({ from: 'a@x.org', to: ['b@x.org'] }, now);
  core.writeBody(id, enc.encode('hello\r\n'), now);
  core.endBody(id, now);
  const settled: TransactionResult[] = [];
  let closed = false;
  let lastWait: number | undefined = 0;
  const drain = () => {
    for (;;) {
      const o = core.poll(now);
      if (o.type === 'wait') {
        lastWait = o.deadline;
        return;
      }
      if (o.type === 'event' && o.event.type === 'transaction') settled.push(o.event.result);
      if (o.type === 'event' && o.event.type === 'closed') {
        closed = true;
        if (o.event.error) assert.instance(o.event.error, SmtpError);
      }
      if (o.type === 'start-tls') {
        now += 1;
        core.tlsEstablished(now);
      }
    }
  };
  drain();
  for (const c of chunks) {
    now += 1;
    core.receive(c, now); // must never throw
    drain();
    // The transaction is pending until settled: something must be scheduled to end the wait.
    if (settled.length === 0) assert.ok(lastWait !== undefined, 'waiting for a reply without a deadline');
  }
  // Time passes: every deadline fires, until the transaction settles and the session ends.
  for (let i = 0; i < 50 && !closed && lastWait !== undefined; i++) {
    now = lastWait;
    core.handleTimeout(now);
    drain();
  }
  if (settled.length === 0) {
    core.receiveEof(now + 1);
    drain();
  }
  assert.is(settled.length, 1, 'the transaction settles exactly once');
}

test(`arbitrary bytes from the server never throw or hang (${runs(1500)} runs)`, () => {
  fc.assert(
    fc.property(fc.array(anyBytes, { maxLength: 6 }), (chunks) => assertNeverHangs(chunks, { tls: 'none' })),
    params(1500),
  );
});

test(`reply-shaped garbage never throws or hangs (${runs(1500)} runs)`, () => {
  const opts = fc.constantFrom<ConnectionOptions>(
    { tls: 'none' },
    { tls: 'opportunistic' },
    { tls: 'required', auth: { credentials: { user: 'u', pass: 'p' } } },
    { secure: true, auth: { credentials: { user: 'u', pass: 'p' } }, lmtp: true },
  );
  fc.assert(
    fc.property(fc.array(replyish, { maxLength: 8 }), opts, (chunks, o) => assertNeverHangs(chunks, o)),
    params(1500),
  );
});

// ---- 3. model-based: fast-check answers every command; outcomes follow what the server did ---

type Answer = 'ok' | 'temp' | 'perm' | '421' | 'garbage' | 'eof' | 'multi';
const answer = fc.constantFrom<Answer>('ok', 'ok', 'ok', 'ok', 'multi', 'temp', 'perm', '421', 'garbage', 'eof');

interface ServerTx {
  finalReply?: number;
  dotSeen: boolean;
}

test(`model: outcomes agree with what the server saw (${runs(800)} runs)`, () => {
  fc.assert(
    fc.property(
      fc.array(answer, { minLength: 1, maxLength: 40 }),
      fc.record({
        pipelining: fc.boolean(),
        chunking: fc.boolean(),
        lmtp: fc.constant(false),
        messages: fc.integer({ min: 1, max: 4 }),
        rcpts: fc.integer({ min: 1, max: 3 }),
        split: fc.integer({ min: 1, max: 30 }),
      }),
      (answers, cfg) => {
        counted.streams++;
        let i = 0;
        const next = (): Answer => answers[i++] ?? 'ok';
        const txs: ServerTx[] = [];
        let cur: ServerTx | undefined;
        let bdatLast = false;
        const caps = ['250-mx', ...(cfg.pipelining ? ['250-PIPELINING'] : []), ...(cfg.chunking ? ['250-CHUNKING'] : []), '250 8BITMIME'];
        const reply = (ok: string, line: string): string | undefined => {
          const a = next();
          switch (a) {
            case 'ok':
              return ok + '\r\n';
            case 'multi':
              return ok.replace(/^(\d{3}) /, '$1-first\r\n$1 ') + '\r\n';
            case 'temp':
              return '451 4.3.0 later\r\n';
            case 'perm':
              return '554 5.0.0 no\r\n';
            case '421':
              closing = true;
              return '421 4.3.2 bye\r\n';
            case 'garbage':
              return 'xx garbage\r\n';
            case 'eof':
              return undefined;
          }
          void line;
        };
        // A server that keeps real SMTP state (RFC 5321 §4.1.4): fast-check picks each answer,
        // but commands out of sequence get the 503/554 a real server gives.
        let mailOk = false,
          rcptOk = 0,
          lastOk = false,
          closing = false;
        const finish = (r: string | undefined, isFinal: boolean): string | undefined => {
          if (isFinal && cur && r !== undefined) {
            const last = r.trimEnd().split('\r\n').pop()!;
            if (/^[2-5]\d\d /.test(last)) cur.finalReply = Number(last.slice(0, 3));
          }
          if (isFinal) {
            mailOk = false;
            rcptOk = 0;
          }
          return r;
        };
        const b = script()
          .split(cfg.split)
          .send('220 mx')
          .respond((line) => {
            if (closing) return undefined; // after 421 the server closes (RFC 5321 §3.8)
            if (/^EHLO/.test(line)) return caps.join('\r\n') + '\r\n';
            if (/^MAIL/.test(line)) {
              cur = { dotSeen: false };
              txs.push(cur);
              const r = reply('250 ok', line);
              mailOk = r !== undefined && r.startsWith('250');
              return r;
            }
            if (/^RCPT/.test(line)) {
              if (!mailOk) return '503 5.5.1 need MAIL\r\n';
              const r = reply('250 ok', line);
              if (r?.startsWith('250')) rcptOk++;
              return r;
            }
            if (line === 'DATA') return mailOk && rcptOk > 0 ? reply('354 go', line) : '554 5.5.1 no valid recipients\r\n';
            if (/^BDAT/.test(line)) {
              bdatLast = / LAST$/.test(line);
              const valid = mailOk && rcptOk > 0;
              if (bdatLast && cur && valid) cur.dotSeen = true;
              if (!valid) return finish('503 5.5.1 no transaction\r\n', bdatLast);
              const r = reply('250 ok', line);
              lastOk = r?.startsWith('250') ?? false;
              if (!lastOk) {
                mailOk = false;
                rcptOk = 0;
              }
              return finish(r, bdatLast);
            }
            if (line === '.') {
              if (cur) cur.dotSeen = true;
              return finish(reply('250 ok', line), true);
            }
            if (line === 'RSET') {
              mailOk = false;
              rcptOk = 0;
              return '250 ok\r\n';
            }
            if (line === 'QUIT') return '221 bye\r\n';
            return '500 what\r\n';
          });
        const core = new SmtpConnection({ tls: 'none' });
        const clock = new VirtualClock(0);
        core.start(0);
        const ids: number[] = [];
        for (let m = 0; m < cfg.messages; m++) {
          const id = core.send({ from: 'a@x.org', to: Array.from({ length: cfg.rcpts }, (_, k) => `r${k}@x.org`) }, 0);
          core.writeBody(id, enc.encode(`message ${m}\r\n`), 0);
          core.endBody(id, 0);
          ids.push(id);
        }
        core.quit(0);
        const server = new ScriptedServer(b);
        const { events } = drive(core, server, { clock, started: true });
        // Ends of data the client really wrote (whether or not the server got round to them).
        const written = server.received.map((x) => new TextDecoder().decode(x)).join('');
        // Which transaction each MAIL belonged to: MAILs go out in id order, skipping none that was sent.
        const mailOrder = ids.slice(0, txs.length);
        const endWritten = (m: number) =>
          written.includes(`message ${m}\r\n.\r\n`) || new RegExp(`BDAT \\d+ LAST\r\nmessage ${m}\r\n`).test(written);
        const results = events.flatMap((e) => (e.type === 'transaction' ? [e.result] : []));
        // Every transaction settles exactly once.
        assert.equal(
          results.map((r) => r.id).sort((a, b) => a - b),
          ids,
        );
        // Pair each result with the server's view of the same transaction (MAIL order = id order).
        const byId = [...results].sort((x, y) => x.id - y.id);
        byId.forEach((r) => {
          // The server numbers transactions by MAIL; a transaction that never sent MAIL has none.
          const seen = txs[mailOrder.indexOf(r.id)];
          const serverTook = seen?.finalReply !== undefined && seen.finalReply < 300;
          if (r.outcome === 'accepted') assert.ok(serverTook, `tx ${r.id}: accepted only after the server's 2xx to the end of data`);
          if (r.outcome === 'rejected') {
            assert.not.ok(serverTook, `tx ${r.id}: reported rejected but the server took it`);
            assert.instance(r.error, SmtpError);
          }
          if (r.outcome === 'unknown') assert.ok(endWritten(ids.indexOf(r.id)), `tx ${r.id}: unknown only once its end was written`);
        });
        assert.ok(
          events.some((e) => e.type === 'closed'),
          'the session always ends',
        );
      },
    ),
    params(800),
  );
});

// ---- user input: arbitrary strings never put CR, LF or NUL on the wire ------------------------

test(`arbitrary addresses, DSN values and EHLO names: a usage error or a clean wire (${runs(1000)} runs)`, () => {
  const text = fc.oneof(
    fc.string({ maxLength: 30 }),
    fc.string({ unit: 'binary', maxLength: 30 }),
    fc.constantFrom('a@b.c', 'x\r\nRCPT TO:<evil@x>', 'a@b\0c', '"q"@x.org', '<a@b>', 'a@[127.0.0.1]', 'ü@ü.de', 'a\n@b'),
  );
  fc.assert(
    fc.property(text, text, text, text, (from, to, name, envid) => {
      counted.streams++;
      let core: SmtpConnection;
      try {
        core = new SmtpConnection({ name: name || 'x.org', tls: 'none' });
        core.start(0);
        core.receive(enc.encode('220 mx\r\n'), 0);
        core.receive(enc.encode('250-mx\r\n250-DSN\r\n250-SMTPUTF8\r\n250 PIPELINING\r\n'), 0);
        core.send({ from, to: [{ address: to, orcpt: envid }], dsn: { envid } }, 0);
      } catch (e) {
        assert.is((e as SmtpError).code, 'EUSAGE', String(e));
        return;
      }
      let wire = '';
      for (;;) {
        const o = core.poll(0);
        if (o.type === 'wait') break;
        if (o.type === 'write') wire += o.chunks.map((c) => new TextDecoder().decode(c)).join('');
      }
      for (const line of wire.split('\r\n').slice(0, -1)) assert.not.match(line, /[\r\n\0]/, `control in ${JSON.stringify(line)}`);
      assert.ok(wire.endsWith('\r\n'));
    }),
    params(1000),
  );
});

// ---- 4. every (phase, input) pair ------------------------------------------------------------

const PREFIX: Record<Exclude<Phase, 'idle' | 'closed' | 'failed'>, { options: ConnectionOptions; server: string[]; tls?: boolean }> = {
  greeting: { options: {}, server: [] },
  hello: { options: {}, server: ['220 mx'] },
  helo: { options: {}, server: ['220 mx', '502 no'] },
  starttls: { options: {}, server: ['220 mx', '250-mx\r\n250 STARTTLS'] },
  tls: { options: {}, server: ['220 mx', '250-mx\r\n250 STARTTLS', '220 go'] },
  auth: {
    options: { secure: true, auth: { credentials: { user: 'u', pass: 'p' }, mechanism: 'LOGIN' } },
    server: ['220 mx', '250-mx\r\n250 AUTH LOGIN'],
  },
  ready: { options: { tls: 'none' }, server: ['220 mx', '250 mx'] },
  quitting: { options: { tls: 'none' }, server: ['220 mx', '250 mx'] },
};
const INPUTS: { input: Input | 'garbage'; apply: (c: SmtpConnection, now: number) => void }[] = [
  ...['250 ok', '334 VXNlcm5hbWU6', '354 go', '451 later', '554 no', '421 bye'].map((r) => ({
    input: `reply-${r[0]}xx` as Input,
    apply: (c: SmtpConnection, now: number) => c.receive(enc.encode(r + '\r\n'), now),
  })),
  { input: 'garbage', apply: (c, now) => c.receive(enc.encode('hello?\r\n'), now) },
  { input: 'eof', apply: (c, now) => c.receiveEof(now) },
  { input: 'timeout', apply: (c, now) => c.handleTimeout(now + 24 * 3600_000) },
  { input: 'tls-established', apply: (c, now) => c.tlsEstablished(now) },
  { input: 'quit', apply: (c, now) => c.quit(now) },
  { input: 'abort', apply: (c, now) => c.abort(now) },
];

// ---- issue 12: what was taken decides "unknown"; replies that cannot fit their command ------

/** Drain `core`; the transaction results, whether it closed, the bytes written and the last
 *  deadline. */
function drainCore(
  core: SmtpConnection,
  now: number,
  sink: { results: TransactionResult[]; closed: boolean; written: number; deadline: number | undefined },
): void {
  for (;;) {
    const o = core.poll(now);
    if (o.type === 'wait') {
      sink.deadline = o.deadline;
      return;
    }
    if (o.type === 'write') for (const c of o.chunks) sink.written += c.length;
    if (o.type === 'event' && o.event.type === 'transaction') sink.results.push(o.event.result);
    if (o.type === 'event' && o.event.type === 'closed') sink.closed = true;
  }
}

test(`written(): a link lost after BDAT LAST is unknown exactly when the transport took the end; untaken output fails on the data-block timer (${runs(400)} runs)`, () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 3000 }), fc.double({ min: 0, max: 1, noNaN: true }), fc.boolean(), (size, at, stall) => {
      counted.streams++;
      const core = new SmtpConnection({
        name: 'c.example',
        tls: 'none',
        writtenSignal: true,
        timeouts: { dataBlock: 1000, dataEnd: 100_000 },
      });
      const sink = { results: [] as TransactionResult[], closed: false, written: 0, deadline: undefined as number | undefined };
      let now = 0;
      core.start(now);
      core.receive(enc.encode('220 mx\r\n'), now);
      drainCore(core, now, sink);
      core.written(sink.written, now);
      core.receive(enc.encode('250-mx\r\n250-PIPELINING\r\n250 CHUNKING\r\n'), now);
      drainCore(core, now, sink);
      const before = sink.written;
      core.send({ from: 'a@x.org', to: ['b@x.org'] }, now, enc.encode('x\r\n'.repeat(size)));
      drainCore(core, now, sink);
      const end = sink.written; // MAIL, RCPT, BDAT n LAST and the body: one write
      assert.ok(end > before + 3 * size);
      const taken = before + Math.floor(at * (end - before));
      core.written(taken, now);
      core.receive(enc.encode('250 ok\r\n250 ok\r\n'), now);
      drainCore(core, now, sink);
      if (stall) {
        // Nothing more is taken: only the data-block timer can end it (before dataEnd's).
        if (taken < end) assert.is(sink.deadline, now + 1000);
        now = sink.deadline!;
        core.handleTimeout(now);
      } else core.receiveEof(now);
      drainCore(core, now, sink);
      assert.is(sink.results.length, 1);
      const r = sink.results[0]!;
      assert.is(r.outcome, taken >= end ? 'unknown' : 'rejected', `taken ${taken} of ${end}`);
      if (stall) assert.is((r.error as { phase?: string }).phase, taken >= end ? 'dataEnd' : 'dataBlock');
      assert.ok(sink.closed);
    }),
    params(400),
  );
});

/** RFC 5321 §4.3.2, written out independently of core/reply-fit.ts: the reply classes each
 *  command may get (4xx and 5xx always). */
const MAY_GET: Record<string, (code: number) => boolean> = {
  MAIL: (c) => c < 300 || c >= 400,
  RCPT: (c) => c < 300 || c >= 400,
  DATA: (c) => c === 354 || c >= 400,
  BDAT: (c) => c < 300 || c >= 400,
  END: (c) => c < 300 || c >= 400,
};

test(`a reply class the command cannot get fails the session (EPROTOCOL) and is never an acceptance (${runs(600)} runs)`, () => {
  const code = fc.constantFrom(250, 251, 221, 334, 354, 300, 451, 452, 550, 554, 503);
  const dec = new TextDecoder();
  fc.assert(
    fc.property(fc.boolean(), fc.boolean(), fc.array(code, { minLength: 6, maxLength: 6 }), (chunking, pipelining, codes) => {
      counted.streams++;
      const core = new SmtpConnection({ name: 'c.example', tls: 'none', chunkSize: 4 });
      const results: TransactionResult[] = [];
      let closed = false;
      const due: string[] = []; // the commands written and not yet answered, oldest first
      let wire = '';
      const drain = (): void => {
        for (;;) {
          const o = core.poll(0);
          if (o.type === 'wait') return;
          if (o.type === 'event' && o.event.type === 'transaction') results.push(o.event.result);
          if (o.type === 'event' && o.event.type === 'closed') closed = true;
          if (o.type !== 'write') continue;
          // Split the client's stream into commands (a BDAT's octets are skipped by count).
          wire += o.chunks.map((c) => dec.decode(c)).join('');
          for (;;) {
            const eol = wire.indexOf('\r\n');
            if (eol < 0) break;
            const line = wire.slice(0, eol);
            wire = wire.slice(eol + 2);
            const bdat = /^BDAT (\d+)( LAST)?$/.exec(line);
            if (bdat) wire = wire.slice(Number(bdat[1]));
            const kind =
              /^(MAIL|RCPT)/.exec(line)?.[1] ??
              (line === 'DATA' ? 'DATA' : bdat ? (bdat[2] ? 'END' : 'BDAT') : line === '.' ? 'END' : undefined);
            if (kind) due.push(kind);
          }
        }
      };
      core.start(0);
      core.receive(enc.encode('220 mx\r\n'), 0);
      drain();
      due.length = 0; // EHLO
      const caps = ['mx', ...(pipelining ? ['PIPELINING'] : []), ...(chunking ? ['CHUNKING'] : [])];
      core.receive(enc.encode(caps.map((c, i) => `250${i < caps.length - 1 ? '-' : ' '}${c}\r\n`).join('')), 0);
      const id = core.send({ from: 'a@x.org', to: ['b@x.org'] }, 0);
      core.writeBody(id, enc.encode('abcd'), 0);
      core.writeBody(id, enc.encode('ef\r\n'), 0);
      core.endBody(id, 0);
      drain();
      // Answer the oldest command due with the next code, while the transaction is unsettled.
      let misfit = false;
      let refused = false;
      let final: number | undefined;
      for (let i = 0; i < codes.length && due.length > 0 && results.length === 0 && !closed; i++) {
        const kind = due.shift()!;
        const c = codes[i]!;
        if (!MAY_GET[kind]!(c)) misfit = true;
        else if (c >= 400) refused = true;
        if (kind === 'END') final = c;
        core.receive(enc.encode(`${c} x\r\n`), 0);
        drain();
        if (misfit) break;
      }
      core.abort(0);
      drain();
      assert.is(results.length, 1);
      const r = results[0]!;
      const where = `${chunking ? 'BDAT' : 'DATA'}${pipelining ? ' pipelined' : ''} ${codes.join(',')}: ${r.outcome} ${r.error?.message}`;
      if (misfit) {
        assert.is.not(r.outcome, 'accepted', where);
        // A refusal that already decided it (every recipient refused) stays its reason.
        if (!refused) assert.is(r.error?.code, 'EPROTOCOL', where);
      } else if (final !== undefined && !refused) {
        assert.is(r.outcome, final < 300 ? 'accepted' : 'rejected', where);
      } else {
        assert.is.not(r.outcome, 'accepted', where);
      }
    }),
    params(600),
  );
});

test('every (phase, input) pair: no throw, a legal next phase, never a silent hang', () => {
  let pairs = 0;
  for (const [phase, prefix] of Object.entries(PREFIX) as [keyof typeof PREFIX, (typeof PREFIX)[keyof typeof PREFIX]][]) {
    for (const inp of INPUTS) {
      const core = new SmtpConnection(prefix.options);
      core.start(0);
      for (const s of prefix.server) core.receive(enc.encode(s + '\r\n'), 0);
      if (phase === 'quitting') core.quit(0);
      const drainAll = () => {
        for (;;) {
          const o = core.poll(0);
          if (o.type === 'wait') return o;
        }
      };
      drainAll();
      assert.is(core.state, phase, `prefix reaches ${phase}`);
      inp.apply(core, 1);
      const w = drainAll();
      const after = core.state;
      const t = inp.input === 'garbage' ? undefined : lookup(phase, inp.input);
      if (t) assert.ok(t.to.includes(after) || after === 'failed' || after === phase, `${phase} --${inp.input}--> ${after}`);
      const busy = after !== 'closed' && after !== 'failed' && after !== 'ready';
      if (busy) assert.ok(w.deadline !== undefined, `${phase} --${inp.input}--> ${after} waits without a deadline`);
      pairs++;
    }
  }
  assert.is(pairs, Object.keys(PREFIX).length * INPUTS.length);
  assert.ok(Object.keys(TABLE).length >= Object.keys(PREFIX).length);
});

test.after(() => {
  if (process.env.SMTPWIRE_FUZZ_REPORT) console.log(`fuzz: ${counted.streams} server streams generated`);
});

test.run();

// The transaction's tables (core/tx-states.ts): every (stage, event) pair of the stage table;
// every (stage, settlement input) pair of the outcome table through decideOutcome(), the one
// function that decides how a transaction ended, over every combination of the facts it reads;
// and random pipelined sessions in which the server answers every command with any reply
// class, cancels come at any time and the link may drop: no table violation (EINTERNAL) and
// every transaction settles exactly once, never accepted without a 2xx to its end.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from './fc.ts';
import { moveTx, OUTCOME_TABLE, SETTLE_INPUTS, TX_TABLE, type SettleInput, type TxEvent, type TxStage } from '../core/tx-states.ts';
import { decideOutcome, type Settlement, type SettlingTx } from '../core/tx-outcome.ts';
import { SmtpConnection } from '../core/full.ts';
import { SmtpConnectionError, SmtpInternalError, SmtpReplyError, type SmtpError } from '../core/errors.ts';
import type { RecipientResult, TransactionResult } from '../core/events.ts';
import type { Reply } from '../core/reply.ts';
import { script } from '../transports/mock.ts';
import { run } from './helpers.ts';

const STAGES = Object.keys(TX_TABLE) as TxStage[];
const EVENTS: TxEvent[] = ['mail-written', 'bdat-chosen', 'data-written', 'go-ahead', 'lone-dot', 'end-written'];

test("every (stage, event) pair: the table's stage, or SmtpInternalError and no move", () => {
  for (const stage of STAGES) {
    for (const event of EVENTS) {
      const tx = { id: 7, stage };
      const to = TX_TABLE[stage][event];
      if (to === undefined) {
        assert.throws(
          () => moveTx(tx, event),
          (e: unknown) => e instanceof SmtpInternalError && e.code === 'EINTERNAL',
          `${stage} + ${event}`,
        );
        assert.is(tx.stage, stage);
      } else {
        moveTx(tx, event);
        assert.is(tx.stage, to, `${stage} + ${event}`);
      }
    }
  }
});

test('every stage is reachable from queued and reaches ended; ended is final', () => {
  const reach = (from: TxStage): Set<TxStage> => {
    const seen = new Set<TxStage>([from]);
    for (const s of seen) for (const to of Object.values(TX_TABLE[s])) seen.add(to);
    return seen;
  };
  assert.equal([...reach('queued')].sort(), [...STAGES].sort());
  for (const s of STAGES) assert.ok(reach(s).has('ended'), s);
  assert.equal(TX_TABLE.ended, {});
});

const reply = (code: number, text = 'x'): Reply => ({ code, enhanced: undefined, lines: [text] });
const rcpt = (address: string, code: number): RecipientResult => ({ address, reply: reply(code) });

/** A settlement of each kind, with its own error, so the test can tell whose error a result carries. */
function settlement(by: SettleInput, endCode: number): Settlement {
  if (by === 'end-reply') return { by, reply: reply(endCode) };
  return { by, error: new SmtpConnectionError(`ended by ${by}`), reply: by === 'refused' ? reply(554) : undefined };
}

const facts = fc.record({
  accepted: fc.integer({ min: 0, max: 3 }),
  rejected: fc.integer({ min: 0, max: 2 }),
  failure: fc.boolean(),
  taken: fc.boolean(),
  lmtp: fc.boolean(),
  finals: fc.array(fc.constantFrom(250, 452, 550), { maxLength: 3 }),
  endCode: fc.constantFrom(250, 451, 554),
});

test("every (stage, settlement input) pair: the outcome table's verdict, or SmtpInternalError", () => {
  for (const stage of STAGES) {
    for (const by of SETTLE_INPUTS) {
      const tx: SettlingTx = { id: 3, stage, accepted: [rcpt('a@x.org', 250)], rejected: [], failure: undefined, lmtpFinal: undefined };
      const verdict = OUTCOME_TABLE[stage][by];
      const decide = (): TransactionResult => decideOutcome(tx, settlement(by, 250), true, false);
      if (verdict === undefined) {
        assert.throws(decide, (e: unknown) => e instanceof SmtpInternalError, `${stage} + ${by}`);
        continue;
      }
      const r = decide();
      const expected = verdict === 'by-reply' ? 'accepted' : verdict === 'unknown-if-taken' ? 'unknown' : verdict;
      assert.is(r.outcome, expected, `${stage} + ${by}`);
    }
  }
  // What the table promises, read off it: only an end reply can accept; only a written end can
  // be unknown; a reply to the end can only come once it is written.
  for (const stage of STAGES) {
    for (const by of SETTLE_INPUTS) {
      const v = OUTCOME_TABLE[stage][by];
      if (v === 'by-reply') assert.is(by, 'end-reply');
      if (v === 'unknown' || v === 'unknown-if-taken') assert.is(stage, 'ended', `${stage} + ${by}`);
      if (by === 'end-reply') assert.is(v === undefined, stage !== 'ended', `${stage} + end-reply`);
      if (by === 'refused' || by === 'cancel' || by === 'link-lost' || by === 'closing')
        assert.ok(v !== undefined, `${stage} + ${by} must settle`);
    }
  }
});

test('decideOutcome over every (stage, input) pair and the facts it reads: the rules of the outcome', () => {
  const pairs = STAGES.flatMap((stage) =>
    SETTLE_INPUTS.filter((by) => OUTCOME_TABLE[stage][by] !== undefined).map((by) => [stage, by] as const),
  );
  fc.assert(
    fc.property(fc.constantFrom(...pairs), facts, ([stage, by], f) => {
      const accepted = Array.from({ length: f.accepted }, (_, i) => rcpt(`ok${i}@x.org`, 250));
      const rejected = Array.from({ length: f.rejected }, (_, i) => rcpt(`no${i}@x.org`, 550));
      const failure = f.failure
        ? { reply: reply(503), error: new SmtpReplyError('refused first', reply(503), 'MAIL') as SmtpError }
        : undefined;
      // Per-recipient finals come only under LMTP, after the end, for a transaction not refused.
      const finals =
        f.lmtp && stage === 'ended' && !failure
          ? f.finals.slice(0, f.accepted).map((code, i) => ({ address: accepted[i]!.address, reply: reply(code) }))
          : [];
      const complete = by !== 'end-reply' || !f.lmtp || finals.length === f.accepted;
      if (!complete) return; // settleTx is called with end-reply only once every final came
      const tx: SettlingTx = { id: 9, stage, accepted, rejected, failure, lmtpFinal: finals.length > 0 ? finals : undefined };
      const how = settlement(by, f.endCode);
      const r = decideOutcome(tx, how, f.taken, f.lmtp);
      const label = `${stage} + ${by} ${JSON.stringify(f)}: ${r.outcome}`;

      // Every recipient is reported exactly once.
      const all = [...r.accepted, ...r.rejected].map((x) => x.address).concat(r.unknown);
      assert.equal(all.sort(), [...accepted, ...rejected].map((x) => x.address).sort(), label);
      assert.is(r.id, 9);
      // Accepted only on a 2xx to the end (or, under LMTP, a recipient's own 2xx final), and then
      // exactly the recipients with a 2xx; the others carry an error.
      const finalsOk = finals.filter((x) => x.reply.code < 300).map((x) => x.address);
      if (r.outcome === 'accepted') {
        assert.is(r.error, undefined);
        if (f.lmtp)
          assert.equal(
            r.accepted.map((x) => x.address),
            finalsOk,
            label,
          );
        else {
          assert.is(by, 'end-reply', label);
          assert.ok(f.endCode < 300 && !failure, label);
          assert.equal(r.accepted, accepted, label);
        }
      } else {
        assert.instance(r.error, Error, label);
        if (!f.lmtp) assert.is(r.accepted.length, 0, label);
      }
      // A recipient whose own LMTP final was a 2xx is never reported rejected or unknown.
      for (const a of finalsOk)
        assert.ok(
          r.accepted.some((x) => x.address === a),
          `${label}: ${a} delivered`,
        );
      // Unknown only once the end is written, never after the server refused it first (unless it
      // then showed it holds another transaction), and for link loss only if the end was taken.
      if (r.outcome === 'unknown') {
        assert.is(stage, 'ended', label);
        assert.ok(!failure || by === 'foreign-rcpt', label);
        assert.ok(by === 'cancel' || f.taken, label);
        assert.is(r.error, (how as { error: SmtpError }).error, label);
      }
      // A refusal given first is what a rejection reports.
      if (failure && by !== 'foreign-rcpt' && r.outcome === 'rejected') assert.is(r.error, failure.error, label);
      // Without a refusal first, a rejection reports what ended it.
      if (!failure && r.outcome === 'rejected' && by !== 'end-reply') assert.is(r.error, (how as { error: SmtpError }).error, label);
      if (!failure && r.outcome === 'rejected' && by === 'end-reply') {
        assert.instance(r.error, SmtpReplyError, label);
        assert.is((r.error as SmtpReplyError).command, 'end-of-data', label);
      }
    }),
    { numRuns: 3000 },
  );
});

test('LMTP: the server closes (421) between per-recipient replies: the recipient that got a 2xx stays accepted, never retried as rejected', () => {
  const s = run(
    { name: 'c.example', lmtp: true, tls: 'none' },
    script()
      .send('220 lmtp')
      .expect('LHLO c.example')
      .send('250-lmtp', '250 PIPELINING')
      .expect('MAIL FROM:<a@x.org>', 'RCPT TO:<b@x.org>', 'RCPT TO:<c@x.org>', 'RCPT TO:<d@x.org>', 'DATA')
      .send('250 ok', '250 ok', '250 ok', '250 ok', '354 go')
      .expect('.')
      .send('250 b delivered', '421 shutting down'),
    [{ envelope: { from: 'a@x.org', to: ['b@x.org', 'c@x.org', 'd@x.org'] }, body: 'hi\r\n' }],
  );
  const r = s.results[0]!;
  assert.is(r.outcome, 'accepted');
  assert.equal(
    r.accepted.map((x) => [x.address, x.reply.code]),
    [['b@x.org', 250]],
  );
  assert.equal(
    r.rejected.map((x) => [x.address, x.reply.code]),
    [
      ['c@x.org', 421],
      ['d@x.org', 250],
    ],
  );
  assert.equal(r.unknown, []);
  assert.is(s.closedEvent?.error?.code, 'ECONNECTION');
});

test('a cancel after the end of a transaction whose every recipient was refused: rejected by those refusals, not unknown', () => {
  const mails = [{ envelope: { from: 'a@x.org', to: ['b@x.org'] }, body: 'hi\r\n' }];
  let cancelled = false;
  const s = run(
    { name: 'c.example', tls: 'none', transcript: true },
    script()
      .send('220 mx')
      .expect('EHLO c.example')
      .send('250-mx', '250-PIPELINING', '250 CHUNKING')
      .expect('MAIL FROM:<a@x.org>', 'RCPT TO:<b@x.org>', 'BDAT 4 LAST')
      .send('250 ok', '550 5.1.1 no such user')
      .expect('QUIT')
      .send('503 5.5.1 no valid recipients', '221 bye'),
    mails,
    {
      onEvent: (e, core) => {
        if (e.type === 'transcript' && e.text.startsWith('550')) {
          core.cancel(1, 0);
          cancelled = true;
        }
      },
    },
  );
  assert.ok(cancelled, 'cancelled once the refusal was in');
  const r = s.results[0]!;
  assert.is(r.outcome, 'rejected');
  assert.is(r.error?.code, 'EREPLY');
  assert.is(r.reply?.code, 550);
});

const enc = new TextEncoder();
const dec = new TextDecoder();

/** A server that answers each command as it arrives (DATA bodies and BDAT chunks skipped),
 *  with the reply class `pick` chooses. Returns the 2xx it gave to ends. */
class Responder {
  private buf = '';
  private bdatLeft = 0;
  private inData = false;
  /** RCPTs this transaction got a 2xx for: under LMTP, the number of final replies. */
  private rcptOk = 0;
  endsAccepted = 0;
  constructor(
    private readonly pick: () => number,
    private readonly lmtp = false,
  ) {}
  feed(bytes: Uint8Array): string {
    this.buf += dec.decode(bytes);
    let out = '';
    for (;;) {
      if (this.bdatLeft > 0) {
        const take = Math.min(this.bdatLeft, this.buf.length);
        this.buf = this.buf.slice(take);
        this.bdatLeft -= take;
        if (this.bdatLeft > 0) return out;
        continue;
      }
      if (this.inData) {
        const end = this.buf.indexOf('\r\n.\r\n');
        const lone = this.buf.startsWith('.\r\n');
        if (end < 0 && !lone) return out;
        this.buf = this.buf.slice(lone ? 3 : end + 5);
        this.inData = false;
        out += this.end();
        continue;
      }
      const eol = this.buf.indexOf('\r\n');
      if (eol < 0) return out;
      const line = this.buf.slice(0, eol);
      this.buf = this.buf.slice(eol + 2);
      const bdat = /^BDAT (\d+)( LAST)?$/.exec(line);
      if (bdat) {
        this.bdatLeft = Number(bdat[1]);
        out += bdat[2] ? this.end() : `${this.pick()} x\r\n`;
      } else if (line === 'DATA') {
        const code = this.pick();
        if (code < 300) this.inData = true;
        out += code < 300 ? '354 go\r\n' : `${code} no\r\n`;
      } else if (line === 'QUIT') out += '221 bye\r\n';
      else {
        const code = this.pick();
        if (line.startsWith('MAIL')) this.rcptOk = 0;
        if (line.startsWith('RCPT') && code < 300) this.rcptOk++;
        out += `${code} x\r\n`;
      }
    }
  }
  /** The reply to an end of data: one, or under LMTP one per accepted recipient. */
  private end(): string {
    const codes = Array.from({ length: this.lmtp ? Math.max(1, this.rcptOk) : 1 }, () => this.pick());
    if (codes.some((c) => c < 300)) this.endsAccepted++;
    return codes.map((c) => `${c} x\r\n`).join('');
  }
}

test('random sessions, SMTP and LMTP: replies of any class, cancels, link loss: no EINTERNAL, each transaction settles once', () => {
  const session = fc.record({
    caps: fc.subarray(['PIPELINING', 'CHUNKING', '8BITMIME']),
    messages: fc.array(fc.record({ rcpts: fc.integer({ min: 1, max: 3 }), cancelAfter: fc.option(fc.integer({ min: 0, max: 12 })) }), {
      minLength: 1,
      maxLength: 4,
    }),
    codes: fc.array(fc.constantFrom(250, 250, 250, 250, 250, 250, 250, 451, 550, 421), { minLength: 40, maxLength: 40 }),
    dropAfter: fc.option(fc.integer({ min: 1, max: 30 })),
    lmtp: fc.boolean(),
  });
  fc.assert(
    fc.property(session, ({ caps, messages, codes, dropAfter, lmtp }) => {
      let n = 0;
      const server = new Responder(() => codes[n++ % codes.length]!, lmtp);
      const core = new SmtpConnection({ name: 'c.example', tls: 'none', lmtp });
      const results = new Map<number, TransactionResult[]>();
      let now = 0;
      let rounds = 0;
      const pump = (): string => {
        let answer = '';
        for (;;) {
          const o = core.poll(now);
          if (o.type === 'wait' || o.type === 'close') return answer;
          if (o.type === 'write') for (const c of o.chunks) answer += server.feed(c);
          if (o.type === 'event' && o.event.type === 'transaction') {
            const list = results.get(o.event.result.id) ?? [];
            list.push(o.event.result);
            results.set(o.event.result.id, list);
            assert.is.not(o.event.result.error?.code, 'EINTERNAL', o.event.result.error?.message);
          }
          if (o.type === 'event' && o.event.type === 'closed') assert.is.not(o.event.error?.code, 'EINTERNAL', o.event.error?.message);
        }
      };
      core.start(now);
      let pending = `220 mx\r\n${caps.map((c) => `250-${c}\r\n`).join('')}250 OK\r\n`;
      core.receive(enc.encode(pending.slice(0, 8)), now);
      pump();
      const ids = messages.map((m, i) =>
        core.send(
          { from: 'a@x.org', to: Array.from({ length: m.rcpts }, (_, j) => `r${i}.${j}@x.org`) },
          now,
          enc.encode(`m${i}\r\n.dot\r\n`),
        ),
      );
      core.quit(now);
      pending = pending.slice(8);
      while (pending !== '' && core.state !== 'closed' && core.state !== 'failed' && rounds++ < 500) {
        now += 1;
        if (dropAfter !== null && rounds >= dropAfter) {
          core.receiveEof(now);
          pump();
          break;
        }
        core.receive(enc.encode(pending), now);
        messages.forEach((m, i) => {
          if (m.cancelAfter === rounds) core.cancel(ids[i]!, now);
        });
        pending = pump();
      }
      if (core.state !== 'closed' && core.state !== 'failed') {
        core.receiveEof(now + 1);
        pump();
      }
      let accepted = 0;
      ids.forEach((id, i) => {
        const list = results.get(id) ?? [];
        assert.is(list.length, 1, `transaction ${id} settled ${list.length} times`);
        const r = list[0]!;
        if (r.outcome === 'accepted') accepted++;
        // Each recipient is reported at most once, and only recipients of this envelope.
        const reported = [...r.accepted, ...r.rejected].map((x) => x.address).concat(r.unknown);
        assert.is(new Set(reported).size, reported.length, `transaction ${id}: a recipient reported twice`);
        for (const a of reported) assert.ok(a.startsWith(`r${i}.`), `transaction ${id} reports ${a}`);
      });
      assert.ok(accepted <= server.endsAccepted, 'accepted only with a 2xx to its end');
    }),
    { numRuns: 400 },
  );
});

test.run();

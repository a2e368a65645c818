// The transaction stage table (core/tx-states.ts): every (stage, event) pair, and random
// pipelined sessions in which the server answers every command with any reply class, cancels
// come at any time and the link may drop: no table violation (EINTERNAL) and every
// transaction settles exactly once, never accepted without a 2xx to its end.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { moveTx, TX_TABLE, type TxEvent, type TxStage } from '../core/tx-states.ts';
import { SmtpConnection } from '../core/connection.ts';
import { SmtpInternalError } from '../core/errors.ts';
import type { TransactionResult } from '../core/events.ts';

const STAGES = Object.keys(TX_TABLE) as TxStage[];
const EVENTS: TxEvent[] = ['mail-written', 'bdat-chosen', 'data-written', 'go-ahead', 'lone-dot', 'end-written'];

test('every (stage, event) pair: the table\'s stage, or SmtpInternalError and no move', () => {
  for (const stage of STAGES) {
    for (const event of EVENTS) {
      const tx = { id: 7, stage };
      const to = TX_TABLE[stage][event];
      if (to === undefined) {
        assert.throws(() => moveTx(tx, event), (e: unknown) => e instanceof SmtpInternalError && e.code === 'EINTERNAL', `${stage} + ${event}`);
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

const enc = new TextEncoder();
const dec = new TextDecoder();

/** A server that answers each command as it arrives (DATA bodies and BDAT chunks skipped),
 *  with the reply class `pick` chooses. Returns the 2xx it gave to ends. */
class Responder {
  private buf = '';
  private bdatLeft = 0;
  private inData = false;
  endsAccepted = 0;
  constructor(private readonly pick: () => number) {}
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
        out += this.answer('end');
        continue;
      }
      const eol = this.buf.indexOf('\r\n');
      if (eol < 0) return out;
      const line = this.buf.slice(0, eol);
      this.buf = this.buf.slice(eol + 2);
      const bdat = /^BDAT (\d+)( LAST)?$/.exec(line);
      if (bdat) {
        this.bdatLeft = Number(bdat[1]);
        out += this.answer(bdat[2] ? 'end' : 'chunk');
      } else if (line === 'DATA') {
        const r = this.answer('data');
        if (r.startsWith('354')) this.inData = true;
        out += r;
      } else if (line === 'QUIT') out += '221 bye\r\n';
      else out += this.answer('cmd');
    }
  }
  private answer(kind: 'cmd' | 'data' | 'chunk' | 'end'): string {
    const code = this.pick();
    if (kind === 'data') return code < 300 ? '354 go\r\n' : `${code} no\r\n`;
    if (kind === 'end' && code < 300) this.endsAccepted++;
    return `${code} x\r\n`;
  }
}

test('random sessions: replies of any class, cancels, link loss: no EINTERNAL, each transaction settles once', () => {
  const session = fc.record({
    caps: fc.subarray(['PIPELINING', 'CHUNKING', '8BITMIME']),
    messages: fc.array(fc.record({ rcpts: fc.integer({ min: 1, max: 3 }), cancelAfter: fc.option(fc.integer({ min: 0, max: 12 })) }), { minLength: 1, maxLength: 4 }),
    codes: fc.array(fc.constantFrom(250, 250, 250, 250, 250, 250, 250, 451, 550, 421), { minLength: 40, maxLength: 40 }),
    dropAfter: fc.option(fc.integer({ min: 1, max: 30 })),
  });
  fc.assert(fc.property(session, ({ caps, messages, codes, dropAfter }) => {
    let n = 0;
    const server = new Responder(() => codes[n++ % codes.length]!);
    const core = new SmtpConnection({ name: 'c.example', tls: 'none' });
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
    const ids = messages.map((m, i) => core.send({ from: 'a@x.org', to: Array.from({ length: m.rcpts }, (_, j) => `r${i}.${j}@x.org`) }, now, enc.encode(`m${i}\r\n.dot\r\n`)));
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
    for (const id of ids) {
      const list = results.get(id) ?? [];
      assert.is(list.length, 1, `transaction ${id} settled ${list.length} times`);
      if (list[0]!.outcome === 'accepted') accepted++;
    }
    assert.ok(accepted <= server.endsAccepted, 'accepted only with a 2xx to its end');
  }), { numRuns: 400 });
});

test.run();

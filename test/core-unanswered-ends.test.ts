// maxUnansweredEnds: the most transactions whose end (BDAT LAST) is written and not yet
// answered, i.e. the most a dropped link can turn `unknown`. Driven by hand at the core level so
// the count of ends on the wire before any reply is exact.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SmtpConnection } from '../core/full.ts';
import { SmtpUsageError } from '../core/errors.ts';
import type { TransactionResult } from '../core/events.ts';

const enc = new TextEncoder();
const dec = new TextDecoder();

function session(maxUnansweredEnds: number | undefined, messages: number) {
  const core = new SmtpConnection({ maxUnansweredEnds });
  let now = 1000;
  let wire = '';
  const results: TransactionResult[] = [];
  const drain = () => {
    for (;;) {
      const out = core.poll(now);
      if (out.type === 'wait') return;
      if (out.type === 'write') wire += out.chunks.map((c) => dec.decode(c)).join('');
      if (out.type === 'event' && out.event.type === 'transaction') results.push(out.event.result);
    }
  };
  const reply = (text: string) => {
    now++;
    core.receive(enc.encode(text), now);
    drain();
  };
  core.start(now);
  reply('220 hi\r\n');
  reply('250-x\r\n250-PIPELINING\r\n250 CHUNKING\r\n');
  for (let i = 0; i < messages; i++)
    core.send({ from: 'a@example.com', to: ['b@example.com'] }, now, enc.encode(`Subject: ${i}\r\n\r\nbody ${i}\r\n`));
  drain();
  const ends = () => (wire.match(/BDAT \d+ LAST/g) ?? []).length;
  return {
    core,
    reply,
    ends,
    results,
    eof: () => {
      core.receiveEof(++now);
      drain();
    },
  };
}

test('without the knob every transaction in the window has its end out at once; a drop makes them all unknown', () => {
  const s = session(undefined, 6);
  assert.is(s.ends(), 6);
  s.eof();
  assert.equal(
    s.results.map((r) => r.outcome),
    Array(6).fill('unknown'),
  );
});

test('maxUnansweredEnds: 2 holds the third end until an end is answered; a drop makes at most 2 unknown', () => {
  const s = session(2, 6);
  assert.is(s.ends(), 2, 'two ends before any reply');
  s.reply('250 2.1.0 ok\r\n250 2.1.5 ok\r\n'); // MAIL and RCPT of the first: no end answered yet
  assert.is(s.ends(), 2);
  s.reply('250 2.0.0 queued\r\n'); // the first end answered: one more end may go
  assert.is(s.ends(), 3);
  assert.equal(
    s.results.map((r) => r.outcome),
    ['accepted'],
  );
  s.eof();
  const outcomes = s.results.map((r) => r.outcome);
  assert.equal(outcomes, ['accepted', 'unknown', 'unknown', 'rejected', 'rejected', 'rejected']);
  assert.ok(
    s.results.slice(3).every((r) => r.error?.transient === true),
    'never-ended sends are transient rejections (safe to resend)',
  );
});

test('maxUnansweredEnds must be a positive integer', () => {
  for (const bad of [0, -1, 1.5, Number.NaN]) {
    assert.throws(
      () => new SmtpConnection({ maxUnansweredEnds: bad }),
      (e: unknown) => e instanceof SmtpUsageError,
    );
  }
});

test.run();

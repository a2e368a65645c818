// core/output.ts, the output accounting: what poll() hands out, in order, and the offsets that
// decide "unknown" (an end counts as gone once the transport took the octets up to it).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { OutputQueue } from '../core/output.ts';
import { SmtpUsageError } from '../core/errors.ts';
import type { Output } from '../core/events.ts';

const dec = new TextDecoder();
const text = (o: Output | undefined): string => (o?.type === 'write' ? o.chunks.map((c) => dec.decode(c)).join('') : `<${o?.type}>`);

test('commands and small views collect into one write until something else is queued', () => {
  const q = new OutputQueue(false);
  q.line('MAIL FROM:<a@x.org>');
  q.line('RCPT TO:<b@x.org>');
  q.bytes(new Uint8Array([0x68, 0x69]));
  q.event({ type: 'closed', error: undefined });
  q.line('QUIT');
  assert.is(q.enqueued, 21 + 19 + 2 + 6);
  const first = q.next(0);
  assert.is(text(first), 'MAIL FROM:<a@x.org>\r\nRCPT TO:<b@x.org>\r\nhi');
  assert.is(first?.type === 'write' && first.chunks.length, 1, 'one view for the whole group');
  assert.is(q.next(0)?.type, 'event');
  assert.is(text(q.next(0)), 'QUIT\r\n');
  assert.is(q.next(0), undefined);
});

test('a large view passes through uncopied; empty views add nothing', () => {
  const q = new OutputQueue(false);
  const big = new Uint8Array(64 * 1024).fill(0x61);
  q.line('BDAT 65536 LAST');
  q.bytes(new Uint8Array(0));
  q.views([big]);
  const o = q.next(0);
  assert.ok(o?.type === 'write');
  assert.is(o.chunks.length, 2);
  assert.ok(o.chunks[1] === big, 'the same view, not a copy');
  assert.is(q.enqueued, 17 + big.length);
});

test('non-ASCII command text goes as UTF-8 and counts its octets', () => {
  const q = new OutputQueue(false);
  q.line('RCPT TO:<jörg@bücher.example>');
  const o = q.next(0);
  assert.is(text(o), 'RCPT TO:<jörg@bücher.example>\r\n');
  assert.is(q.enqueued, new TextEncoder().encode('RCPT TO:<jörg@bücher.example>\r\n').length);
});

test('without the written signal, polled octets count as taken', () => {
  const q = new OutputQueue(false);
  q.line('NOOP');
  assert.is(q.unpolled, 6);
  q.next(5);
  assert.is(q.polled, 6);
  assert.is(q.taken, 6);
  assert.is(q.stalled, false);
  assert.is(q.unpolled, 0);
});

test('with the written signal, only written() moves the taken offset; smaller offsets are ignored, larger than polled are usage errors', () => {
  const q = new OutputQueue(true);
  q.line('DATA');
  q.next(10);
  assert.is(q.taken, 0);
  assert.is(q.stalled, true);
  assert.is(q.takenAt, 10, 'outstanding from the poll');
  q.written(4, 20);
  assert.is(q.taken, 4);
  assert.is(q.takenAt, 20);
  q.written(2, 30);
  assert.is(q.taken, 4);
  assert.is(q.takenAt, 20);
  assert.throws(
    () => q.written(7, 40),
    (e: unknown) => e instanceof SmtpUsageError,
  );
  assert.throws(
    () => q.written(1.5, 40),
    (e: unknown) => e instanceof SmtpUsageError,
  );
  q.written(6, 50);
  assert.is(q.stalled, false);
});

test.run();

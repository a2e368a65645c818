// What the core tells a streaming driver (core/connection.ts): its BDAT chunk size, the octets
// ahead of a transaction's next body octets (bufferedBefore), and the output offset up to which
// the body views it was given reach (bodyViewsReleasedAt), so the client reuses its read
// buffers by offset instead of recomputing the core's bookkeeping. No I/O: runs in QuickJS too.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SmtpConnection } from '../core/full.ts';
import type { ConnectionOptions } from '../core/options.ts';
import { encodeUtf8 } from '../core/utf8.ts';

/** Polls until wait; returns the octets written. */
function drain(core: SmtpConnection): number {
  let octets = 0;
  for (;;) {
    const out = core.poll(0);
    if (out.type === 'wait') return octets;
    if (out.type === 'write') for (const c of out.chunks) octets += c.length;
  }
}

/** A ready session with PIPELINING and CHUNKING; `polled` counts every octet written. */
function session(options: ConnectionOptions = {}) {
  const core = new SmtpConnection({ writtenSignal: true, ...options });
  const s = { core, polled: 0 };
  core.start(0);
  core.receive(encodeUtf8('220 mx ESMTP\r\n'), 0);
  s.polled += drain(core);
  core.receive(encodeUtf8('250-mx\r\n250-PIPELINING\r\n250 CHUNKING\r\n'), 0);
  s.polled += drain(core);
  assert.is(core.state, 'ready');
  return s;
}

const envelope = { from: 'a@example.com', to: ['b@example.com'] };

test('chunkSize: the option, else the default', () => {
  assert.is(new SmtpConnection().chunkSize, 65536);
  assert.is(new SmtpConnection({ chunkSize: 100 }).chunkSize, 100);
});

test('bodyViewsReleasedAt: undefined while a view waits for a full BDAT chunk, then the offset just past it', () => {
  const s = session({ chunkSize: 100 });
  const id = s.core.send(envelope, 0);
  s.polled += drain(s.core);
  assert.is(s.core.bodyViewsReleasedAt, s.polled, 'no view given yet');
  s.core.writeBody(id, new Uint8Array(60).fill(0x61), 0);
  s.polled += drain(s.core);
  assert.is(s.core.bodyViewsReleasedAt, undefined, 'the 60 octets wait for a whole chunk');
  assert.is(s.core.bufferedBefore(id), 60);
  s.core.writeBody(id, new Uint8Array(50).fill(0x62), 0);
  const at = s.core.bodyViewsReleasedAt;
  s.polled += drain(s.core);
  assert.is(at, s.polled, "released once the output up to the chunk's end is taken");
  assert.is(s.core.bufferedBefore(id), 0);
});

test('bufferedBefore: a whole body queued after a streaming send does not count for it, and does not hold its views', () => {
  const s = session({ chunkSize: 100 });
  const first = s.core.send(envelope, 0);
  const second = s.core.send(envelope, 0, new Uint8Array(500).fill(0x63));
  s.core.writeBody(first, new Uint8Array(30).fill(0x61), 0);
  assert.is(s.core.bufferedAmount - s.core.bufferedBefore(first), 500, 'only the whole body behind is left out');
  assert.ok(s.core.bufferedBefore(second) >= 530, 'the later transaction counts both');
  s.polled += drain(s.core);
  assert.is(s.core.bodyViewsReleasedAt, undefined, "the stream's 30 octets are still held");
  s.core.endBody(first, 0);
  s.polled += drain(s.core);
  assert.is(s.core.bodyViewsReleasedAt, s.polled, 'the views are out; the whole body behind does not matter');
});

test('bodyViewsReleasedAt: views dropped by a cancel are released', () => {
  const s = session({ chunkSize: 100 });
  const id = s.core.send(envelope, 0);
  s.core.writeBody(id, new Uint8Array(10), 0);
  s.polled += drain(s.core);
  assert.is(s.core.bodyViewsReleasedAt, undefined);
  s.core.cancel(id, 0);
  assert.type(s.core.bodyViewsReleasedAt, 'number');
});

test.run();

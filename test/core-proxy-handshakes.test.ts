// core/proxy: the SOCKS5, SOCKS4a and HTTP CONNECT handshakes as pure state machines. Exact
// octets against RFC 1928 / 1929 and the SOCKS4a and HTTP layouts, every way of splitting a
// proxy's reply, the proxy's reasons as typed errors, bounds, the deadline, and URL parsing.
// Portable: runs in Node, Deno, Bun and workerd (test/runtimes/harness.mjs CORE_TESTS).
// The same code against real proxies: test/proxy/.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from './fc.ts';
import { SmtpProxyError, SmtpUsageError } from '../core/errors.ts';
import { ProxyTunnel, parseProxy, describeProxy, type ProxySpec, type TunnelOutput } from '../core/proxy/index.ts';
import { ipv6Octets } from '../core/proxy/steps.ts';

const enc = new TextEncoder();
const hex = (u: Uint8Array): string => Array.from(u, (b) => b.toString(16).padStart(2, '0')).join(' ');
const bytes = (...parts: (number[] | string)[]): Uint8Array => {
  const out: number[] = [];
  for (const p of parts) out.push(...(typeof p === 'string' ? Array.from(enc.encode(p)) : p));
  return Uint8Array.from(out);
};

/** Drive a tunnel with a scripted proxy: each reply answers one write, split into `pieces`. */
function converse(
  spec: ProxySpec,
  target: { host: string; port: number },
  replies: Uint8Array[],
  split: (reply: Uint8Array) => Uint8Array[] = (r) => [r],
) {
  const tunnel = new ProxyTunnel(spec, target, 1000);
  const written: Uint8Array[] = [];
  tunnel.start(0);
  let out = { type: 'wait', deadline: 1000 } as TunnelOutput;
  const drain = (): void => {
    for (out = tunnel.poll(); out.type === 'write'; out = tunnel.poll()) written.push(out.bytes);
  };
  drain();
  for (const reply of replies) {
    if (out.type !== 'wait') break;
    for (const piece of split(reply)) {
      tunnel.receive(piece, 1);
      drain();
    }
  }
  return { written, out };
}

const socks5: ProxySpec = { protocol: 'socks5', host: '127.0.0.1', port: 1080 };
const target = { host: 'mail.example.com', port: 587 };
const socks5Ok = bytes([5, 0, 0, 1, 10, 0, 0, 1, 0x1f, 0x90]);

test('SOCKS5 without auth: greeting, CONNECT with ATYP 3 (the proxy resolves the name)', () => {
  const { written, out } = converse(socks5, target, [bytes([5, 0]), socks5Ok]);
  assert.is(hex(written[0]!), '05 01 00');
  assert.is(hex(written[1]!), hex(bytes([5, 1, 0, 3, 16], 'mail.example.com', [0x02, 0x4b])));
  assert.equal(out, { type: 'done', rest: new Uint8Array(0) });
});

test('SOCKS5 with user/pass (RFC 1929): offers 00 and 02, sends the sub-negotiation only when 02 is chosen', () => {
  const spec = { ...socks5, user: 'üser', pass: 'pw' };
  const { written, out } = converse(spec, target, [bytes([5, 2]), bytes([1, 0]), socks5Ok]);
  assert.is(hex(written[0]!), '05 02 00 02');
  assert.is(hex(written[1]!), hex(bytes([1, 5], 'üser', [2], 'pw')));
  assert.is(written[2]![3], 3);
  assert.is(out.type, 'done');
  // A proxy that picks "no auth" never sees the credentials.
  const open = converse(spec, target, [bytes([5, 0]), socks5Ok]);
  assert.is(open.written.length, 2);
  assert.is(open.written[1]![0], 5);
});

test('SOCKS5 IP literals go as ATYP 1 and 4; the reply may carry any address type', () => {
  const v4 = converse(socks5, { host: '192.0.2.7', port: 25 }, [bytes([5, 0]), bytes([5, 0, 0, 3, 3], 'abc', [0, 25])]);
  assert.is(hex(v4.written[1]!), '05 01 00 01 c0 00 02 07 00 19');
  assert.is(v4.out.type, 'done');
  const v6 = converse(socks5, { host: '2001:db8::1', port: 25 }, [bytes([5, 0]), bytes([5, 0, 0, 4, ...new Array(16).fill(0), 0, 25])]);
  assert.is(hex(v6.written[1]!), `05 01 00 04 20 01 0d b8 ${'00 '.repeat(11)}01 00 19`);
  assert.is(v6.out.type, 'done');
});

test("SOCKS5 failures carry the proxy's reason", () => {
  const refused = converse(socks5, target, [bytes([5, 0]), bytes([5, 2, 0, 1, 0, 0, 0, 0, 0, 0])]);
  assert.is(refused.out.type, 'failed');
  const e = (refused.out as { error: SmtpProxyError }).error;
  assert.instance(e, SmtpProxyError);
  assert.is(e.code, 'EPROXY');
  assert.is(e.reason, 'refused');
  assert.match(e.message, 'connection not allowed by ruleset');
  assert.is(e.transient, false);
  const conn = converse(socks5, target, [bytes([5, 0]), bytes([5, 5, 0, 1, 0, 0, 0, 0, 0, 0])]);
  assert.match((conn.out as { error: Error }).error.message, 'connection refused');
  assert.is((conn.out as { error: SmtpProxyError }).error.transient, true);
  const badPass = converse({ ...socks5, user: 'u', pass: 'p' }, target, [bytes([5, 2]), bytes([1, 1])]);
  assert.is((badPass.out as { error: SmtpProxyError }).error.reason, 'auth');
  const wantsAuth = converse(socks5, target, [bytes([5, 0xff])]);
  assert.match((wantsAuth.out as { error: Error }).error.message, 'requires authentication');
  const http = converse(socks5, target, [enc.encode('HTTP/1.1 400 Bad Request\r\n\r\n')]);
  assert.match((http.out as { error: Error }).error.message, 'HTTP proxy');
});

test('SOCKS4a: a name after the user id with 0.0.0.1; an IPv4 literal as plain SOCKS4', () => {
  const spec: ProxySpec = { protocol: 'socks4a', host: 'p', port: 1080, user: 'bob' };
  const named = converse(spec, target, [bytes([0, 0x5a, 0, 0, 0, 0, 0, 0])]);
  assert.is(hex(named.written[0]!), hex(bytes([4, 1, 0x02, 0x4b, 0, 0, 0, 1], 'bob', [0], 'mail.example.com', [0])));
  assert.is(named.out.type, 'done');
  const ip = converse({ ...spec, user: undefined }, { host: '10.1.2.3', port: 25 }, [bytes([0, 0x5a, 0, 0, 0, 0, 0, 0])]);
  assert.is(hex(ip.written[0]!), '04 01 00 19 0a 01 02 03 00');
  const rejected = converse(spec, target, [bytes([0, 0x5b, 0, 0, 0, 0, 0, 0])]);
  assert.is((rejected.out as { error: SmtpProxyError }).error.reason, 'refused');
  assert.throws(
    () => new ProxyTunnel(spec, { host: '::1', port: 25 }, 1),
    (e: unknown) => e instanceof SmtpUsageError,
  );
});

test("HTTP CONNECT: request, Basic auth, 2xx opens, octets after the header block are the server's", () => {
  const spec: ProxySpec = { protocol: 'http', host: 'p', port: 3128, user: 'al', pass: 'pä:ss' };
  const { written, out } = converse(spec, target, [enc.encode('HTTP/1.1 200 Connection established\r\nX: y\r\n\r\n220 mail ESMTP\r\n')]);
  assert.is(
    new TextDecoder().decode(written[0]),
    'CONNECT mail.example.com:587 HTTP/1.1\r\nHost: mail.example.com:587\r\nProxy-Authorization: Basic YWw6cMOkOnNz\r\n\r\n',
  );
  assert.is(out.type, 'done');
  assert.is(new TextDecoder().decode((out as { rest: Uint8Array }).rest), '220 mail ESMTP\r\n');
  const v6 = converse({ protocol: 'http', host: 'p', port: 1 }, { host: '::1', port: 25 }, [enc.encode('HTTP/1.0 200 OK\n\n')]);
  assert.match(new TextDecoder().decode(v6.written[0]), /^CONNECT \[::1\]:25 HTTP\/1\.1\r\n/);
  assert.is(v6.out.type, 'done');
});

test('HTTP CONNECT refusals: 407 is auth, 403 permanent, 502 transient; status text is printable', () => {
  const spec: ProxySpec = { protocol: 'http', host: 'p', port: 3128 };
  const auth = converse(spec, target, [enc.encode('HTTP/1.1 407 Proxy Authentication Required\r\n\r\n')]);
  assert.is((auth.out as { error: SmtpProxyError }).error.reason, 'auth');
  const forbidden = converse(spec, target, [enc.encode('HTTP/1.1 403 Forbid\u001b[31mden\r\n\r\n')]);
  const fe = (forbidden.out as { error: SmtpProxyError }).error;
  assert.is(fe.transient, false);
  assert.not.match(fe.message, '\u001b');
  const gateway = converse(spec, target, [enc.encode('HTTP/1.1 502 Bad Gateway\r\n\r\n')]);
  assert.is((gateway.out as { error: SmtpProxyError }).error.transient, true);
});

test('every split of every proxy reply gives the same result (fast-check)', () => {
  const cases: [ProxySpec, Uint8Array[]][] = [
    [{ ...socks5, user: 'u', pass: 'p' }, [bytes([5, 2]), bytes([1, 0]), bytes([5, 0, 0, 3, 4], 'host', [0, 25], '220 hi\r\n')]],
    [{ protocol: 'socks4a', host: 'p', port: 1 }, [bytes([0, 0x5a, 1, 2, 3, 4, 5, 6], '220 x')]],
    [{ protocol: 'http', host: 'p', port: 1 }, [enc.encode('HTTP/1.1 200 OK\r\nVia: x\r\n\r\n220 x')]],
    // Bare LF, "\n\r\n" and header lines of every length, so the blank line straddles every cut
    // (the header search resumes where the last read stopped).
    [{ protocol: 'http', host: 'p', port: 1 }, [enc.encode('HTTP/1.1 200 OK\nA: b\nCc: d\n\n220 x')]],
    [{ protocol: 'http', host: 'p', port: 1 }, [enc.encode('HTTP/1.1 200 OK\r\nA: b\n\r\n220 x')]],
  ];
  for (const [spec, replies] of cases) {
    const whole = converse(spec, target, replies);
    assert.is(whole.out.type, 'done');
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 7 }), { minLength: 1, maxLength: 40 }), (cuts) => {
        let i = 0;
        const split = (r: Uint8Array): Uint8Array[] => {
          const pieces: Uint8Array[] = [];
          for (let at = 0; at < r.length;) {
            const n = cuts[i++ % cuts.length]!;
            pieces.push(r.subarray(at, at + n));
            at += n;
          }
          return pieces;
        };
        const cut = converse(spec, target, replies, split);
        assert.equal(cut.written.map(hex), whole.written.map(hex));
        assert.is(cut.out.type, 'done');
        assert.is(hex((cut.out as { rest: Uint8Array }).rest), hex((whole.out as { rest: Uint8Array }).rest));
      }),
      { numRuns: 300, seed: 15 },
    );
  }
});

test("bounded: a proxy cannot make us buffer more than one reply's limit", () => {
  const http = converse({ protocol: 'http', host: 'p', port: 1 }, target, [enc.encode(`HTTP/1.1 200 OK\r\nX: ${'a'.repeat(20_000)}`)]);
  assert.is(http.out.type, 'failed');
  assert.match((http.out as { error: Error }).error.message, 'longer than 16384');
  // SOCKS replies have a fixed most length (262 octets for SOCKS5): what follows a whole reply
  // is the mail server's, handed on, not buffered as the proxy's.
  const tunnel = new ProxyTunnel(socks5, target, 1000);
  tunnel.start(0);
  tunnel.poll();
  tunnel.receive(bytes([5, 0]), 1);
  tunnel.poll();
  tunnel.receive(bytes([5, 0, 0, 3, 255]), 1);
  tunnel.receive(new Uint8Array(300), 1);
  const out = tunnel.poll();
  assert.is(out.type, 'done');
  assert.is((out as { rest: Uint8Array }).rest.length, 300 + 5 - 262);
});

test('proxy handshake: the deadline fails it as a timeout (not a moment before); an EOF mid-reply fails it as closed, "incomplete reply"', () => {
  const t = new ProxyTunnel(socks5, target, 100);
  t.start(0);
  assert.is(t.poll().type, 'write');
  assert.equal(t.poll(), { type: 'wait', deadline: 100 });
  t.handleTimeout(99);
  assert.is(t.poll().type, 'wait');
  t.handleTimeout(100);
  const out = t.poll();
  assert.is(out.type, 'failed');
  assert.is((out as { error: SmtpProxyError }).error.reason, 'timeout');
  const eof = new ProxyTunnel(socks5, target, 100);
  eof.start(0);
  eof.poll();
  eof.receive(bytes([5]), 1);
  eof.receiveEof(2);
  const e = eof.poll();
  assert.is((e as { error: SmtpProxyError }).error.reason, 'closed');
  assert.match((e as { error: Error }).error.message, 'incomplete reply');
});

test('no CR, LF or NUL reaches a proxy; lengths are checked before connecting', () => {
  const usage = (f: () => unknown) => assert.throws(f, (e: unknown) => e instanceof SmtpUsageError);
  usage(() => new ProxyTunnel({ protocol: 'http', host: 'p', port: 1, user: 'a', pass: 'b\r\nX: y' }, target, 1));
  usage(() => new ProxyTunnel({ protocol: 'http', host: 'p', port: 1 }, { host: 'a\r\nb', port: 1 }, 1));
  usage(() => new ProxyTunnel({ protocol: 'http', host: 'p', port: 1, user: 'a:b', pass: 'c' }, target, 1));
  usage(() => new ProxyTunnel({ protocol: 'socks4a', host: 'p', port: 1, user: 'a\u0000' }, target, 1));
  usage(() => new ProxyTunnel({ ...socks5, user: 'x'.repeat(256), pass: 'p' }, target, 1));
  usage(() => new ProxyTunnel({ ...socks5, user: 'u', pass: '' }, target, 1));
  usage(() => new ProxyTunnel(socks5, { host: 'a'.repeat(256), port: 25 }, 1));
});

test('proxy URLs: socks5/socks5h/socks4a/http parsed with default ports and decoded credentials; others are usage errors that never echo the password', () => {
  assert.equal(parseProxy('socks5://us%40er:p%3Ass@proxy.example:1081'), {
    protocol: 'socks5',
    host: 'proxy.example',
    port: 1081,
    user: 'us@er',
    pass: 'p:ss',
  });
  assert.equal(parseProxy('socks5h://[::1]'), { protocol: 'socks5', host: '::1', port: 1080 });
  assert.equal(parseProxy('socks4a://bob@p'), { protocol: 'socks4a', host: 'p', port: 1080, user: 'bob' });
  assert.equal(parseProxy(new URL('http://p:3128')), { protocol: 'http', host: 'p', port: 3128 });
  for (const bad of ['ftp://p', 'https://p:443', 'not a url', 'socks4a://u:pw@p', 'http://p/path', 'http://p?x=1']) {
    assert.throws(
      () => parseProxy(bad),
      (e: unknown) => e instanceof SmtpUsageError,
      bad,
    );
  }
  try {
    parseProxy('https://user:topsecret@p');
  } catch (e) {
    assert.not.match(String((e as Error).message), 'topsecret');
  }
  // URLs that do not parse are echoed in the message: a password holding an unescaped "/" or
  // "@" (which is what breaks them) used to be shown whole ("u:top/secret") or in part ("cret").
  for (const bad of [
    'socks5://u:top/secret@h:1080',
    'http://u:top/secret@h:3128',
    'socks5://u:top@secret@h:99999',
    'socks5://u:topsecret@h:99999',
    '//u:topsecret@h',
  ]) {
    let e: SmtpUsageError | undefined;
    try {
      parseProxy(bad);
    } catch (err) {
      e = err as SmtpUsageError;
    }
    if (!e) return assert.unreachable(`${bad}: accepted`);
    assert.is(e.code, 'EUSAGE', bad);
    assert.not.match(e.message, /top|secret/, `${bad}: ${e.message}`);
    assert.match(e.message, /\*\*\*@h/, bad);
  }
  assert.is(describeProxy({ protocol: 'socks5', host: '::1', port: 1, user: 'u', pass: 'secret' }), 'socks5://u@[::1]:1');
});

test('IPv6 literals to 16 octets (brackets, ::, embedded IPv4); malformed ones and host names give undefined', () => {
  assert.is(hex(ipv6Octets('::1')!), `${'00 '.repeat(15)}01`);
  assert.is(hex(ipv6Octets('[::ffff:10.0.0.1]')!), `${'00 '.repeat(10)}ff ff 0a 00 00 01`);
  assert.is(ipv6Octets('1::2::3'), undefined);
  assert.is(ipv6Octets('mail.example'), undefined);
  assert.is(ipv6Octets('1:2:3:4:5:6:7:8:9'), undefined);
});

test.run();

// Hostile servers in AUTH (issue 12, items 2, 3 and 7): a server that drips challenges, one
// that never stops challenging, one that challenges again after the client's `*`, one that
// accepts after it, and SCRAM exchanges the client refuses. Raw node:net servers on 127.0.0.1
// (port 0) drive the REAL Node transport and client; the deadline cases also run on the core
// with the mock server's virtual clock, where the default five minutes cost nothing.
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import * as net from 'node:net';
import fc from './fc.ts';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { exitWhenDone } from './exit-when-done.ts';
import { rejection, within } from './helpers.ts';
import type { LogEntry } from '../client/client.ts';
import { SmtpConnection } from '../core/full.ts';
import { SmtpTimeoutError, type SmtpError } from '../core/errors.ts';
import type { Output, SmtpEvent } from '../core/events.ts';
import { pbkdf2Sha256 } from '../core/sasl/hash.ts';
import type { SaslMechanism } from '../core/sasl/mechanism.ts';
import { DEFAULT_TIMEOUTS } from '../core/timeouts.ts';
import { ScriptedServer, VirtualClock, drive, script } from '../transports/mock.ts';
import { connect, type ClientOptions } from '../transports/node.ts';

const USER = 'alice';
const PASS = 'pa55-w0rd-secret';
const TOKEN = 'ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg';
const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
/** Every form the secrets take on the wire (plain, and the base64 of each SASL shape). */
const SECRETS = [PASS, TOKEN, b64(PASS), b64(`\0${USER}\0${PASS}`), b64(`user=${USER}\x01auth=Bearer ${TOKEN}\x01\x01`)];
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

// ---------------------------------------------------------------- a raw server

/** One client connection, read line by line, with every byte it sent kept. */
class Peer {
  readonly raw: Buffer[] = [];
  readonly lines: string[] = [];
  gone = false;
  #buf = Buffer.alloc(0);
  #wake: (() => void) | undefined;
  constructor(readonly socket: net.Socket) {
    socket.on('data', (d: Buffer) => {
      this.raw.push(d);
      this.#buf = Buffer.concat([this.#buf, d]);
      this.#wake?.();
    });
    const end = () => {
      this.gone = true;
      this.#wake?.();
    };
    socket.on('end', end);
    socket.on('close', end);
    socket.on('error', end);
  }
  async line(): Promise<string | undefined> {
    for (;;) {
      const lf = this.#buf.indexOf(0x0a);
      if (lf >= 0) {
        const text = this.#buf.subarray(0, lf).toString('utf8').replace(/\r$/, '');
        this.#buf = this.#buf.subarray(lf + 1);
        this.lines.push(text);
        return text;
      }
      if (this.gone) return undefined;
      await new Promise<void>((r) => (this.#wake = r));
      this.#wake = undefined;
    }
  }
  send(text: string): Promise<void> {
    return new Promise((resolve) => {
      if (this.socket.destroyed || !this.socket.writable) return resolve();
      this.socket.write(text, () => resolve());
    });
  }
  /** Everything the client wrote, as text. */
  get text(): string {
    return Buffer.concat(this.raw).toString('latin1');
  }
  /** Lines the client sent after its AUTH command (the SASL responses). */
  get responses(): string[] {
    const at = this.lines.findIndex((l) => l.startsWith('AUTH '));
    return at < 0 ? [] : this.lines.slice(at + 1);
  }
}

const servers: net.Server[] = [];
const scriptErrors: unknown[] = [];
test.after(() => {
  for (const s of servers) s.close();
});

/** A server that greets, answers EHLO with `caps`, and hands the AUTH line to `onAuth`. */
async function serve(caps: string[], onAuth: (line: string, peer: Peer) => Promise<void>): Promise<{ port: number; peers: Peer[] }> {
  const peers: Peer[] = [];
  const server = net.createServer((socket) => {
    const peer = new Peer(socket);
    peers.push(peer);
    (async () => {
      await peer.send('220 mx.hostile.test ESMTP\r\n');
      for (;;) {
        const line = await peer.line();
        if (line === undefined) return;
        if (/^EHLO /i.test(line)) {
          const all = ['mx.hostile.test', ...caps];
          await peer.send(all.map((c, i) => `250${i < all.length - 1 ? '-' : ' '}${c}\r\n`).join(''));
        } else if (line.startsWith('AUTH ')) {
          await onAuth(line, peer);
        } else if (line === 'QUIT') {
          await peer.send('221 bye\r\n');
          socket.end();
          return;
        } else await peer.send('250 ok\r\n');
      }
    })().catch((err) => scriptErrors.push(err));
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { port: (server.address() as net.AddressInfo).port, peers };
}

function options(port: number, auth: ClientOptions['auth'], extra: Partial<ClientOptions> = {}): ClientOptions {
  return {
    host: '127.0.0.1',
    port,
    tls: 'none',
    allowInsecureAuth: true,
    auth,
    timeouts: { greeting: 3000, hello: 3000, auth: 3000, connect: 3000, close: 1000, quit: 1000 },
    ...extra,
  };
}

/** A custom mechanism that answers every challenge, forever (a mechanism's own bound aside). */
function echo(maxChallenges?: number): SaslMechanism {
  return {
    name: 'X-ECHO',
    strength: 1,
    needs: 'password',
    maxChallenges,
    create: () => ({ start: () => undefined, step: () => new TextEncoder().encode('again'), complete: () => true }),
  };
}

/** A challenge that decodes: something any mechanism might be sent. */
const CHALLENGE = b64('<1896.697170952@mx.hostile.test>');

// ================================================================ item 2: a deadline of its own

test('AUTH drip: a 334 every 250 ms to a mechanism that would answer forever ends at timeouts.authTotal, not re-armed per 334', async () => {
  const srv = await serve(['AUTH X-ECHO'], async (_line, peer) => {
    while (!peer.gone) {
      await peer.send(`334 ${CHALLENGE}\r\n`);
      if ((await peer.line()) === undefined) return;
      await sleep(250);
    }
  });
  const started = Date.now();
  const err = await rejection(
    within(
      6000,
      connect(
        options(
          srv.port,
          { user: USER, pass: PASS, mechanism: echo(1_000_000) },
          {
            timeouts: { greeting: 3000, hello: 3000, auth: 1000, authTotal: 2000, connect: 3000, close: 1000, quit: 1000 },
          },
        ),
      ),
      'connect',
    ),
  );
  const took = Date.now() - started;
  assert.instance(err, SmtpTimeoutError);
  assert.is(err.code, 'ETIMEOUT');
  assert.is((err as SmtpTimeoutError).phase, 'authTotal');
  assert.match(err.message, /AUTH did not finish within 2000 ms/);
  assert.ok(took >= 1900 && took < 4000, `ended at the AUTH deadline (${took} ms)`);
  const answered = srv.peers[0]!.responses.length;
  assert.ok(answered >= 4 && answered <= 10, `answered ${answered} drips in 2 s`);
});

test('AUTH drip on the virtual clock: with the default timeouts AUTH ends at 5 minutes (authTotal), whatever the drip', () => {
  assert.is(DEFAULT_TIMEOUTS.authTotal, 5 * 60_000);
  // 2,000 drips of 250 ms: 500 s of challenges, each well inside the 5-minute step timer.
  const s = script().send('220 mx ESMTP').expect('EHLO [127.0.0.1]').send('250-mx', '250 AUTH X-ECHO').expect('AUTH X-ECHO');
  for (let i = 0; i < 2000; i++) s.delay(250).send(`334 ${CHALLENGE}`).expect('YWdhaW4=');
  const clock = new VirtualClock(1_000);
  const core = new SmtpConnection({
    allowInsecureAuth: true,
    auth: { credentials: { user: USER, pass: PASS }, mechanism: echo(1_000_000) },
  });
  const server = new ScriptedServer(s);
  let closedAt = 0;
  const r = drive(core, server, { clock, onEvent: (e, _core, c) => void (e.type === 'closed' && (closedAt = c.now)) });
  const closed = r.events.find((e): e is Extract<SmtpEvent, { type: 'closed' }> => e.type === 'closed');
  assert.ok(closed?.error, 'the session ended with an error');
  assert.instance(closed.error, SmtpTimeoutError);
  assert.is((closed.error as SmtpTimeoutError).phase, 'authTotal');
  assert.is(closedAt, 1_000 + 5 * 60_000, 'at exactly AUTH + 5 minutes');
  const answers = server.lines.filter((l) => l === 'YWdhaW4=').length;
  // Drip k comes at AUTH + 250k ms; the 1,200th lands on the deadline itself, before the timer.
  assert.is(answers, (5 * 60_000) / 250, 'every drip up to the deadline was answered, none after');
});

// ================================================================ item 2: a bound on the rounds

/** Mechanism → its bound, the credentials it needs. */
const BOUNDED: { mechanism: string; max: number; auth: ClientOptions['auth'] }[] = [
  { mechanism: 'PLAIN', max: 1, auth: { user: USER, pass: PASS, mechanism: 'PLAIN' } },
  { mechanism: 'LOGIN', max: 2, auth: { user: USER, pass: PASS, mechanism: 'LOGIN' } },
  { mechanism: 'CRAM-MD5', max: 1, auth: { user: USER, pass: PASS, mechanism: 'CRAM-MD5' } },
  { mechanism: 'SCRAM-SHA-256', max: 2, auth: { user: USER, pass: PASS, mechanism: 'SCRAM-SHA-256' } },
  { mechanism: 'XOAUTH2', max: 1, auth: { user: USER, token: TOKEN, mechanism: 'XOAUTH2' } },
  { mechanism: 'OAUTHBEARER', max: 1, auth: { user: USER, token: TOKEN, mechanism: 'OAUTHBEARER' } },
  { mechanism: 'X-ECHO', max: 10, auth: { user: USER, pass: PASS, mechanism: echo() } }, // the default bound
  { mechanism: 'X-ECHO', max: 3, auth: { user: USER, pass: PASS, mechanism: echo(), maxChallenges: 3 } },
];

for (const c of BOUNDED) {
  test(`5,000 challenges to ${c.mechanism} (bound ${c.max}): at most ${c.max} answers, then "*", then EPROTOCOL`, async () => {
    const srv = await serve([`AUTH ${c.mechanism}`], async (_line, peer) => {
      for (let i = 0; i < 5000; i++) {
        await peer.send(`334 ${CHALLENGE}\r\n`);
        if ((await peer.line()) === undefined) return;
      }
      await peer.send('535 5.7.8 enough\r\n');
    });
    const err = await rejection(within(5000, connect(options(srv.port, c.auth)), 'connect'));
    const responses = srv.peers[0]!.responses;
    assert.ok(responses.length <= c.max + 1, `${responses.length} responses: ${responses.slice(0, 5).join(' | ')}`);
    assert.is(responses.at(-1), '*', 'the last response is the cancel');
    assert.is(err.code, 'EPROTOCOL');
    assert.match(err.message, /after the client cancelled with "\*" \(RFC 4954 requires 501\)/);
    if (responses.length === c.max + 1) assert.match(err.message, new RegExp(`more than ${c.max} challenge`));
  });
}

// ================================================================ item 3: nothing after `*`

for (const c of [
  { mechanism: 'PLAIN', auth: { user: USER, pass: PASS, mechanism: 'PLAIN' } },
  { mechanism: 'XOAUTH2', auth: { user: USER, token: TOKEN, mechanism: 'XOAUTH2' } },
  { mechanism: 'LOGIN', auth: { user: USER, pass: PASS, mechanism: 'LOGIN' } },
] as const) {
  test(`an empty 334 after "*" (${c.mechanism}): not one byte follows the cancel, the secret is never sent again`, async () => {
    const srv = await serve([`AUTH ${c.mechanism}`], async (line, peer) => {
      // Challenge until the client cancels, then ask again with an empty challenge.
      let last: string | undefined = line;
      for (let i = 0; i < 5 && last !== '*'; i++) {
        await peer.send(`334 ${CHALLENGE}\r\n`);
        last = await peer.line();
      }
      assert.is(last, '*', 'the client cancelled');
      await peer.send('334 \r\n');
      await peer.line(); // whatever comes (nothing, if the client is right)
      await peer.send('501 5.0.0 cancelled\r\n');
    });
    const err = await rejection(within(5000, connect(options(srv.port, c.auth)), 'connect'));
    assert.is(err.code, 'EPROTOCOL');
    const peer = srv.peers[0]!;
    await sleep(20);
    const wire = peer.text;
    const afterCancel = wire.slice(wire.indexOf('\r\n*\r\n') + 5);
    assert.ok(wire.includes('\r\n*\r\n'), 'the cancel was sent');
    assert.is(afterCancel, '', `bytes after the cancel: ${JSON.stringify(afterCancel)}`);
    for (const secret of SECRETS) assert.ok(wire.split(secret).length <= 2, `${JSON.stringify(secret)} sent at most once`);
  });
}

test('a 334 after "*" is a protocol error (RFC 4954 requires 501), and a 235 after "*" is not believed', async () => {
  // CRAM-MD5 refuses an empty challenge (no freshness), so the client cancels at once.
  for (const [after, code, pattern] of [
    ['334 Zm9v', 'EPROTOCOL', /another AUTH challenge after the client cancelled .*empty server challenge/],
    ['235 2.7.0 welcome anyway', 'EAUTH', /accepted AUTH after the client cancelled it because CRAM-MD5: empty server challenge/],
  ] as const) {
    const srv = await serve(['AUTH CRAM-MD5', 'PIPELINING'], async (_line, peer) => {
      await peer.send('334 \r\n');
      assert.is(await peer.line(), '*');
      await peer.send(`${after}\r\n`);
    });
    const err = await rejection(within(5000, connect(options(srv.port, { user: USER, pass: PASS, mechanism: 'CRAM-MD5' })), 'connect'));
    assert.is(err.code, code, err.message);
    assert.match(err.message, pattern);
    await sleep(20);
    assert.not.ok(
      srv.peers[0]!.lines.some((l) => l.startsWith('MAIL')),
      'no transaction after the cancel',
    );
  }
});

// ================================================================ item 7: the client's reason

/** A SCRAM-SHA-256 server from node:crypto (an implementation independent of ours). */
function scramServer(pass: string, iterations: number, tamper: { nonce?: boolean; signature?: boolean; count?: string } = {}) {
  const H = (d: Buffer) => createHash('sha256').update(d).digest();
  const mac = (k: Buffer, d: string) => createHmac('sha256', k).update(d).digest();
  const salt = randomBytes(16);
  const salted = pbkdf2Sync(pass, salt, iterations, 32, 'sha256');
  let bare = '',
    serverFirst = '';
  return {
    first(clientFirst: string): string {
      bare = clientFirst.slice(clientFirst.indexOf('n=', 2));
      const cnonce = /,r=([^,]+)$/.exec(bare)![1]!;
      const nonce = tamper.nonce ? 'someoneElsesNonce' + randomBytes(6).toString('base64') : cnonce + randomBytes(9).toString('base64');
      serverFirst = `r=${nonce},s=${salt.toString('base64')},i=${tamper.count ?? iterations}`;
      return serverFirst;
    },
    final(clientFinal: string): string | undefined {
      const withoutProof = clientFinal.slice(0, clientFinal.lastIndexOf(',p='));
      const proof = Buffer.from(clientFinal.slice(clientFinal.lastIndexOf(',p=') + 3), 'base64');
      const authMessage = `${bare},${serverFirst},${withoutProof}`;
      const storedKey = H(mac(salted, 'Client Key'));
      const clientKey = Buffer.from(proof.map((x, i) => x ^ mac(storedKey, authMessage)[i]!));
      if (!H(clientKey).equals(storedKey)) return undefined;
      const signature = mac(mac(salted, 'Server Key'), authMessage);
      if (tamper.signature) signature[0]! ^= 1;
      return `v=${signature.toString('base64')}`;
    },
  };
}

/** Serve SCRAM-SHA-256 with `server`; the reply to a cancel is a plain 501. */
function scramAuth(server: ReturnType<typeof scramServer>) {
  return async (line: string, peer: Peer) => {
    const clientFirst = Buffer.from(line.split(' ')[2] ?? '', 'base64').toString('utf8');
    await peer.send(`334 ${b64(server.first(clientFirst))}\r\n`);
    const answer = await peer.line();
    if (answer === undefined) return;
    if (answer === '*') return void (await peer.send('501 5.0.0 AUTH aborted\r\n'));
    const final = server.final(Buffer.from(answer, 'base64').toString('utf8'));
    if (!final) return void (await peer.send('535 5.7.8 bad proof\r\n'));
    await peer.send(`334 ${b64(final)}\r\n`);
    const last = await peer.line();
    await peer.send(last === '*' ? '501 5.0.0 AUTH aborted\r\n' : '235 2.7.0 ok\r\n');
  };
}

test('SCRAM refused by the client: its reason (iteration count, nonce, server signature) is in the error, not only the 501', async () => {
  for (const [tamper, reason] of [
    [{ count: '1000' }, /iteration count 1000 outside 4096\.\.1000000/],
    [{ nonce: true }, /server nonce does not extend the client nonce/],
    [{ signature: true }, /server signature does not match; the server may be an impostor/],
  ] as const) {
    const srv = await serve(['AUTH SCRAM-SHA-256'], scramAuth(scramServer(PASS, 4096, tamper)));
    const err = await rejection(
      within(5000, connect(options(srv.port, { user: USER, pass: PASS, mechanism: 'SCRAM-SHA-256' })), 'connect'),
    );
    assert.is(err.code, 'EAUTH');
    assert.match(err.message, reason);
    assert.match(err.message, /^AUTH SCRAM-SHA-256 cancelled by the client: .*\(server: 501 5\.0\.0 AUTH aborted\)$/);
    assert.is(err.reply?.code, 501, 'the server reply is still there');
  }
});

test('SCRAM against a node:crypto server through the client: the key is derived by WebCrypto, and AUTH succeeds', async () => {
  const srv = await serve(['AUTH SCRAM-SHA-256'], scramAuth(scramServer(PASS, 4096)));
  const log: LogEntry[] = [];
  const client = await within(5000, connect(options(srv.port, { user: USER, pass: PASS }, { logger: (e) => log.push(e) })), 'connect');
  assert.ok(
    srv.peers[0]!.lines.some((l) => l.startsWith('AUTH SCRAM-SHA-256 ')),
    'SCRAM chosen',
  );
  assert.ok(
    log.some((e) => e.from === 'info' && e.text === 'SCRAM key derived by WebCrypto (4096 iterations)'),
    log.map((e) => e.text).join('\n'),
  );
  await client.close();
});

// ================================================================ the core's computation contract

/** Drive a core by hand: returns every output until it waits. */
function drain(core: SmtpConnection, now: number): Output[] {
  const out: Output[] = [];
  for (;;) {
    const o = core.poll(now);
    if (o.type === 'wait') return [...out, o];
    out.push(o);
  }
}
const enc = new TextEncoder();
const dec = new TextDecoder();
const written = (outs: Output[]) => outs.flatMap((o) => (o.type === 'write' ? o.chunks.map((c) => dec.decode(c)) : [])).join('');

/** A core in AUTH SCRAM-SHA-256 with asyncCompute, fed the server-first of `server`. */
function scramCore(server: ReturnType<typeof scramServer>, timeouts = {}) {
  const core = new SmtpConnection({
    asyncCompute: true,
    allowInsecureAuth: true,
    timeouts,
    auth: { credentials: { user: USER, pass: PASS }, mechanism: 'SCRAM-SHA-256' },
  });
  core.start(0);
  core.receive(enc.encode('220 mx\r\n'), 0);
  drain(core, 0);
  core.receive(enc.encode('250-mx\r\n250 AUTH SCRAM-SHA-256\r\n'), 0);
  const auth = written(drain(core, 0));
  const clientFirst = Buffer.from(auth.trim().split(' ')[2]!, 'base64').toString('utf8');
  core.receive(enc.encode(`334 ${b64(server.first(clientFirst))}\r\n`), 10);
  const outs = drain(core, 10);
  const compute = outs.find((o): o is Extract<Output, { type: 'compute' }> => o.type === 'compute');
  return { core, outs, compute };
}

test('asyncCompute: SCRAM asks the driver for PBKDF2 (a compute output, nothing written meanwhile); its answer resumes the exchange', () => {
  const server = scramServer(PASS, 4096);
  const { core, outs, compute } = scramCore(server);
  assert.ok(compute, 'a compute output');
  assert.is(compute.request.algorithm, 'PBKDF2-SHA-256');
  assert.is(compute.request.iterations, 4096);
  assert.is(written(outs), '', 'nothing is written until the key is there');
  const wait = outs.at(-1) as Extract<Output, { type: 'wait' }>;
  assert.is(wait.deadline, DEFAULT_TIMEOUTS.authTotal, 'the AUTH deadline runs while computing (no step timer)');
  assert.is(wait.reason, 'key derivation (compute)');
  const { password, salt, iterations, length } = compute.request;
  core.computed(compute.id + 1000, new Uint8Array(32), 20); // a stranger's id: ignored
  assert.is(written(drain(core, 20)), '');
  core.computed(compute.id, new Uint8Array(pbkdf2Sync(Buffer.from(password), Buffer.from(salt), iterations, length, 'sha256')), 20);
  const final = server.final(Buffer.from(written(drain(core, 20)).trim(), 'base64').toString('utf8'));
  assert.ok(final, 'the node:crypto server accepts the proof');
  core.receive(enc.encode(`334 ${b64(final)}\r\n`), 30);
  assert.is(written(drain(core, 30)), '\r\n', 'an empty response to the server-final');
  core.receive(enc.encode('235 2.7.0 ok\r\n'), 40);
  const ready = drain(core, 40).find((o) => o.type === 'event' && o.event.type === 'ready');
  assert.ok(ready && ready.type === 'event' && ready.event.type === 'ready' && ready.event.authenticated);
});

test("asyncCompute through the mock's drive(): it answers the compute output on the virtual clock and the exchange completes", () => {
  const server = scramServer(PASS, 4096);
  let step = 0;
  const mock = new ScriptedServer(
    script()
      .send('220 mx ESMTP')
      .respond((line) => {
        if (line.startsWith('EHLO ')) return '250-mx\r\n250 AUTH SCRAM-SHA-256\r\n';
        if (line === 'QUIT') return '221 bye\r\n';
        step++;
        if (step === 1) return `334 ${b64(server.first(Buffer.from(line.split(' ')[2]!, 'base64').toString('utf8')))}\r\n`;
        if (step === 2) return `334 ${b64(server.final(Buffer.from(line, 'base64').toString('utf8')) ?? 'e=invalid-proof')}\r\n`;
        return line === '' ? '235 2.7.0 ok\r\n' : '501 5.0.0 cancelled\r\n';
      }),
  );
  const core = new SmtpConnection({
    asyncCompute: true,
    allowInsecureAuth: true,
    auth: { credentials: { user: USER, pass: PASS }, mechanism: 'SCRAM-SHA-256' },
  });
  core.start(0);
  core.quit(0);
  const r = drive(core, mock, { started: true });
  assert.ok(
    r.outputs.some((o) => o.type === 'compute'),
    'a compute output',
  );
  assert.ok(
    r.events.some((e) => e.type === 'ready' && e.authenticated),
    r.wire,
  );
  const closed = r.events.find((e): e is Extract<SmtpEvent, { type: 'closed' }> => e.type === 'closed');
  assert.is(closed?.error, undefined);
});

test('asyncCompute: the AUTH deadline fires while the driver computes; a late answer is ignored; a failed one cancels with its reason', () => {
  const { core, compute } = scramCore(scramServer(PASS, 4096), { authTotal: 5000 });
  core.handleTimeout(4999);
  assert.is(drain(core, 4999).filter((o) => o.type === 'event' && o.event.type === 'closed').length, 0, 'not before the deadline');
  core.handleTimeout(5000);
  const outs = drain(core, 5000);
  const closed = outs.find((o) => o.type === 'event' && o.event.type === 'closed');
  const error = closed && closed.type === 'event' && closed.event.type === 'closed' ? closed.event.error : undefined;
  assert.instance(error, SmtpTimeoutError);
  assert.is((error as SmtpTimeoutError).phase, 'authTotal');
  assert.match(error!.message, /waiting for the key derivation/);
  core.computed(compute!.id, pbkdf2Sha256(compute!.request.password, compute!.request.salt, 4096, 32), 6000);
  assert.is(written(drain(core, 6000)), '', 'nothing written after the session failed');

  const second = scramCore(scramServer(PASS, 4096));
  second.core.computeFailed(second.compute!.id, new Error('NotSupportedError: too many iterations'), 20);
  assert.is(written(drain(second.core, 20)), '*\r\n');
  second.core.receive(enc.encode('501 5.0.0 cancelled\r\n'), 30);
  const err = drain(second.core, 30).flatMap((o) =>
    o.type === 'event' && o.event.type === 'closed' ? [o.event.error] : [],
  )[0] as SmtpError;
  assert.is(err.code, 'EAUTH');
  assert.match(err.message, /cancelled by the client: the key derivation failed: NotSupportedError: too many iterations/);
});

// ================================================================ any server, any mechanism

const MECHANISMS: { name: string; max: number; credentials: { user: string; pass?: string; token?: string } }[] = [
  { name: 'PLAIN', max: 1, credentials: { user: USER, pass: PASS } },
  { name: 'LOGIN', max: 2, credentials: { user: USER, pass: PASS } },
  { name: 'CRAM-MD5', max: 1, credentials: { user: USER, pass: PASS } },
  { name: 'SCRAM-SHA-256', max: 2, credentials: { user: USER, pass: PASS } },
  { name: 'XOAUTH2', max: 1, credentials: { user: USER, token: TOKEN } },
  { name: 'OAUTHBEARER', max: 1, credentials: { user: USER, token: TOKEN } },
];

test('property: whatever a server answers in AUTH (334s of any content, then anything), each mechanism writes at most its bound + 1 lines, nothing after "*", and the session ends or is ready (300 runs each)', () => {
  const challenge = fc.oneof(
    fc.constant(''),
    fc.uint8Array({ maxLength: 60 }).map((u) => Buffer.from(u).toString('base64')),
    fc.constantFrom('r=x,s=QUJD,i=4096', 'not base64!', '=', 'dj1hYmM='),
  );
  const final = fc.constantFrom(
    '235 2.7.0 ok',
    '501 5.0.0 cancelled',
    '535 5.7.8 no',
    '454 4.7.0 later',
    '334 ',
    '421 4.3.2 bye',
    '250 what',
  );
  for (const m of MECHANISMS) {
    fc.assert(
      fc.property(fc.array(challenge, { maxLength: 40 }), final, (challenges, last) => {
        const core = new SmtpConnection({ allowInsecureAuth: true, auth: { credentials: m.credentials, mechanism: m.name } });
        core.start(0);
        core.receive(enc.encode(`220 mx\r\n`), 0);
        drain(core, 0);
        core.receive(enc.encode(`250-mx\r\n250 AUTH ${m.name}\r\n`), 0);
        let wire = written(drain(core, 0));
        assert.match(wire, new RegExp(`^AUTH ${m.name}`));
        const events: SmtpEvent[] = [];
        for (const text of [...challenges.map((c) => `334 ${c}`), last]) {
          if (core.state !== 'auth') break;
          core.receive(enc.encode(`${text}\r\n`), 1);
          for (const o of drain(core, 1)) {
            if (o.type === 'write') wire += o.chunks.map((c) => dec.decode(c)).join('');
            if (o.type === 'event') events.push(o.event);
          }
        }
        const lines = wire
          .split('\r\n')
          .slice(1, -1)
          .filter((l) => l !== 'QUIT');
        assert.ok(lines.length <= m.max + 1, `${m.name}: ${lines.length} responses to ${JSON.stringify(challenges)}`);
        const cancel = lines.indexOf('*');
        if (cancel >= 0) assert.is(cancel, lines.length - 1, 'nothing after the cancel');
        const ended = events.some((e) => e.type === 'closed' || e.type === 'ready');
        assert.ok(ended || core.state === 'auth', 'ended, or still waiting for the server');
        if (events.some((e) => e.type === 'ready' && e.authenticated)) assert.is(cancel, -1, 'never authenticated after a cancel');
      }),
      { numRuns: 300 },
    );
  }
});

test('auth.maxChallenges must be a positive integer', () => {
  for (const bad of [0, -1, 1.5, Number.NaN]) {
    assert.throws(
      () => new SmtpConnection({ auth: { credentials: { user: USER, pass: PASS }, maxChallenges: bad } }),
      (e: SmtpError) => e.code === 'EUSAGE',
    );
  }
});

test('no server script threw', async () => {
  await sleep(50);
  assert.equal(scriptErrors.map(String), []);
});

exitWhenDone(test);
test.run();

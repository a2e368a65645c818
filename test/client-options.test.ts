// One source of truth for options (issue 13, item 5): the client's options are the core's
// (client/options.ts derives ClientOptions from core/options.ts), one TLS vocabulary
// (client/tls-options.ts TLS_MODES), and a core option set on the client reaches the core: the
// sessions below run through the scripted mock server behind the client's Transport contract.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { connect, type ClientOptions } from '../client/client.ts';
import { coreOptions, PASSED_CORE_OPTIONS } from '../client/options.ts';
import { defaultPort, TLS_MODES, tlsMode } from '../client/tls-options.ts';
import type { SmtpError } from '../core/errors.ts';
import { encodeBase64 } from '../core/sasl/base64.ts';
import type { SaslMechanism } from '../core/sasl/mechanism.ts';
import { mockTransport, script, ScriptedServer } from '../transports/mock.ts';
import { within } from './helpers.ts';

const enc = new TextEncoder();

/** A server whose EHLO reply has `lines` lines, the last `width` characters long. */
function ehloServer(lines: number, width: number): ScriptedServer {
  const ehlo = ['250-mock.example'];
  for (let i = 1; i < lines - 1; i++) ehlo.push(`250-X-FILLER-${i}`);
  ehlo.push(`250 X-${'W'.repeat(Math.max(0, width - 6))}`);
  return new ScriptedServer(
    script()
      .send('220 mock.example ESMTP')
      .expect(/^EHLO /)
      .send(...ehlo)
      .expect('QUIT')
      .send('221 bye'),
  );
}

async function attempt(server: ScriptedServer, options: Partial<ClientOptions>): Promise<SmtpError | undefined> {
  try {
    const client = await within(
      5_000,
      connect({ host: 'mock.example', tls: 'none', transport: mockTransport(server), ...options }),
      'connect',
    );
    await client.close();
    return undefined;
  } catch (err) {
    return err as SmtpError;
  }
}

test("limits.maxLineLength set on the client bounds the core's reply parser (the same reply passes without it)", async () => {
  assert.is(await attempt(ehloServer(3, 200), {}), undefined, 'the default limit (4096) takes a 200-octet line');
  const err = await attempt(ehloServer(3, 200), { limits: { maxLineLength: 100 } });
  assert.ok(err, 'connect failed');
  assert.is(err.code, 'EPROTOCOL');
  assert.match(err.message, /reply line longer than 100 octets/);
});

test('limits.maxLines set on the client bounds a multi-line reply', async () => {
  assert.is(await attempt(ehloServer(12, 20), {}), undefined);
  const err = await attempt(ehloServer(12, 20), { limits: { maxLines: 10 } });
  assert.is(err?.code, 'EPROTOCOL');
  assert.match(err!.message, /reply has more than 10 lines/);
});

test("random set on the client is the core's nonce source (SCRAM-SHA-256's client-first carries it)", async () => {
  const nonce = Uint8Array.from({ length: 15 }, (_, i) => 0xa0 + i);
  const asked: number[] = [];
  const server = new ScriptedServer(
    script()
      .send('220 mock.example ESMTP')
      .expect(/^EHLO /)
      .send('250-mock.example', '250 AUTH SCRAM-SHA-256')
      .expect(/^AUTH SCRAM-SHA-256 /)
      .send('535 5.7.8 no'),
  );
  const err = await attempt(server, {
    auth: { user: 'alice', pass: 'pencil' },
    allowInsecureAuth: true,
    random: (n) => {
      asked.push(n);
      return nonce.slice(0, n);
    },
  });
  assert.is(err?.code, 'EAUTH');
  assert.equal(asked, [15]);
  const line = server.lines.find((l) => l.startsWith('AUTH '));
  assert.is(line, `AUTH SCRAM-SHA-256 ${encodeBase64(enc.encode(`n,,n=alice,r=${encodeBase64(nonce)}`))}`);
});

test("auth.mechanisms set on the client is the core's list to choose from", async () => {
  const server = new ScriptedServer(
    script()
      .send('220 mock.example ESMTP')
      .expect(/^EHLO /)
      .send('250-mock.example', '250 AUTH PLAIN X-MINE')
      .expect('AUTH X-MINE dXNlcg==')
      .send('235 2.7.0 ok')
      .expect('QUIT')
      .send('221 bye'),
  );
  const mine: SaslMechanism = {
    name: 'X-MINE',
    strength: 1000,
    needs: 'password',
    create: (c) => ({ start: () => enc.encode(c.user), step: () => new Uint8Array(0), complete: () => true }),
  };
  const err = await attempt(server, { auth: { user: 'user', pass: 'p', mechanisms: [mine] }, allowInsecureAuth: true });
  assert.is(err, undefined, err?.message);
  assert.ok(server.lines.includes('AUTH X-MINE dXNlcg=='), server.lines.join(' | '));
});

test('every core option the client does not manage passes through under its own name', () => {
  const given: Record<string, unknown> = {};
  for (const key of PASSED_CORE_OPTIONS) given[key] = { sentinel: key };
  const core = coreOptions({ host: 'h', ...given }, 'starttls', 25) as Record<string, unknown>;
  for (const key of PASSED_CORE_OPTIONS) assert.equal(core[key], { sentinel: key }, key);
  for (const key of ['limits', 'random', 'chunkSize', 'pipelineWindow', 'name', 'lmtp'])
    assert.ok(PASSED_CORE_OPTIONS.includes(key as never), key);
  // Managed ones are translated, not copied: the client's logger turns the transcript on.
  assert.is(core.transcript, false);
  assert.is(core.writtenSignal, true);
  assert.is(core.asyncCompute, true);
});

test("one TLS vocabulary: each mode is the core's tls + secure, the link's implicitTls and a default port", () => {
  const seen: string[] = [];
  for (const mode of Object.keys(TLS_MODES) as (keyof typeof TLS_MODES)[]) {
    const core = coreOptions({ host: 'h', tls: mode }, mode, 1);
    seen.push(`${mode}:${core.tls}:${core.secure}:${defaultPort(mode)}`);
  }
  assert.equal(seen, [
    'starttls:opportunistic:false:25',
    'required-starttls:required:false:587',
    'implicit:opportunistic:true:465',
    'none:none:false:25',
  ]);
  assert.is(tlsMode(undefined), 'starttls');
  assert.throws(() => tlsMode('tls'), /unknown tls mode: tls \(one of starttls, required-starttls, implicit, none\)/);
  assert.is(defaultPort(undefined), 25);
});

test("the client's auth options are the core's: mechanism, mechanisms and maxChallenges arrive with the credentials", () => {
  const mechanisms: never[] = [];
  const core = coreOptions(
    { host: 'h', auth: { user: 'u', pass: 'p', authzid: 'z', mechanism: 'PLAIN', mechanisms, maxChallenges: 3 } },
    'none',
    25,
  );
  assert.equal(core.auth, {
    mechanism: 'PLAIN',
    mechanisms,
    maxChallenges: 3,
    credentials: { user: 'u', pass: 'p', token: undefined, authzid: 'z' },
  });
});

test.run();

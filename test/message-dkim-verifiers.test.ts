// DKIM signatures checked by independent verifiers: dkimpy (Debian's python3-dkim) and mailauth
// (npm). Keys are made here with node:crypto and their DNS records derived with node:crypto too.
// Messages are generated (fast-check, seed-fixed): folded and long header fields, WSP runs, tabs,
// trailing white space, empty trailing lines, 8-bit octets, bare CR and LF. Each signed message
// is verified as the server receives it: through the core's body encoder (CRLF normalisation).
// Also: the fixed vectors every runtime reproduces (test/dkim-vectors.ts), several signatures on
// one message, and the CLI's --dkim-* flags end to end through a real SMTP server.
// Needs python3-dkim and python3-nacl; without them the dkimpy tests FAIL, saying how to install.
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from './fc.ts';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { BodyEncoder } from '../core/body.ts';
import { createDkimSigner, type DkimCanonicalization } from '../message/dkim.ts';
import { buildMessage } from '../message/build.ts';
import { connect } from '../transports/node.ts';
import { messageSpec, optionsOf } from './message-arb.ts';
import { collect } from './message-checks.ts';
import { dkimpyMissing, txtRecord, verifyWithDkimpy, verifyWithMailauth, type Verdict } from './dkim-verifiers.ts';
import { DOMAIN, ED25519_SEED, EXPECTED, MESSAGES, RECORDS, RSA_1024_PKCS1 } from './dkim-vectors.ts';
import { runNode } from './node-process.ts';
import { CLI, testServer } from './cli-harness.ts';
import { signOutgoing } from '../bin/dkim-options.ts';

const SEED = Number(process.env.SMTPWIRE_FUZZ_SEED ?? '20241203');
const RUNS = Math.max(1, Math.round(30 * Number(process.env.SMTPWIRE_FUZZ_SCALE ?? '1'))); // messages per algorithm x canonicalization
const CANONS: DkimCanonicalization[] = ['relaxed/relaxed', 'simple/simple', 'relaxed/simple', 'simple/relaxed'];
const enc = new TextEncoder();
const missing = dkimpyMissing();

// Keys made now; records from node:crypto.
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ed = generateKeyPairSync('ed25519');
const KEYS = {
  'rsa-sha256': {
    selector: 'rsa2048',
    pem: rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    record: txtRecord(rsa.publicKey),
  },
  'ed25519-sha256': {
    selector: 'ed',
    pem: ed.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    record: txtRecord(ed.publicKey),
  },
};
const D = 'signer.example';
const records: Record<string, string> = {
  [`rsa2048._domainkey.${D}`]: KEYS['rsa-sha256'].record,
  [`ed._domainkey.${D}`]: KEYS['ed25519-sha256'].record,
  ...RECORDS,
};

/** The message as delivered: the client's CRLF normalisation (core/body.ts), ending with a line
 *  break (DATA ends it so; MTAs store a BDAT message so, as test/interop shows for Postfix). */
function wire(bytes: Uint8Array): Uint8Array {
  const e = new BodyEncoder({ dotStuff: false, normalizeLineEndings: true, maxLineLength: 0 });
  const out = Buffer.concat([...e.encode(bytes), ...e.end()]);
  return out.length >= 2 && out[out.length - 2] === 0x0d && out[out.length - 1] === 0x0a ? out : Buffer.concat([out, Buffer.from('\r\n')]);
}

function concat(parts: Uint8Array[]): Uint8Array {
  return Buffer.concat(parts);
}

// ---------------------------------------------------------------- generated messages

const WSP = fc.constantFrom(' ', '\t', '  ', ' \t ', '\t\t', '   ');
const EOL = fc.oneof({ weight: 8, arbitrary: fc.constant('\r\n') }, { weight: 1, arbitrary: fc.constantFrom('\n', '\r') });
const WORD = fc.oneof(
  { weight: 6, arbitrary: fc.stringMatching(/^[A-Za-z0-9<>@.,;"()=?!#-]{1,24}$/) },
  { weight: 1, arbitrary: fc.constantFrom('Grüße', 'café', '日本語', 'naïve', '🎉', '=?utf-8?q?caf=C3=A9?=') },
);
// Folding (a line break then WSP) between words, now and then.
const SEP = fc.oneof({ weight: 6, arbitrary: WSP }, { weight: 1, arbitrary: fc.tuple(EOL, WSP).map(([e, w]) => e + w) });
const VALUE = fc
  .tuple(fc.option(WSP), fc.array(fc.tuple(WORD, SEP), { maxLength: 30 }), WORD, fc.option(WSP))
  .map(([lead, pairs, last, trail]) => (lead ?? ' ') + pairs.map(([w, s]) => w + s).join('') + last + (trail ?? ''));
const NAME = fc.constantFrom(
  'To',
  'Cc',
  'Subject',
  'Date',
  'Message-ID',
  'Reply-To',
  'List-Unsubscribe',
  'List-Unsubscribe-Post',
  'Content-Type',
  'MIME-Version',
  'X-Custom',
  'Received',
  'subject',
  'TO',
  'In-Reply-To',
  'References',
  'cc',
);
const FIELD = fc.tuple(NAME, VALUE, EOL).map(([n, v, e]) => `${n}:${v}${e}`);

const BODY_PIECE = fc.oneof(
  { weight: 5, arbitrary: WORD.map((w) => enc.encode(w)) },
  { weight: 4, arbitrary: WSP.map((w) => enc.encode(w)) },
  { weight: 3, arbitrary: EOL.map((e) => enc.encode(e)) },
  { weight: 1, arbitrary: fc.uint8Array({ minLength: 1, maxLength: 8 }).map((b) => b.map((x) => x | 0x80)) }, // 8-bit, not UTF-8
  { weight: 1, arbitrary: fc.constantFrom('\r\n.\r\n', '\r\n..\r\n', '\0', '\r\r\n', '\n\r').map((s) => enc.encode(s)) },
);
const TRAILING = fc.array(fc.constantFrom('\r\n', ' \r\n', '\t\r\n', '\n', '\r', ' '), { maxLength: 6 }).map((a) => a.join(''));

const MESSAGE = fc
  .record({
    fields: fc.array(FIELD, { maxLength: 10 }),
    from: fc.tuple(VALUE, EOL).map(([v, e]) => `From:${v}${e}`),
    at: fc.nat(),
    blank: EOL,
    body: fc.array(BODY_PIECE, { maxLength: 60 }),
    trailing: TRAILING,
  })
  .map(({ fields, from, at, blank, body, trailing }) => {
    const all = [...fields];
    all.splice(at % (all.length + 1), 0, from);
    const head = all.join('');
    // A CR then an LF is one line break: keep the blank line a line of its own.
    return concat([enc.encode(head + (head.endsWith('\r') && blank === '\n' ? '\r\n' : blank)), ...body, enc.encode(trailing)]);
  });

function generated(n: number, seed: number): Uint8Array[] {
  return fc.sample(MESSAGE, { numRuns: n, seed });
}

// ---------------------------------------------------------------- the verifiers, counted

interface Tally {
  dkimpy: number;
  mailauth: number;
  total: number;
}
const tally = new Map<string, Tally>();
const failures: string[] = [];

/** Verifies delivered messages (each with `expect` signatures) with both verifiers. */
async function verifyAll(label: string, delivered: Uint8Array[], expect: number, labels: string[] = []): Promise<void> {
  const py = verifyWithDkimpy(delivered, records);
  for (let i = 0; i < delivered.length; i++) {
    const m = delivered[i]!;
    const ma = await verifyWithMailauth(m, records);
    for (const [who, v] of [
      ['dkimpy', py[i]!],
      ['mailauth', ma],
    ] as [keyof Tally, Verdict][]) {
      for (let s = 0; s < expect; s++) {
        const key = labels[s] ?? label;
        const t = tally.get(key) ?? { dkimpy: 0, mailauth: 0, total: 0 };
        tally.set(key, t);
        if (who === 'dkimpy') t.total++;
        if (v.results.length === expect && v.results[s]) t[who]++;
        else
          failures.push(
            `${who} ${key} message ${i}: ${v.results.length}/${expect} signatures seen; ${v.errors.join('; ')}\n${JSON.stringify(Buffer.from(m).toString('latin1').slice(0, 1500))}`,
          );
      }
    }
  }
}

function assertNoFailures(): void {
  const found = failures.splice(0);
  assert.ok(found.length === 0, `${found.length} verification failures:\n${found.slice(0, 5).join('\n\n')}`);
}

// ---------------------------------------------------------------- tests

test('dkimpy (python3-dkim, python3-nacl) is installed', () => {
  assert.ok(missing === undefined, missing);
});

test('the fixed vectors every runtime reproduces verify with dkimpy and mailauth; their records match node:crypto', async () => {
  assert.ok(missing === undefined, missing);
  assert.is(RECORDS[`rsa._domainkey.${DOMAIN}`], txtRecord(RSA_1024_PKCS1));
  // The seed's public key, from node:crypto: PKCS#8 = fixed 16-octet prefix + seed.
  const { createPrivateKey, createPublicKey } = await import('node:crypto');
  const seedDer = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), Buffer.from(ED25519_SEED, 'base64')]);
  assert.is(
    RECORDS[`ed._domainkey.${DOMAIN}`],
    txtRecord(createPublicKey(createPrivateKey({ key: seedDer, format: 'der', type: 'pkcs8' }))),
  );
  const delivered: Uint8Array[] = [];
  const labels: string[] = [];
  for (const [key, fields] of Object.entries(EXPECTED)) {
    const [name] = key.split(' ');
    delivered.push(wire(concat([enc.encode(fields), enc.encode(MESSAGES[name!])])));
    labels.push(`vector ${key}`);
  }
  for (let i = 0; i < delivered.length; i++) await verifyAll(labels[i]!, [delivered[i]!], 1);
  assertNoFailures();
});

for (const algorithm of ['rsa-sha256', 'ed25519-sha256'] as const) {
  for (const canonicalization of CANONS) {
    test(`generated messages (${RUNS}, seed ${SEED}): ${algorithm} ${canonicalization} verifies with dkimpy and mailauth`, async () => {
      assert.ok(missing === undefined, missing);
      const k = KEYS[algorithm];
      const signer = await createDkimSigner({ domain: D, selector: k.selector, privateKey: k.pem, canonicalization });
      const delivered: Uint8Array[] = [];
      for (const m of generated(RUNS, SEED + CANONS.indexOf(canonicalization) + (algorithm === 'rsa-sha256' ? 0 : 100))) {
        delivered.push(wire(await signer.sign(m)));
      }
      await verifyAll(`${algorithm} ${canonicalization}`, delivered, 1);
      assertNoFailures();
    });
  }
}

test('built messages (buildMessage, any server), every algorithm x relaxed/relaxed and simple/simple, verify', async () => {
  assert.ok(missing === undefined, missing);
  // Folded address lists and subjects, custom fields, 8bit and quoted-printable parts,
  // attachments streamed or in memory: signed as rendered, verified as delivered.
  const specs = fc.sample(messageSpec, { numRuns: Math.max(1, Math.round(RUNS / 2)), seed: SEED + 2000 });
  let eightBit = 0;
  for (const algorithm of ['rsa-sha256', 'ed25519-sha256'] as const) {
    for (const canonicalization of ['relaxed/relaxed', 'simple/simple'] as const) {
      const k = KEYS[algorithm];
      const signer = await createDkimSigner({ domain: D, selector: k.selector, privateKey: k.pem, canonicalization });
      const delivered: Uint8Array[] = [];
      for (const s of specs) {
        const raw = await collect(buildMessage(optionsOf(s)).render({ smtpUtf8: s.smtpUtf8, eightBitMime: s.eightBitMime }));
        if (raw.some((b) => b >= 0x80)) eightBit++;
        delivered.push(wire(await signer.sign(raw)));
      }
      await verifyAll(`built: ${algorithm} ${canonicalization}`, delivered, 1);
    }
  }
  assertNoFailures();
  assert.ok(eightBit > 0, 'no built message had 8-bit octets');
});

test('several signatures on one message (both algorithms x four canonicalizations) each verify', async () => {
  assert.ok(missing === undefined, missing);
  const combos = (['rsa-sha256', 'ed25519-sha256'] as const).flatMap((a) => CANONS.map((c) => [a, c] as const));
  const signer = await createDkimSigner(
    combos.map(([a, c]) => ({ domain: D, selector: KEYS[a].selector, privateKey: KEYS[a].pem, canonicalization: c })),
  );
  const delivered: Uint8Array[] = [];
  for (const m of generated(Math.ceil(RUNS / 2), SEED + 1000)) delivered.push(wire(await signer.sign(m)));
  await verifyAll(
    'several',
    delivered,
    combos.length,
    combos.map(([a, c]) => `8 on one message: ${a} ${c}`),
  );
  assertNoFailures();
});

test('a last line with trailing WSP and no line break: RFC 6376 and mailauth agree with us as sent; every verifier as delivered', async () => {
  assert.ok(missing === undefined, missing);
  // dkimpy keeps WSP at the end of an unterminated last line in relaxed mode (only WSP before
  // CRLF goes), so it disagrees on the raw bytes; a delivered message ends with CRLF, and then
  // it agrees. The body hash we sign is the one of the delivered form.
  const signer = await createDkimSigner({ domain: D, selector: 'ed', privateKey: KEYS['ed25519-sha256'].pem });
  const raw = await signer.sign('From: a@signer.example\r\n\r\nlast line  \t');
  assert.equal((await verifyWithMailauth(raw, records)).results, [true]);
  await verifyAll('unterminated last line, as delivered', [wire(raw)], 1);
  assertNoFailures();
});

test('a streamed source (function) signs and sends through the client; the delivered message verifies', async () => {
  assert.ok(missing === undefined, missing);
  const server = await smtpServer();
  try {
    const signer = await createDkimSigner([
      { domain: D, selector: 'ed', privateKey: KEYS['ed25519-sha256'].pem },
      { domain: D, selector: 'rsa2048', privateKey: KEYS['rsa-sha256'].pem, canonicalization: 'simple/simple' },
    ]);
    const messages = generated(5, SEED + 2000);
    const client = await connect({ host: '127.0.0.1', port: server.port, tls: 'none' });
    try {
      for (const m of messages) {
        // Unix line endings and a body read in small chunks, twice.
        const body = await signer.sign(() =>
          (function* () {
            for (let i = 0; i < m.length; i += 7) yield m.subarray(i, i + 7);
          })(),
        );
        const r = await client.send({ from: 'a@signer.example', to: 'b@example.net', body, size: body.size });
        assert.is(r.outcome, 'accepted', r.error?.message);
      }
    } finally {
      await client.close();
    }
    assert.is(server.messages.length, messages.length);
    await verifyAll('client', server.messages, 2, [
      'client stream: ed25519-sha256 relaxed/relaxed',
      'client stream: rsa-sha256 simple/simple',
    ]);
    assertNoFailures();
  } finally {
    await server.close();
  }
});

// ---------------------------------------------------------------- the CLI

interface Server {
  port: number;
  readonly messages: Buffer[];
  close(): Promise<void>;
}

async function smtpServer(): Promise<Server> {
  const s = await testServer({ closeTimeout: 500, size: 64 << 20 });
  return {
    port: s.port,
    get messages() {
      return s.received.map((r) => r.data);
    },
    close: () => s.close(),
  };
}

test('CLI: --dkim-* signs a raw message from a file, from a pipe (small, and spooled past 8 MiB) and a composed one', async () => {
  assert.ok(missing === undefined, missing);
  const dir = mkdtempSync(join(tmpdir(), 'smtpwire-dkim-test-'));
  const server = await smtpServer();
  try {
    const rsaKey = join(dir, 'rsa.pem');
    const edKey = join(dir, 'ed.pem');
    // The RSA key as PKCS#1 ("RSA PRIVATE KEY"), as many DKIM setups keep it.
    writeFileSync(rsaKey, rsa.privateKey.export({ type: 'pkcs1', format: 'pem' }));
    writeFileSync(edKey, KEYS['ed25519-sha256'].pem);
    const raw = 'From: Joe <joe@signer.example>\nTo: b@example.net\nSubject:  unix   line endings \n\nbody line  \n\n\n';
    const file = join(dir, 'message.eml');
    writeFileSync(file, raw);
    const big = 'From: big@signer.example\r\nSubject: 9 MiB\r\n\r\n' + '0123456789 abcdefghij  \t\r\n'.repeat((9 * 1024 * 1024) / 24);
    const base = [
      'send',
      '--server',
      `smtp+plain://127.0.0.1:${server.port}`,
      '--from',
      'joe@signer.example',
      '--to',
      'b@example.net',
      '--dkim-domain',
      D,
    ];
    const runs = [
      {
        what: 'file, rsa',
        args: [...base, '--dkim-key', rsaKey, '--dkim-selector', 'rsa2048'],
        stdinFile: file,
        label: 'CLI raw file: rsa-sha256 relaxed/relaxed',
      },
      {
        what: 'pipe, ed25519',
        args: [...base, '--dkim-key', edKey, '--dkim-selector', 'ed', '--dkim-algo', 'ed25519-sha256'],
        stdin: raw,
        label: 'CLI raw pipe: ed25519-sha256 relaxed/relaxed',
      },
      {
        what: 'pipe spooled to a file, ed25519',
        args: [...base, '--dkim-key', edKey, '--dkim-selector', 'ed'],
        stdin: big,
        label: 'CLI raw pipe 9 MiB: ed25519-sha256 relaxed/relaxed',
      },
      {
        what: 'composed, rsa',
        args: [...base, '--dkim-key', rsaKey, '--dkim-selector', 'rsa2048', '--subject', 'Grüße', '--text', 'Hallo  \n\n'],
        label: 'CLI composed: rsa-sha256 relaxed/relaxed',
      },
    ];
    for (const r of runs) {
      const out = await runNode(CLI, r.args, { ...(r.stdinFile ? { stdinFile: r.stdinFile } : { stdin: r.stdin ?? '' }), timeout: 60_000 });
      assert.is(out.code, 0, `${r.what}: ${out.stderr}`);
    }
    assert.is(server.messages.length, runs.length);
    for (let i = 0; i < runs.length; i++) await verifyAll(runs[i]!.label, [server.messages[i]!], 1);
    assertNoFailures();
    assert.ok(server.messages[2]!.length > 9 * 1024 * 1024);
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('CLI helper signOutgoing: bytes as they are; a stream read first as given, then reopened', async () => {
  assert.ok(missing === undefined, missing);
  const signer = await createDkimSigner({ domain: D, selector: 'ed', privateKey: KEYS['ed25519-sha256'].pem });
  const [m] = generated(1, SEED + 3000);
  const chunks = () => [m!.subarray(0, 10), m!.subarray(10)];
  let reopened = 0;
  const s = await signOutgoing(signer, chunks(), () => (reopened++, chunks()));
  assert.is(reopened, 0);
  const parts: Uint8Array[] = [];
  for await (const c of s.body as AsyncIterable<Uint8Array>) parts.push(c);
  assert.is(reopened, 1);
  assert.is(s.size, Buffer.concat(parts).length);
  const b = await signOutgoing(signer, m!);
  assert.is(b.size, (b.body as Uint8Array).length);
  await verifyAll('signOutgoing: ed25519-sha256 relaxed/relaxed', [wire(Buffer.concat(parts)), wire(b.body as Uint8Array)], 1);
  assertNoFailures();
  let refused = '';
  await signOutgoing(signer, chunks()).catch((err: Error) => (refused = err.message));
  assert.match(refused, /readable twice/);
});

test('CLI: DKIM flag problems exit 64 (usage) or 66 (unreadable key) before connecting', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'smtpwire-dkim-test-'));
  try {
    const small = join(dir, 'small.pem');
    writeFileSync(small, generateKeyPairSync('rsa', { modulusLength: 768 }).privateKey.export({ type: 'pkcs8', format: 'pem' }));
    // Port 9 on 127.0.0.1: nothing listens; a connection attempt would fail differently (75).
    const base = ['send', '--server', 'smtp+plain://127.0.0.1:9', '--from', 'a@signer.example', '--to', 'b@example.net'];
    const cases: [string[], number, RegExp][] = [
      [['--dkim-key', small, '--dkim-domain', D], 64, /--dkim-selector/],
      [['--dkim-key', small, '--dkim-domain', D, '--dkim-selector', 's'], 64, /768 bits.*1024/],
      [['--dkim-key', join(dir, 'nope.pem'), '--dkim-domain', D, '--dkim-selector', 's'], 66, /--dkim-key: cannot read/],
      [['--dkim-key', small, '--dkim-domain', D, '--dkim-selector', 's', '--dkim-algo', 'rsa-sha1'], 64, /rsa-sha256 or ed25519-sha256/],
    ];
    for (const [args, code, text] of cases) {
      const out = await runNode(CLI, [...base, ...args], { stdin: MESSAGES.plain!, timeout: 20_000 });
      assert.is(out.code, code, `${args.join(' ')}: ${out.stderr}`);
      assert.match(out.stderr, text);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('report: signatures verified per algorithm x canonicalization', () => {
  const lines = [...tally].map(([k, t]) => `  ${k.padEnd(58)} dkimpy ${t.dkimpy}/${t.total}  mailauth ${t.mailauth}/${t.total}`);
  const sum = [...tally.values()].reduce(
    (a, t) => ({ dkimpy: a.dkimpy + t.dkimpy, mailauth: a.mailauth + t.mailauth, total: a.total + t.total }),
    { dkimpy: 0, mailauth: 0, total: 0 },
  );
  console.log(
    `DKIM verification (seed ${SEED}):\n${lines.join('\n')}\n  ${'all'.padEnd(58)} dkimpy ${sum.dkimpy}/${sum.total}  mailauth ${sum.mailauth}/${sum.total}`,
  );
  assert.ok(sum.total > 0);
  assert.is(sum.dkimpy, sum.total);
  assert.is(sum.mailauth, sum.total);
});

test.run();

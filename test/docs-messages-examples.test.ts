// Runs every `js` example of docs/messages.md: each block becomes a module in a temp dir (with
// the files the examples attach), its `smtpwire/...` imports pointed at dist/, and
// `host: 'smtp.example.com'` at a local smtp-server. An example must exit 0 and print no
// rejected or unknown outcome; every message it sends must arrive and parse (mailparser).
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { runNode } from './node-process.ts';
import { txtRecord, verifyWithDkimpy, verifyWithMailauth } from './dkim-verifiers.ts';

// The key the DKIM example reads as dkim.pem, and its DNS record (derived with node:crypto).
const dkimKey = generateKeyPairSync('ed25519');
const dkimRecords = { 'mail2024._domainkey.example.com': txtRecord(dkimKey.publicKey) };

const DIST = fileURLToPath(new URL('../', import.meta.url)); // dist/
const DOC = fileURLToPath(new URL('../../docs/messages.md', import.meta.url));
const blocks = [...readFileSync(DOC, 'utf8').matchAll(/```js\n([\s\S]*?)```/g)].map((m) => m[1]!);

test('docs/messages.md has examples', () => {
  assert.ok(blocks.length >= 5, `${blocks.length} examples`);
});

blocks.forEach((code, i) => {
  const title =
    code
      .split('\n')
      .find((l) => /^(const|await|console)/.test(l))
      ?.slice(0, 60) ?? '';
  test(`docs/messages.md example ${i + 1}: ${title}`, async () => {
    const got: Buffer[] = [];
    const server = new SMTPServer({
      logger: false,
      disableReverseLookup: true,
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      closeTimeout: 500,
      onData(stream, _s, cb) {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          got.push(Buffer.concat(chunks));
          cb();
        });
      },
    });
    server.on('error', () => {});
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.server.address() as AddressInfo).port;
    const dir = mkdtempSync(join(tmpdir(), 'smtpwire-doc-'));
    try {
      writeFileSync(join(dir, 'report.pdf'), Buffer.alloc(200_000, 7));
      writeFileSync(join(dir, 'dkim.pem'), dkimKey.privateKey.export({ type: 'pkcs8', format: 'pem' }));
      writeFileSync(join(dir, 'logo.png'), Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
      const source = code
        .replaceAll("'smtpwire/node'", JSON.stringify(join(DIST, 'transports/node.js')))
        .replaceAll("'smtpwire/message'", JSON.stringify(join(DIST, 'message/index.js')))
        .replaceAll("host: 'smtp.example.com'", `host: '127.0.0.1', port: ${port}, tls: 'none'`);
      assert.is.not(source.includes('smtpwire/'), true, 'an import the runner does not map');
      const file = join(dir, 'example.mjs');
      writeFileSync(file, `process.chdir(${JSON.stringify(dir)});\n${source}`);
      const r = await runNode(file, [], { timeout: 20_000 });
      assert.is(r.code, 0, r.stderr);
      assert.not.match(r.stdout, /rejected|unknown/);
      const accepted = (r.stdout.match(/^accepted$/gm) ?? []).length;
      assert.is(got.length, accepted, `${accepted} accepted, ${got.length} arrived`);
      for (const m of got) {
        const p = await simpleParser(m);
        assert.ok(p.from, 'a From the parser reads');
      }
      // A signed message verifies as delivered, with two independent verifiers.
      const signed = got.filter((m) => /^DKIM-Signature:/im.test(m.toString('latin1')));
      assert.is(signed.length > 0, code.includes('dkim:'), 'the examples with dkim deliver signed messages');
      const py = signed.length ? verifyWithDkimpy(signed, dkimRecords) : [];
      for (let k = 0; k < signed.length; k++) {
        assert.equal(py[k]!.results, [true], `dkimpy: ${py[k]!.errors.join('; ')}`);
        const ma = await verifyWithMailauth(signed[k]!, dkimRecords);
        assert.equal(ma.results, [true], `mailauth: ${ma.errors.join('; ')}`);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});

test.run();

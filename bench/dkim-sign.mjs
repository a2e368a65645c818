#!/usr/bin/env node
// DKIM signing of one large streamed body: time and peak RSS growth (not part of `npm run bench`,
// not a timed test). Needs a build. Usage:
//   node --expose-gc bench/dkim-sign.mjs [MB=256] [relaxed/relaxed|simple/simple|...]
// The body is generated chunk by chunk (64 KiB, text lines with WSP runs), so nothing but the
// signer holds it; the figure is what the signer adds.
import { generateKeyPairSync } from 'node:crypto';
import { createDkimSigner } from '../dist/message/dkim.js';

const MB = 1 << 20;
const total = Number(process.argv[2] ?? 256) * MB;
const canonicalization = process.argv[3] ?? 'relaxed/relaxed';
const chunk = new Uint8Array(64 * 1024);
const line = new TextEncoder().encode('The quick brown fox  jumps over the lazy dog.\t 0123456789 ABCDEFGHIJ abcdefghij\r\n');
for (let i = 0; i < chunk.length; i++) chunk[i] = line[i % line.length];
const head = new TextEncoder().encode('From: a@example.com\r\nSubject: big\r\n\r\n');
function* message() {
  yield head;
  for (let n = 0; n < total; n += chunk.length) yield chunk;
}

const privateKey = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' });
const signer = await createDkimSigner({ domain: 'example.com', selector: 's', privateKey, canonicalization });
globalThis.gc?.();
const before = process.memoryUsage().rss;
let peak = before;
const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
const started = performance.now();
await signer.signatureFields(message);
const ms = performance.now() - started;
clearInterval(sampler);
peak = Math.max(peak, process.memoryUsage().rss);
console.log(
  `${canonicalization}: ${total / MB} MB in ${ms.toFixed(0)} ms (${(total / MB / (ms / 1000)).toFixed(0)} MB/s); RSS ${(before / MB).toFixed(1)} MB before, peak +${((peak - before) / MB).toFixed(1)} MB`,
);

// The benchmark messages, made on the fly (deterministic, no data files in the repo):
//   msg-1k.eml    exactly 1,024 octets: headers and a short text body, CRLF line endings
//   msg-50m.eml   exactly 50 MiB: headers and a base64 "attachment" in 76-column lines, CRLF
// plus *.lf.eml twins with LF line endings for smtp-source -F (it appends CRLF to each line,
// so it sends the same bytes as the CRLF file). No line starts with "." (no stuffing needed).
import { createWriteStream, existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const KIB = 1024;
export const MIB = 1024 * 1024;

const HEADERS = [
  'From: Bench Sender <bench@example.org>',
  'To: Sink <sink@example.org>',
  'Subject: smtpwire benchmark message',
  'Date: Mon, 03 Mar 2025 10:00:00 +0000',
  'Message-ID: <bench.0001@example.org>',
  'MIME-Version: 1.0',
];

function rng(seed) {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

const WORDS =
  'lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut labore et dolore magna aliqua'.split(' ');

/** A text message of exactly `size` octets (CRLF). */
function smallMessage(size) {
  const rand = rng(42);
  const head = [...HEADERS, 'Content-Type: text/plain; charset=us-ascii', ''].join('\r\n') + '\r\n';
  let body = '';
  let line = '';
  while (head.length + body.length < size) {
    const w = WORDS[rand() % WORDS.length];
    if (line.length + w.length + 1 > 72) {
      body += line + '\r\n';
      line = '';
    }
    line += (line ? ' ' : '') + w;
  }
  let text = head + body;
  text = text.slice(0, size - 2);
  // End on a clean line: replace the tail with "x" padding so the total is exact.
  const cut = text.lastIndexOf('\r\n');
  text = text.slice(0, cut + 2);
  text += 'x'.repeat(size - 2 - text.length) + '\r\n';
  if (text.length !== size) throw new Error(`fixture size ${text.length} != ${size}`);
  return text;
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** Writes a MIME message of exactly `size` octets with a base64 body in 76-column lines. */
async function bigMessage(path, size, eol) {
  const head =
    [
      ...HEADERS,
      'Content-Type: application/octet-stream; name="blob.bin"',
      'Content-Transfer-Encoding: base64',
      'Content-Disposition: attachment; filename="blob.bin"',
      '',
    ].join(eol) + eol;
  const rand = rng(7);
  const lineLen = 76;
  // One 1 MiB block of lines, reused with a rotating offset (content is irrelevant, shape is not).
  const perLine = lineLen + eol.length;
  const linesPerBlock = Math.floor(MIB / perLine);
  const block = Buffer.alloc(linesPerBlock * perLine);
  for (let l = 0; l < linesPerBlock; l++) {
    for (let i = 0; i < lineLen; i++) block[l * perLine + i] = B64.charCodeAt(rand() & 63);
    block.write(eol, l * perLine + lineLen, 'latin1');
  }
  const out = createWriteStream(path);
  const write = (buf) => new Promise((resolve, reject) => out.write(buf, (err) => (err ? reject(err) : resolve())));
  await write(Buffer.from(head, 'latin1'));
  let left = size - head.length;
  while (left > block.length) {
    await write(block);
    left -= block.length;
  }
  // The last bytes: whole lines, then one short line, ending with EOL.
  const tail = Buffer.alloc(left);
  let o = 0;
  while (left - o > perLine) {
    block.copy(tail, o, 0, perLine);
    o += perLine;
  }
  const rest = left - o - eol.length;
  for (let i = 0; i < rest; i++) tail[o + i] = 0x41;
  tail.write(eol, o + rest, 'latin1');
  await write(tail);
  await new Promise((resolve, reject) => out.end((err) => (err ? reject(err) : resolve())));
  if (statSync(path).size !== size) throw new Error(`fixture ${path}: ${statSync(path).size} != ${size}`);
}

/** Make (or reuse) the fixtures in `dir`; returns their paths. */
export async function makeFixtures(dir, { bigSize = 50 * MIB } = {}) {
  mkdirSync(dir, { recursive: true });
  const small = join(dir, 'msg-1k.eml');
  const smallLf = join(dir, 'msg-1k.lf.eml');
  const big = join(dir, `msg-${bigSize}.eml`);
  const bigLf = join(dir, `msg-${bigSize}.lf.eml`);
  const text = smallMessage(KIB);
  writeFileSync(small, text);
  writeFileSync(smallLf, text.replaceAll('\r\n', '\n'));
  if (!existsSync(big) || statSync(big).size !== bigSize) await bigMessage(big, bigSize, '\r\n');
  // The LF twin is shorter by one octet per line; smtp-source puts the CRs back.
  if (!existsSync(bigLf)) await bigMessage(bigLf, bigSize - Math.floor(bigSize / 78), '\n');
  return { small, smallLf, big, bigLf };
}

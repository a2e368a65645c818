// Interop against real MTAs on 127.0.0.1, each with a private configuration in a temp dir:
//
//   postfix          Postfix smtpd: STARTTLS (test certificate), Cyrus SASL (sasldb) with PLAIN,
//                    LOGIN, CRAM-MD5 and SCRAM-SHA-256, PIPELINING, CHUNKING, 8BITMIME, SMTPUTF8. It relays
//                    every message through its queue to a capture server in this process, where
//                    each one is compared byte for byte (after the Received: header Postfix adds).
//   postfix-strict   A second smtpd of the same instance with the strictest line-ending and
//                    envelope checks Postfix has (smtpd_forbid_bare_newline = reject, no
//                    exclusions; smtpd_forbid_unauth_pipelining; strict_rfc821_envelopes; strict
//                    7-bit headers / 8BITMIME body / MIME encoding domain): every body of the
//                    body-encoder fuzzer must be accepted and delivered unchanged (modulo the CRLF
//                    normalisation the client does), over DATA and over BDAT.
//   aiosmtpd         Python's aiosmtpd with STARTTLS required and AUTH PLAIN, LOGIN, CRAM-MD5:
//                    the same messages, stored to files by test/interop/aiosmtpd_server.py.
//   exim             Exim 4 from Debian's package, extracted (test/interop/exim.ts): PIPELINING and
//                    CHUNKING, no TLS or AUTH; recipients refused with 550 and 451. Exim keeps the
//                    transaction after a refused BDAT, so a message sent after one whose every
//                    recipient was refused must still go under its own sender (issue 12).
//
// Prints per MTA how many messages were verified and closes with "N passed, N failed".
// Run by test/interop/run.sh (which installs the packages first); needs root for Postfix.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from '../fc.ts';
import type { LogEntry } from '../../client/client.ts';
import { SmtpError } from '../../core/errors.ts';
import { connect, fileBody, type ClientOptions, type SendResult, type SmtpClient } from '../../transports/node.ts';
import { buildMessage } from '../../message/build.ts';
import { createDkimSigner, type DkimCanonicalization } from '../../message/dkim.ts';
import { dkimpyMissing, txtRecord, verifyWithDkimpy, verifyWithMailauth } from '../dkim-verifiers.ts';
import { startExim, stripEximHeaders, type Exim } from './exim.ts';
import { freePort, POSTFIX_SERVICES, postfixIds, waitForPort } from './postfix.ts';
import { messageSuite, type SuiteTarget } from './message-suite.ts';
import { nodemailerSuite } from './nodemailer-suite.ts';

const REPO = new URL('../../../', import.meta.url).pathname; // dist/test/interop/ -> repo root
const FIXTURES = join(REPO, 'test/fixtures');
const CERT = join(FIXTURES, 'server.crt');
const KEY = join(FIXTURES, 'server.key');
const CA = readFileSync(CERT, 'utf8');
const USER = 'alice';
const PASS = 'Interop-S3cret!';
const SASL_DOMAIN = 'smtpwire.test';
const SCRAM_ITERATIONS = 10_000;
const SEED = Number(process.env.SMTPWIRE_INTEROP_SEED ?? '20240601');
const FUZZ_BODIES = Number(process.env.SMTPWIRE_INTEROP_FUZZ ?? '200');
const PIPELINED = Number(process.env.SMTPWIRE_INTEROP_PIPELINED ?? '500');
const BUILT = Number(process.env.SMTPWIRE_INTEROP_BUILT ?? '100');
const BIG = 10 * 1024 * 1024;
const DELIVERY_TIMEOUT = 180_000;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const enc = new TextEncoder();

// ---------------------------------------------------------------- bookkeeping

const tally = new Map<string, { verified: number; failed: number; checks: number }>();
let passed = 0;
let failed = 0;

function row(mta: string) {
  let r = tally.get(mta);
  if (!r) tally.set(mta, (r = { verified: 0, failed: 0, checks: 0 }));
  return r;
}

function ok(mta: string, what: string, message = false): void {
  passed++;
  if (message) row(mta).verified++;
  else {
    row(mta).checks++;
    console.log(`  ok   ${mta}: ${what}`);
  }
}

function bad(mta: string, what: string, detail = ''): void {
  failed++;
  row(mta).failed++;
  console.log(`  FAIL ${mta}: ${what}${detail ? `\n       ${detail.replace(/\n/g, '\n       ')}` : ''}`);
}

function check(mta: string, cond: boolean, what: string, detail = ''): boolean {
  if (cond) ok(mta, what);
  else bad(mta, what, detail);
  return cond;
}

// ---------------------------------------------------------------- messages

interface Msg {
  id: string;
  from: string;
  to: string[];
  /** What the client is given. */
  body: Uint8Array;
  /** What must arrive (headers + body; the MTA's own trace headers excluded). */
  expected: Buffer;
  smtpUtf8?: boolean;
}

/** The client's documented normalisation: every bare CR and bare LF becomes CRLF, and the
 *  message ends with a line break. */
function normalised(bytes: Uint8Array): Buffer {
  const out: number[] = [];
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    if (b === 0x0d) {
      out.push(0x0d, 0x0a);
      if (bytes[i + 1] === 0x0a) i++;
    } else if (b === 0x0a) {
      out.push(0x0d, 0x0a);
    } else {
      out.push(b);
    }
  }
  const n = out.length;
  if (n > 0 && !(out[n - 2] === 0x0d && out[n - 1] === 0x0a)) out.push(0x0d, 0x0a);
  return Buffer.from(out);
}

let serial = 0;
function newId(tag: string): string {
  return `${tag}.${process.pid}.${++serial}.${Math.random().toString(36).slice(2, 8)}`;
}

function headers(id: string, from: string, to: string[], subject: string, extra: string[] = []): string {
  return (
    [
      `X-Smtpwire-Id: ${id}`,
      `Date: Sat, 01 Jun 2024 12:00:00 +0000`,
      `Message-ID: <${id}@client.smtpwire.test>`,
      `From: <${from}>`,
      `To: ${to.map((t) => `<${t}>`).join(', ')}`,
      `Subject: ${subject}`,
      'MIME-Version: 1.0',
      ...extra,
    ].join('\r\n') + '\r\n\r\n'
  );
}

function textMessage(
  tag: string,
  to: string[],
  subject: string,
  text: string | Uint8Array,
  opts: { from?: string; smtpUtf8?: boolean; extra?: string[] } = {},
): Msg {
  const id = newId(tag);
  const from = opts.from ?? 'sender@client.smtpwire.test';
  const head = enc.encode(
    headers(id, from, to, subject, opts.extra ?? ['Content-Type: text/plain; charset=utf-8', 'Content-Transfer-Encoding: 8bit']),
  );
  const tail = typeof text === 'string' ? enc.encode(text) : text;
  const body = new Uint8Array(head.length + tail.length);
  body.set(head, 0);
  body.set(tail, head.length);
  return { id, from, to, body, expected: normalised(body), smtpUtf8: opts.smtpUtf8 };
}

/** The everyday set: one recipient, several, 8-bit text, SMTPUTF8 addresses and headers. */
function everydayMessages(tag: string): Msg[] {
  return [
    textMessage(tag, ['bob@example.test'], 'single recipient', 'Hello Bob.\r\n.a line that starts with a dot\r\n..and two\r\n'),
    textMessage(tag, ['bob@example.test', 'carol@example.test', 'dave@example.test'], 'several recipients', 'To three people.\r\n'),
    textMessage(
      tag,
      ['bob@example.test'],
      '8-bit body',
      'Grüße aus Köln — naïve café, 日本語のテキスト, emoji 🎉\r\nLatin-1 bytes too:\r\n',
    ),
    textMessage(tag, ['jürgen@example.test', '用户@example.test'], 'SMTPUTF8: Grüße 你好', 'UTF-8 in the envelope and the headers.\r\n', {
      from: 'josé@client.smtpwire.test',
      smtpUtf8: true,
    }),
  ];
}

/** A 10 MB body of 76-column lines (deterministic), some starting with a dot. */
function bigMessage(tag: string): Msg {
  const line = (i: number) => {
    let s = (i % 97 === 0 ? '.' : '') + i.toString(36).padStart(6, '0') + ' ';
    let x = (i * 2654435761) >>> 0;
    while (s.length < 76) {
      x = (x * 1103515245 + 12345) >>> 0;
      s += 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'[x >>> 26]!;
    }
    return s + '\r\n';
  };
  const parts: string[] = [];
  let size = 0;
  for (let i = 0; size < BIG; i++) {
    const l = line(i);
    parts.push(l);
    size += l.length;
  }
  return textMessage(tag, ['bob@example.test'], '10 MB body', parts.join(''), { extra: ['Content-Type: text/plain; charset=us-ascii'] });
}

function pipelinedMessages(tag: string, n: number): Msg[] {
  return Array.from({ length: n }, (_, i) =>
    textMessage(
      tag,
      [`user${i % 7}@example.test`, ...(i % 5 === 0 ? ['extra@example.test'] : [])],
      `pipelined ${i} of ${n}`,
      `Message number ${i}.\r\n${'.'.repeat(i % 3)}dots ${i}\r\n${'x'.repeat(i % 200)}\r\n`,
    ),
  );
}

/** Bodies like the body-encoder fuzzer's: bare CR and LF, leading dots, NULs, 8-bit bytes and
 *  every SMTP smuggling sequence, mixed. Seed-fixed. */
function fuzzBodies(n: number, seed: number): Uint8Array[] {
  const SEQUENCES = [
    '\n.\n',
    '\r.\r',
    '\n.\r\n',
    '\r\n.\n',
    '\r.\r\n',
    '\r\n.\r',
    '\r\n.\r\n',
    '.\r\n',
    '\r\n.',
    '..',
    '.\n',
    '\n..\n',
    '\r\n\r\n.\r\n',
    '\nQUIT\r\n',
    '\r\nMAIL FROM:<evil@example.test>\r\n',
    '\r\n.\r\nRCPT TO:<x@example.test>\r\n',
    '\r\n\0.\r\n',
    '\r\r\n\n',
  ];
  const byte = fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(0x0d, 0x0a, 0x2e, 0x61, 0x20, 0x09) },
    { weight: 3, arbitrary: fc.integer({ min: 0x21, max: 0x7e }) },
    { weight: 1, arbitrary: fc.integer({ min: 0x80, max: 0xff }) },
    { weight: 1, arbitrary: fc.constant(0x00) },
  );
  const piece = fc.oneof(
    { weight: 3, arbitrary: fc.array(byte, { maxLength: 40 }).map((a) => Uint8Array.from(a)) },
    { weight: 2, arbitrary: fc.constantFrom(...SEQUENCES).map((s) => enc.encode(s)) },
    { weight: 1, arbitrary: fc.string({ maxLength: 30 }).map((s) => enc.encode(s)) },
  );
  const body = fc.array(piece, { maxLength: 30 }).map((ps) => {
    const out = new Uint8Array(ps.reduce((k, p) => k + p.length, 0));
    let at = 0;
    for (const p of ps) {
      out.set(p, at);
      at += p.length;
    }
    return out.subarray(0, 900); // no line can pass 998 octets
  });
  return fc.sample(body, { numRuns: n, seed });
}

// ---------------------------------------------------------------- the capture server (Postfix's relay target)

interface Delivery {
  from: string;
  to: string[];
  mailParams: string;
  data: Buffer;
}

class Capture {
  port = 0;
  readonly byId = new Map<string, Delivery[]>();
  readonly noId: Delivery[] = [];
  private server = net.createServer((s) => this.session(s));
  private sockets = new Set<net.Socket>();

  async start(): Promise<void> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', () => r()));
    this.port = (this.server.address() as net.AddressInfo).port;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  private store(d: Delivery): void {
    const head = d.data.subarray(0, Math.min(d.data.length, 64 * 1024)).toString('latin1');
    const m = /^X-Smtpwire-Id: (\S+)\r$/im.exec(head); // any case: nodemailer writes X-Smtpwire-ID
    if (!m) {
      this.noId.push(d);
      return;
    }
    const list = this.byId.get(m[1]!) ?? [];
    list.push(d);
    this.byId.set(m[1]!, list);
  }

  private session(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => {});
    let pending: Buffer = Buffer.alloc(0);
    let mode: 'command' | 'data' = 'command';
    let from = '';
    let params = '';
    let to: string[] = [];
    let body: Buffer[] = [];
    const say = (text: string) => socket.write(text + '\r\n');
    say('220 sink.smtpwire.test ESMTP capture');
    socket.on('data', (chunk: Buffer) => {
      let buf = pending.length ? Buffer.concat([pending, chunk]) : chunk;
      let at = 0;
      for (;;) {
        const lf = buf.indexOf(0x0a, at);
        if (lf < 0) break;
        const line = buf.subarray(at, lf + 1);
        at = lf + 1;
        if (mode === 'data') {
          if (line.length === 3 && line[0] === 0x2e && line[1] === 0x0d) {
            mode = 'command';
            this.store({ from, to, mailParams: params, data: Buffer.concat(body) });
            body = [];
            say('250 2.0.0 captured');
          } else {
            body.push(line[0] === 0x2e ? line.subarray(1) : line);
          }
          continue;
        }
        const text = line.toString('utf8').replace(/\r?\n$/, '');
        const verb = text.slice(0, 4).toUpperCase();
        if (verb === 'EHLO') say('250-sink.smtpwire.test\r\n250-PIPELINING\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250 ENHANCEDSTATUSCODES');
        else if (verb === 'HELO') say('250 sink.smtpwire.test');
        else if (verb === 'MAIL') {
          const m = /^MAIL FROM:<(.*?)>(.*)$/i.exec(text);
          from = m?.[1] ?? '';
          params = m?.[2]?.trim() ?? '';
          to = [];
          say('250 2.1.0 ok');
        } else if (verb === 'RCPT') {
          to.push(/^RCPT TO:<(.*?)>/i.exec(text)?.[1] ?? '');
          say('250 2.1.5 ok');
        } else if (verb === 'DATA') {
          mode = 'data';
          say('354 go ahead');
        } else if (verb === 'RSET' || verb === 'NOOP') say('250 2.0.0 ok');
        else if (verb === 'QUIT') {
          say('221 2.0.0 bye');
          socket.end();
        } else say('502 5.5.2 not here');
      }
      // Keep only the unfinished line (body lines already taken are views of `buf`).
      pending = at < buf.length ? Buffer.from(buf.subarray(at)) : Buffer.alloc(0);
      buf = Buffer.alloc(0);
    });
  }
}

// ---------------------------------------------------------------- helpers for processes and ports

function run(cmd: string, args: string[], input?: string): { status: number | null; out: string } {
  const r = spawnSync(cmd, args, { input, encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' } });
  return { status: r.status, out: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? String(r.error) : ''}` };
}

// ---------------------------------------------------------------- Postfix, private instance

interface PostfixInstance {
  port: number;
  strictPort: number;
  conf: string;
  log: string;
  stop(): void;
}

async function startPostfix(base: string, capturePort: number): Promise<PostfixInstance> {
  const dir = join(base, 'postfix');
  const conf = join(dir, 'conf');
  const queue = join(dir, 'queue');
  const data = join(dir, 'data');
  // Debian's Postfix reads the Cyrus config from $config_directory/sasl (its policy patch);
  // upstream reads cyrus_sasl_config_path. Point both at the same private directory.
  const sasl = join(conf, 'sasl');
  const tlsDir = join(dir, 'tls');
  const log = join(dir, 'maillog');
  for (const d of [dir, conf, queue, data, sasl, tlsDir]) mkdirSync(d, { recursive: true });
  chmodSync(dir, 0o755);
  const { uid, gid } = postfixIds();
  chownSync(data, uid, gid);
  copyFileSync(CERT, join(tlsDir, 'server.crt'));
  copyFileSync(KEY, join(tlsDir, 'server.key'));
  chmodSync(join(tlsDir, 'server.key'), 0o600);

  // Cyrus SASL: sasldb with one user; PLAIN, LOGIN, CRAM-MD5 and SCRAM-SHA-256 (Cyrus's own
  // SCRAM, with 10,000 iterations: an implementation of RFC 5802/7677 independent of ours).
  const sasldb = join(sasl, 'sasldb2');
  writeFileSync(
    join(sasl, 'smtpd.conf'),
    `pwcheck_method: auxprop\nauxprop_plugin: sasldb\nmech_list: PLAIN LOGIN CRAM-MD5 SCRAM-SHA-256\nscram_iteration_counter: ${SCRAM_ITERATIONS}\nsasldb_path: ${sasldb}\n`,
  );
  const pwd = run('saslpasswd2', ['-p', '-c', '-f', sasldb, '-u', SASL_DOMAIN, USER], PASS);
  if (pwd.status !== 0) throw new Error(`saslpasswd2 failed: ${pwd.out}`);
  chownSync(sasldb, uid, gid);
  chmodSync(sasldb, 0o640);

  const port = await freePort();
  const strictPort = await freePort();
  writeFileSync(
    join(conf, 'main.cf'),
    `# smtpwire interop: private Postfix instance (nothing here touches /etc/postfix)
compatibility_level = 3.6
queue_directory = ${queue}
data_directory = ${data}
mail_owner = postfix
setgid_group = postdrop
myhostname = mx.smtpwire.test
mydomain = smtpwire.test
myorigin = $myhostname
mydestination =
local_recipient_maps =
relay_domains =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.2/32
maillog_file = ${log}
maillog_file_prefixes = ${dir}
biff = no
append_dot_mydomain = no
readme_directory = no
in_flow_delay = 0
delay_warning_time = 0
message_size_limit = 104857600
mailbox_size_limit = 0
smtputf8_enable = yes
# Relay everything, through the queue, to the capture server.
default_transport = smtp:[127.0.0.1]:${capturePort}
relay_transport = smtp:[127.0.0.1]:${capturePort}
relayhost =
smtp_dns_support_level = disabled
smtp_tls_security_level = none
smtp_line_length_limit = 0
disable_mime_output_conversion = yes
# No header rewriting or added headers for our (remote) client: only Received: is added.
local_header_rewrite_clients =
remote_header_rewrite_domain =
always_add_missing_headers = no
smtpd_peername_lookup = no
# STARTTLS with the test certificate; AUTH only after it.
smtpd_tls_cert_file = ${join(tlsDir, 'server.crt')}
smtpd_tls_key_file = ${join(tlsDir, 'server.key')}
smtpd_tls_security_level = may
smtpd_tls_auth_only = yes
smtpd_tls_received_header = yes
# Cyrus SASL against the private sasldb.
smtpd_sasl_auth_enable = yes
smtpd_sasl_type = cyrus
smtpd_sasl_path = smtpd
cyrus_sasl_config_path = ${sasl}
smtpd_sasl_local_domain = ${SASL_DOMAIN}
smtpd_sasl_security_options = noanonymous
smtpd_sasl_tls_security_options = noanonymous
smtpd_sasl_authenticated_header = yes
# Only authenticated clients may relay: AUTH has to have worked for anything to arrive.
smtpd_relay_restrictions = permit_sasl_authenticated, reject_unauth_destination
smtpd_recipient_restrictions =
`,
  );
  const strict = [
    '-o syslog_name=postfix-strict',
    '-o smtpd_forbid_bare_newline=reject',
    '-o smtpd_forbid_bare_newline_exclusions=',
    '-o smtpd_forbid_unauth_pipelining=yes',
    '-o strict_rfc821_envelopes=yes',
    '-o smtpd_helo_required=yes',
    '-o smtpd_helo_restrictions=reject_invalid_helo_hostname,reject_non_fqdn_helo_hostname',
    '-o cleanup_service_name=strictcleanup',
  ].join(' ');
  writeFileSync(
    join(conf, 'master.cf'),
    `127.0.0.1:${port} inet n - n - - smtpd
127.0.0.1:${strictPort} inet n - n - - smtpd ${strict}
strictcleanup unix n - n - 0 cleanup -o strict_7bit_headers=yes -o strict_8bitmime_body=yes -o strict_mime_encoding_domain=yes
${POSTFIX_SERVICES}`,
  );

  const version = run('postconf', ['-c', conf, '-h', 'mail_version']);
  console.log(`postfix ${version.out.trim()} (config ${conf})`);
  const forbid = run('postconf', ['-c', conf, '-d', 'smtpd_forbid_bare_newline']);
  if (!/smtpd_forbid_bare_newline/.test(forbid.out)) throw new Error(`this Postfix has no smtpd_forbid_bare_newline: ${forbid.out}`);
  const checked = run('postfix', ['-c', conf, 'check']);
  if (checked.status !== 0) throw new Error(`postfix check failed: ${checked.out}\n${tail(log)}`);
  const started = run('postfix', ['-c', conf, 'start']);
  const instance: PostfixInstance = {
    port,
    strictPort,
    conf,
    log,
    stop: () => {
      run('postfix', ['-c', conf, 'stop']);
    },
  };
  if (started.status !== 0) {
    instance.stop();
    throw new Error(`postfix start failed: ${started.out}\n${tail(log)}`);
  }
  if (!(await waitForPort(port, 20_000)) || !(await waitForPort(strictPort, 20_000))) {
    instance.stop();
    throw new Error(`postfix did not listen on ${port}/${strictPort}\n${tail(log)}`);
  }
  return instance;
}

function tail(file: string, lines = 40): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return `(no ${file})`;
  }
}

// ---------------------------------------------------------------- aiosmtpd

interface Aiosmtpd {
  port: number;
  dir: string;
  proc: ChildProcess;
  stop(): Promise<void>;
}

async function startAiosmtpd(base: string): Promise<Aiosmtpd> {
  const dir = join(base, 'aiosmtpd');
  mkdirSync(dir, { recursive: true });
  const script = join(REPO, 'test/interop/aiosmtpd_server.py');
  const proc = spawn('/usr/bin/python3', [script, '--dir', dir, '--cert', CERT, '--key', KEY, '--user', USER, '--password', PASS], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  writeFileSync(join(base, 'aiosmtpd.pid'), String(proc.pid));
  let errText = '';
  proc.stderr.on('data', (b: Buffer) => (errText = (errText + b.toString()).slice(-4000)));
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`aiosmtpd did not start: ${errText}`)), 20_000);
    proc.stdout.on('data', (b: Buffer) => {
      out += b.toString();
      const m = /READY (\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    proc.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`aiosmtpd exited with ${code}: ${errText}`));
    });
  });
  return {
    port,
    dir,
    proc,
    stop: async () => {
      if (proc.exitCode !== null) return;
      proc.kill('SIGTERM');
      await Promise.race([new Promise((r) => proc.once('exit', r)), sleep(5000)]);
      if (proc.exitCode === null) proc.kill('SIGKILL');
    },
  };
}

// ---------------------------------------------------------------- targets: how to read deliveries back

interface Target {
  mta: string;
  port: number;
  /** Wait until each id has arrived (or time runs out); the deliveries found. */
  collect(ids: string[]): Promise<Map<string, Delivery[]>>;
  /** The delivered bytes less the MTA's own trace headers. */
  strip(data: Buffer): Buffer;
  /** Checks on the session facts the MTA recorded, per delivery (TLS, AUTH). */
  facts?(d: Delivery): string | undefined;
}

function postfixTarget(mta: string, port: number, capture: Capture): Target {
  return {
    mta,
    port,
    async collect(ids) {
      const until = Date.now() + DELIVERY_TIMEOUT;
      while (Date.now() < until && !ids.every((id) => capture.byId.has(id))) await sleep(50);
      return new Map(ids.flatMap((id) => (capture.byId.has(id) ? [[id, capture.byId.get(id)!] as const] : [])));
    },
    strip(data) {
      // Postfix prepends exactly its own Received: header (folded over several lines).
      let at = 0;
      const text = data.subarray(0, Math.min(data.length, 8192)).toString('latin1');
      if (text.startsWith('Received:')) {
        at = text.indexOf('\r\n') + 2;
        while (text[at] === ' ' || text[at] === '\t') at = text.indexOf('\r\n', at) + 2;
      }
      return data.subarray(at);
    },
    facts(d) {
      const head = d.data.subarray(0, 2048).toString('latin1');
      // "with ESMTPSA" / "with UTF8SMTPSA": TLS and SASL both in force; the sasl user recorded.
      if (!/with (ESMTPSA|UTF8SMTPSA) id/.test(head)) return 'Received: does not say ESMTPSA (TLS + AUTH)';
      if (!/\(Authenticated sender: alice(@smtpwire\.test)?\)/.test(head))
        return `Received: has no Authenticated sender: alice\n${head.split('\r\n\r\n')[0]}`;
      return undefined;
    },
  };
}

function aiosmtpdTarget(server: Aiosmtpd): Target {
  const seen = new Map<string, Delivery[]>();
  const read = new Set<string>();
  const scan = (): void => {
    for (const f of readdirSync(server.dir)) {
      if (!f.endsWith('.json') || read.has(f)) continue;
      read.add(f);
      const meta = JSON.parse(readFileSync(join(server.dir, f), 'utf8')) as {
        mail_from: string;
        rcpt_tos: string[];
        mail_options: string[];
        login: string;
        tls: boolean;
        authenticated: boolean;
      };
      const data = readFileSync(join(server.dir, f.replace(/\.json$/, '.eml')));
      const m = /^X-Smtpwire-Id: (\S+)\r$/im.exec(data.subarray(0, 65536).toString('latin1'));
      const d: Delivery & { meta?: typeof meta } = {
        from: meta.mail_from,
        to: meta.rcpt_tos,
        mailParams: meta.mail_options.join(' '),
        data,
        meta,
      };
      if (m) seen.set(m[1]!, [...(seen.get(m[1]!) ?? []), d]);
    }
  };
  return {
    mta: 'aiosmtpd',
    port: server.port,
    async collect(ids) {
      const until = Date.now() + DELIVERY_TIMEOUT;
      for (;;) {
        scan();
        if (ids.every((id) => seen.has(id)) || Date.now() > until) break;
        await sleep(50);
      }
      return new Map(ids.flatMap((id) => (seen.has(id) ? [[id, seen.get(id)!] as const] : [])));
    },
    strip: (data) => data,
    facts(d) {
      const meta = (d as Delivery & { meta?: { login: string; tls: boolean; authenticated: boolean } }).meta;
      if (!meta?.tls) return 'not received over TLS';
      if (!meta.authenticated || meta.login !== USER) return `not authenticated as ${USER} (${meta?.login})`;
      return undefined;
    },
  };
}

// ---------------------------------------------------------------- sending and verifying

interface SendOptions {
  mechanism?: string;
  chunking?: boolean;
  pipelining?: boolean;
  /** No TLS and no AUTH (a server that has neither). */
  plain?: boolean;
  /** Send one after another (await each) instead of all at once (pipelined). */
  sequential?: boolean;
  name?: string;
}

interface Sent {
  results: SendResult[];
  log: LogEntry[];
  client: SmtpClient | undefined;
}

function clientOptions(target: Target, o: SendOptions, log: LogEntry[]): ClientOptions {
  return {
    host: '127.0.0.1',
    port: target.port,
    tls: o.plain ? 'none' : 'required-starttls',
    ca: CA,
    name: o.name ?? 'client.smtpwire.test',
    auth: o.plain ? undefined : { user: USER, pass: PASS, mechanism: o.mechanism },
    chunking: o.chunking,
    pipelining: o.pipelining,
    timeouts: { connect: 20_000, greeting: 60_000, dataEnd: 120_000 },
    logger: (e) => {
      // Keep the transcript small: commands and replies, not every pipelined body note.
      if (log.length < 20_000) log.push(e);
    },
  };
}

async function send(target: Target, msgs: Msg[], o: SendOptions = {}): Promise<Sent> {
  const log: LogEntry[] = [];
  let client: SmtpClient | undefined;
  try {
    client = await connect(clientOptions(target, o, log));
  } catch (err) {
    bad(target.mta, `connect (${o.mechanism ?? 'default'} mechanism)`, err instanceof Error ? err.message : String(err));
    return { results: [], log, client: undefined };
  }
  const one = (m: Msg) => client.send({ from: m.from, to: m.to, body: m.body, smtpUtf8: m.smtpUtf8 });
  let results: SendResult[];
  if (o.sequential) {
    results = [];
    for (const m of msgs) results.push(await one(m));
  } else {
    results = await Promise.all(msgs.map(one));
  }
  await client.close();
  const closed = await client.closed;
  if (closed) bad(target.mta, 'clean QUIT', closed.message);
  // A reply the client found out of step with its command (issue 12) would show here.
  const misfits = results.filter((r) => r.error?.code === 'EPROTOCOL');
  sendsSeen.set(target.mta, (sendsSeen.get(target.mta) ?? 0) + results.length);
  if (misfits.length)
    bad(
      target.mta,
      'a reply out of step with its command (EPROTOCOL)',
      misfits
        .map((r) => r.error!.message)
        .slice(0, 5)
        .join('\n'),
    );
  if (client.capabilities.enhancedStatusCodes) enhancedMtas.add(target.mta);
  // The transcript redacts every AUTH step: neither the password nor its SASL encodings appear.
  const secrets = [PASS, Buffer.from(`\0${USER}\0${PASS}`).toString('base64'), Buffer.from(PASS).toString('base64')];
  const leaked = log.filter((e) => secrets.some((x) => e.text.includes(x)));
  if (leaked.length) bad(target.mta, 'credentials in the client transcript', leaked.map((e) => e.text).join('\n'));
  return { results, log, client };
}

function firstDifference(a: Buffer, b: Buffer): string {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  const show = (x: Buffer) => JSON.stringify(x.subarray(Math.max(0, i - 40), i + 40).toString('latin1'));
  return `lengths ${a.length} (got) vs ${b.length} (expected); first difference at ${i}:\n got      ${show(a)}\n expected ${show(b)}`;
}

/** Every message accepted by the client, delivered once per recipient set, byte for byte. */
async function verify(target: Target, msgs: Msg[], sent: Sent, label: string): Promise<void> {
  const accepted = new Set<string>();
  sent.results.forEach((r, i) => {
    const m = msgs[i]!;
    if (r.outcome === 'accepted' && r.accepted.length === m.to.length) accepted.add(m.id);
    else
      bad(
        target.mta,
        `${label}: send of ${m.id}`,
        `${r.outcome}: ${r.error?.message ?? ''} ${r.rejected.map((x) => `${x.address} ${x.reply.code}`).join(', ')}`,
      );
  });
  if (sent.results.length === 0) {
    for (const m of msgs) bad(target.mta, `${label}: ${m.id} not sent`);
    return;
  }
  const got = await target.collect([...accepted]);
  let verified = 0;
  for (const m of msgs) {
    if (!accepted.has(m.id)) continue;
    const ds = got.get(m.id);
    if (!ds) {
      bad(target.mta, `${label}: ${m.id} never delivered`);
      continue;
    }
    const problems: string[] = [];
    const rcpts = ds.flatMap((d) => d.to).sort();
    if (JSON.stringify(rcpts) !== JSON.stringify([...m.to].sort()))
      problems.push(`recipients ${JSON.stringify(rcpts)} != ${JSON.stringify(m.to)}`);
    for (const d of ds) {
      if (d.from !== m.from) problems.push(`MAIL FROM ${JSON.stringify(d.from)} != ${JSON.stringify(m.from)}`);
      const body = target.strip(d.data);
      if (!body.equals(m.expected)) problems.push(firstDifference(body, m.expected));
      const f = target.facts?.(d);
      if (f) problems.push(f);
    }
    if (problems.length) bad(target.mta, `${label}: ${m.id}`, problems.join('\n'));
    else {
      ok(target.mta, `${label}: ${m.id}`, true);
      verified++;
    }
  }
  console.log(`  ${target.mta}: ${label}: ${verified}/${msgs.length} verified byte for byte`);
}

/** Sends per MTA, and the MTAs that advertised ENHANCEDSTATUSCODES (so the enhanced-code fit
 *  of every success reply was checked there). */
const sendsSeen = new Map<string, number>();
const enhancedMtas = new Set<string>();

const saw = (log: LogEntry[], re: RegExp) => log.some((e) => e.from === 'client' && re.test(e.text));

// ---------------------------------------------------------------- the suites

/** `utf8Headers: false` for a server that refuses 8-bit headers whatever the envelope says
 *  (Postfix's strict_7bit_headers): the SMTPUTF8 message is left out there. */
async function everydaySuite(target: Target, chunkingOffered: boolean, utf8Headers = true, scram = false): Promise<void> {
  for (const mechanism of ['PLAIN', 'LOGIN', 'CRAM-MD5', ...(scram ? ['SCRAM-SHA-256'] : [])]) {
    const msgs = everydayMessages(`${target.mta}-${mechanism}`).filter((m) => utf8Headers || !m.smtpUtf8);
    const sent = await send(target, msgs, { mechanism });
    if (sent.client) {
      check(target.mta, sent.client.secure, `${mechanism}: STARTTLS upgraded the link`);
      check(target.mta, saw(sent.log, new RegExp(`^AUTH ${mechanism}\\b`)), `${mechanism}: AUTH ${mechanism} used`);
      check(
        target.mta,
        (!utf8Headers || saw(sent.log, /SMTPUTF8/)) && saw(sent.log, /BODY=8BITMIME/),
        `${mechanism}: ${utf8Headers ? 'SMTPUTF8 and ' : ''}BODY=8BITMIME declared`,
      );
      if (chunkingOffered) check(target.mta, saw(sent.log, /^BDAT \d+ LAST$/), `${mechanism}: CHUNKING (BDAT) used`);
      if (mechanism === 'SCRAM-SHA-256') {
        // The server signature was verified (else connect() fails), and the key came from WebCrypto.
        const derived = sent.log.find((e) => e.from === 'info' && e.text.startsWith('SCRAM key derived'))?.text;
        check(
          target.mta,
          derived === `SCRAM key derived by WebCrypto (${SCRAM_ITERATIONS} iterations)`,
          "SCRAM-SHA-256: key derived by WebCrypto at the server's iteration count",
          derived ?? 'no derivation logged',
        );
      }
    }
    await verify(target, msgs, sent, `everyday messages, AUTH ${mechanism}`);
  }
  if (chunkingOffered) {
    const msgs = everydayMessages(`${target.mta}-data`).filter((m) => utf8Headers || !m.smtpUtf8);
    const sent = await send(target, msgs, { chunking: false });
    check(target.mta, saw(sent.log, /^DATA$/) && !saw(sent.log, /^BDAT/), 'chunking off: DATA used');
    await verify(target, msgs, sent, 'everyday messages over DATA');
  }
}

async function bigSuite(target: Target, chunkingOffered: boolean): Promise<void> {
  for (const chunking of chunkingOffered ? [true, false] : [false]) {
    const m = bigMessage(`${target.mta}-big`);
    const started = Date.now();
    const sent = await send(target, [m], { chunking });
    await verify(target, [m], sent, `10 MB body over ${chunking ? 'BDAT' : 'DATA'} (${Date.now() - started} ms)`);
  }
}

async function pipelinedSuite(target: Target, chunkingOffered: boolean, pipeliningOffered: boolean): Promise<void> {
  for (const chunking of chunkingOffered ? [true, false] : [false]) {
    const msgs = pipelinedMessages(`${target.mta}-pipe`, PIPELINED);
    const started = Date.now();
    const sent = await send(target, msgs, { chunking });
    if (sent.client) {
      check(
        target.mta,
        sent.client.capabilities.pipelining === pipeliningOffered,
        `PIPELINING ${pipeliningOffered ? 'offered' : 'not offered'}`,
      );
      const mails = sent.log.filter((e) => e.from === 'client' && e.text.startsWith('MAIL FROM:')).length;
      check(target.mta, mails === PIPELINED, `${PIPELINED} transactions on one connection (${mails} MAIL commands)`);
    }
    await verify(
      target,
      msgs,
      sent,
      `${PIPELINED} messages over one connection, ${chunking ? 'BDAT' : 'DATA'}${pipeliningOffered ? ', pipelined' : ''} (${Date.now() - started} ms)`,
    );
  }
}

async function fuzzSuite(target: Target, chunkingOffered: boolean): Promise<void> {
  const bodies = fuzzBodies(FUZZ_BODIES, SEED);
  for (const chunking of chunkingOffered ? [false, true] : [false]) {
    const msgs = bodies.map((b, i) => textMessage(`${target.mta}-fuzz`, ['bob@example.test'], `fuzz body ${i}`, b));
    const sent = await send(target, msgs, { chunking });
    await verify(target, msgs, sent, `${FUZZ_BODIES} fuzzed bodies (seed ${SEED}) over ${chunking ? 'BDAT' : 'DATA'}`);
  }
}

/** Every delivered copy through dkimpy and mailauth: how many signatures each verified (every
 *  signature of every copy must), with a failure recorded per copy and verifier that did not. */
async function verifyDeliveries(
  target: Target,
  label: string,
  delivered: Buffer[],
  names: string[],
  records: Record<string, string>,
): Promise<{ dkimpy: number; mailauth: number }> {
  const py = verifyWithDkimpy(delivered, records);
  const counts = { dkimpy: 0, mailauth: 0 };
  for (let i = 0; i < delivered.length; i++) {
    const ma = await verifyWithMailauth(delivered[i]!, records);
    for (const [who, v] of [
      ['dkimpy', py[i]!],
      ['mailauth', ma],
    ] as const) {
      if (v.results.length === names.length && v.results.every(Boolean)) counts[who] += names.length;
      else
        bad(
          target.mta,
          `${label}: ${who} on delivery ${i}`,
          `${v.results.map((r, k) => `${names[k]}: ${r}`).join(', ')}\n${v.errors.join('\n')}`,
        );
    }
  }
  return counts;
}

/**
 * DKIM: messages signed by message/dkim.ts with eight signatures each (rsa-sha256 and
 * ed25519-sha256, each with the four canonicalizations), sent, delivered byte for byte, and then
 * verified as delivered (trace header included) by dkimpy and by mailauth.
 */
async function dkimSuite(target: Target, chunkingOffered: boolean): Promise<void> {
  const missing = dkimpyMissing();
  if (missing) {
    bad(target.mta, 'DKIM: dkimpy', missing);
    return;
  }
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const ed = generateKeyPairSync('ed25519');
  const domain = 'client.smtpwire.test';
  const records = { [`rsa._domainkey.${domain}`]: txtRecord(rsa.publicKey), [`ed._domainkey.${domain}`]: txtRecord(ed.publicKey) };
  const canons: DkimCanonicalization[] = ['relaxed/relaxed', 'simple/simple', 'relaxed/simple', 'simple/relaxed'];
  const combos = [
    ['rsa', rsa],
    ['ed', ed],
  ] as const;
  const signer = await createDkimSigner(
    combos.flatMap(([selector, pair]) =>
      canons.map((canonicalization) => ({
        domain,
        selector,
        canonicalization,
        privateKey: pair.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
      })),
    ),
  );
  const names = combos.flatMap(([selector]) => canons.map((c) => `${selector === 'rsa' ? 'rsa-sha256' : 'ed25519-sha256'} ${c}`));
  for (const chunking of chunkingOffered ? [true, false] : [false]) {
    const tag = `${target.mta}-dkim`;
    const plain = [
      ...everydayMessages(tag),
      ...fuzzBodies(20, SEED + 14).map((b, i) => textMessage(tag, ['bob@example.test'], `DKIM fuzz body ${i}`, b)),
      textMessage(tag, ['bob@example.test'], 'trailing white space and empty lines', 'line  \t \r\n\r\n  \r\n\r\n\r\n'),
    ];
    const msgs: Msg[] = [];
    for (const m of plain) {
      const body = await signer.sign(m.body);
      msgs.push({ ...m, body, expected: normalised(body) });
    }
    const over = chunking ? 'BDAT' : 'DATA';
    const sent = await send(target, msgs, { chunking });
    await verify(target, msgs, sent, `DKIM-signed messages over ${over}`);
    const got = await target.collect(msgs.map((m) => m.id));
    const delivered = msgs.flatMap((m) => (got.get(m.id) ?? []).map((d) => d.data));
    if (delivered.length === 0) {
      bad(target.mta, `DKIM over ${over}: nothing delivered`);
      continue;
    }
    const counts = await verifyDeliveries(target, `DKIM over ${over}`, delivered, names, records);
    const total = delivered.length * names.length;
    check(
      target.mta,
      counts.dkimpy === total && counts.mailauth === total,
      `DKIM over ${over}: ${delivered.length} delivered messages x ${names.length} signatures (${names.join(', ')}): dkimpy verified ${counts.dkimpy}/${total}, mailauth ${counts.mailauth}/${total}`,
    );
    await dkimBuilt(target, chunking, signer, names, records);
  }
}

/** nodemailer builds, smtpwire/nodemailer sends (test/interop/nodemailer-suite.ts). */
function nodemailerOn(target: Target): Promise<void> {
  return nodemailerSuite({
    mta: target.mta,
    port: target.port,
    ca: CA,
    user: USER,
    pass: PASS,
    attachPath: CERT,
    collect: (ids) => target.collect(ids),
    strip: (d) => target.strip(d),
    ok: (what, message) => ok(target.mta, what, message),
    bad: (what, detail) => bad(target.mta, what, detail),
  });
}

/**
 * Built messages signed by the client itself (client.send(built, { dkim })): rendered for the
 * server's capabilities, then signed, with a file attachment streamed from disk twice (hash,
 * send). What the MTA delivered must verify with dkimpy and mailauth.
 */
async function dkimBuilt(
  target: Target,
  chunking: boolean,
  signer: Awaited<ReturnType<typeof createDkimSigner>>,
  names: string[],
  records: Record<string, string>,
): Promise<void> {
  const over = chunking ? 'BDAT' : 'DATA';
  const dir = mkdtempSync(join(tmpdir(), 'smtpwire-dkim-built-'));
  const file = join(dir, 'report.bin');
  const octets = Buffer.alloc(256 * 1024);
  for (let i = 0; i < octets.length; i++) octets[i] = (i * 31 + (i >> 8)) & 0xff;
  writeFileSync(file, octets);
  const ids: string[] = [];
  const client = await connect(clientOptions(target, { chunking }, []));
  try {
    for (let i = 0; i < 3; i++) {
      const id = `${target.mta}-dkim-built-${over}-${process.pid}-${i}`;
      const built = buildMessage({
        from: '"Ann Signer" <ann@client.smtpwire.test>',
        to: 'Bob <bob@example.test>',
        subject: `Grüße ${i}: signed   after rendering`,
        text: `Hallo  \n\nline ${i}\t\n\n\n`,
        html: `<p>Grüße <b>${i}</b></p>${'<span>long html line</span>'.repeat(60)}`,
        headers: [
          ['X-Smtpwire-Id', id],
          ['X-Long', Array.from({ length: 30 }, (_, k) => `word${k}`).join(' ')],
        ],
        attachments: [
          { filename: 'report.bin', content: () => fileBody(file) },
          ...(i === 1 ? [{ filename: 'notes.txt', content: async () => new Blob(['notes, read twice\n']).stream() }] : []),
        ],
      });
      const r = await client.send(built, { dkim: signer });
      if (r.outcome !== 'accepted') bad(target.mta, `DKIM built over ${over}: ${id}`, `${r.outcome}: ${r.error?.message ?? ''}`);
      else ids.push(id);
    }
  } finally {
    await client.close();
    rmSync(dir, { recursive: true, force: true });
  }
  const got = await target.collect(ids);
  const delivered = ids.flatMap((id) => (got.get(id) ?? []).map((d) => d.data));
  if (delivered.length !== 3) {
    bad(target.mta, `DKIM built over ${over}: ${delivered.length} of 3 delivered`);
    return;
  }
  const counts = await verifyDeliveries(target, `DKIM built over ${over}`, delivered, names, records);
  const total = delivered.length * names.length;
  check(
    target.mta,
    counts.dkimpy === total && counts.mailauth === total,
    `DKIM built messages signed by client.send (streamed file attachment) over ${over}: dkimpy verified ${counts.dkimpy}/${total}, mailauth ${counts.mailauth}/${total}`,
  );
}

async function negativeSuite(target: Target, strict = false): Promise<void> {
  // Wrong password: EAUTH, no session.
  try {
    const c = await connect({
      host: '127.0.0.1',
      port: target.port,
      tls: 'required-starttls',
      ca: CA,
      auth: { user: USER, pass: 'wrong', mechanism: 'PLAIN' },
    });
    await c.close();
    bad(target.mta, 'wrong password is refused');
  } catch (err) {
    check(target.mta, err instanceof SmtpError && err.code === 'EAUTH', 'wrong password is refused (EAUTH)', String(err));
  }
  // No AUTH before TLS: a client that insists on clear text never sends the credentials.
  try {
    const c = await connect({ host: '127.0.0.1', port: target.port, tls: 'none', auth: { user: USER, pass: PASS } });
    await c.close();
    bad(target.mta, 'AUTH without TLS is not attempted');
  } catch (err) {
    check(target.mta, err instanceof SmtpError && err.code === 'EAUTH', 'AUTH without TLS is not attempted (EAUTH)', String(err));
  }
  if (!strict && target.mta === 'postfix') {
    // Without AUTH, Postfix refuses to relay: what arrived above arrived because AUTH worked.
    const c = await connect({ host: '127.0.0.1', port: target.port, tls: 'required-starttls', ca: CA });
    const r = await c.send({ from: 'sender@client.smtpwire.test', to: 'bob@example.test', body: 'Subject: no auth\r\n\r\nx\r\n' });
    await c.close();
    check(
      target.mta,
      r.outcome === 'rejected' && r.rejected[0]?.reply.code === 554,
      'unauthenticated relay refused (554)',
      `${r.outcome} ${r.error?.message}`,
    );
  }
}

// ---------------------------------------------------------------- Exim

function eximTarget(exim: Exim): Target {
  return {
    mta: 'exim',
    port: exim.port,
    async collect(ids) {
      const until = Date.now() + DELIVERY_TIMEOUT;
      let found = new Map<string, Delivery[]>();
      for (;;) {
        exim.deliver();
        found = new Map();
        for (const d of exim.deliveries()) {
          const id = /^X-Smtpwire-Id: (\S+)\r$/m.exec(d.data.subarray(0, 65536).toString('latin1'))?.[1];
          if (id) found.set(id, [...(found.get(id) ?? []), { ...d, mailParams: '' }]);
        }
        if (ids.every((id) => found.has(id)) || Date.now() > until) break;
        await sleep(200);
      }
      return new Map(ids.flatMap((id) => (found.has(id) ? [[id, found.get(id)!] as const] : [])));
    },
    strip: stripEximHeaders,
  };
}

/**
 * Every recipient of a BDAT transaction refused, with and without PIPELINING: the outcome is
 * the recipients' (550 permanent; 451 among them makes it transient), no body goes without
 * PIPELINING, an RSET follows, and the next message is delivered once, under its own sender.
 */
async function refusedRecipientsSuite(t: Target, exim: Exim): Promise<void> {
  for (const pipelining of [true, false]) {
    const label = `BDAT${pipelining ? ', pipelined' : ', no PIPELINING'}`;
    const msgs = [
      textMessage('exim-refused', ['refuse1@example.test'], 'every recipient refused (550)', 'never delivered\r\n', {
        from: 'first@client.smtpwire.test',
      }),
      textMessage('exim-refused', ['refuse2@example.test', 'later2@example.test'], 'refused 550 and 451', 'never delivered\r\n', {
        from: 'second@client.smtpwire.test',
      }),
      textMessage('exim-refused', ['bob@example.test'], 'after two refused transactions', 'delivered under its own sender\r\n', {
        from: 'third@client.smtpwire.test',
      }),
    ];
    const sent = await send(t, msgs, { plain: true, pipelining });
    const [r1, r2, r3] = sent.results;
    if (!r1 || !r2 || !r3) continue;
    check(
      t.mta,
      r1.outcome === 'rejected' && r1.error?.reply?.code === 550 && r1.error.transient === false,
      `${label}: every recipient refused 550: rejected, permanent, the RCPT reply (not BDAT's 503)`,
      `${r1.outcome} ${r1.error?.message}`,
    );
    check(
      t.mta,
      r2.outcome === 'rejected' && r2.error?.reply?.code === 451 && r2.error.transient === true,
      `${label}: refused 550 and 451: rejected, transient (the 451)`,
      `${r2.outcome} ${r2.error?.message}`,
    );
    const bdats = sent.log.filter((e) => e.from === 'client' && /^BDAT /.test(e.text)).length;
    check(
      t.mta,
      bdats === (pipelining ? 3 : 1),
      `${label}: ${pipelining ? 'BDAT pipelined with the envelopes' : 'no BDAT (no body) for the refused messages'} (${bdats} BDAT)`,
    );
    const clientLines = sent.log.filter((e) => e.from === 'client').map((e) => e.text);
    const mails = clientLines.flatMap((l, i) => (l.startsWith('MAIL FROM:') ? [i] : []));
    check(
      t.mta,
      mails.slice(1).every((i) => clientLines[i - 1] === 'RSET'),
      `${label}: RSET before each MAIL that follows a transaction Exim may hold`,
      clientLines.join(' | '),
    );
    await verify(t, [msgs[2]!], { ...sent, results: [r3] }, `${label}: the message after the refused ones`);
    const all = exim.deliveries();
    const under = all.filter((d) => d.data.includes(msgs[2]!.id)).map((d) => d.from);
    check(
      t.mta,
      under.length === 1 && under[0] === 'third@client.smtpwire.test',
      `${label}: delivered once, under its own envelope sender (Return-path ${JSON.stringify(under)})`,
    );
    check(
      t.mta,
      !all.some((d) => d.data.includes(msgs[0]!.id) || d.data.includes(msgs[1]!.id)),
      `${label}: nothing of the refused messages delivered`,
    );
  }
}

async function eximSuites(t: Target, exim: Exim): Promise<void> {
  await refusedRecipientsSuite(t, exim);
  for (const chunking of [true, false]) {
    const msgs = everydayMessages(`exim-${chunking ? 'bdat' : 'data'}`);
    const sent = await send(t, msgs, { plain: true, chunking });
    if (chunking) check(t.mta, saw(sent.log, /^BDAT \d+ LAST$/), 'CHUNKING (BDAT) used');
    await verify(t, msgs, sent, `everyday messages over ${chunking ? 'BDAT' : 'DATA'}`);
  }
  for (const pipelining of [true, false]) {
    const n = pipelining ? PIPELINED : Math.min(PIPELINED, 100);
    const msgs = pipelinedMessages(`exim-pipe${pipelining ? '' : '-seq'}`, n);
    const started = Date.now();
    const sent = await send(t, msgs, { plain: true, pipelining });
    await verify(
      t,
      msgs,
      sent,
      `${n} messages over one connection, BDAT${pipelining ? ', pipelined' : ', no PIPELINING'} (${Date.now() - started} ms)`,
    );
  }
  const m = bigMessage('exim-big');
  const sent = await send(t, [m], { plain: true });
  await verify(t, [m], sent, '10 MB body over BDAT');
}

// ---------------------------------------------------------------- main

/** Built messages (smtpwire/message) through the target, read back by Python: message-suite.ts. */
async function builtSuite(target: Target, utf8Headers: boolean): Promise<void> {
  const t: SuiteTarget = {
    mta: target.mta,
    clientOptions: clientOptions(target, {}, []),
    collect: (ids) => target.collect(ids),
    strip: (d) => target.strip(d),
    utf8Headers,
  };
  await messageSuite(
    t,
    { ok: (what, message) => ok(target.mta, what, message), bad: (what, detail) => bad(target.mta, what, detail) },
    BUILT,
    SEED,
  );
}

async function main(): Promise<number> {
  const base = process.env.SMTPWIRE_INTEROP_DIR ?? mkdtempSync(join(tmpdir(), 'smtpwire-interop-'));
  mkdirSync(base, { recursive: true });
  chmodSync(base, 0o755);
  console.log(`interop: work dir ${base}`);
  const capture = new Capture();
  let postfix: PostfixInstance | undefined;
  let aio: Aiosmtpd | undefined;
  let exim: Exim | undefined;
  const stopAll = async () => {
    postfix?.stop();
    postfix = undefined;
    await aio?.stop();
    aio = undefined;
    await exim?.stop();
    exim = undefined;
  };
  const onSignal = (sig: NodeJS.Signals) => {
    postfix?.stop();
    aio?.proc.kill('SIGKILL');
    void exim?.stop();
    console.log(`interop: stopped by ${sig}`);
    process.exit(130);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const started = Date.now();
  try {
    await capture.start();

    // SMTPWIRE_INTEROP_ONLY=exim (say) runs one MTA's section, for working on it.
    const only = process.env.SMTPWIRE_INTEROP_ONLY;
    const want = (mta: string): boolean => !only || only === mta;
    if (want('postfix')) console.log('\n== postfix');
    try {
      if (want('postfix')) postfix = await startPostfix(base, capture.port);
    } catch (err) {
      bad('postfix', 'start', err instanceof Error ? err.message : String(err));
    }
    if (postfix) {
      const pf = postfixTarget('postfix', postfix.port, capture);
      try {
        await negativeSuite(pf);
        await everydaySuite(pf, true, true, true);
        await bigSuite(pf, true);
        await pipelinedSuite(pf, true, true);
        await fuzzSuite(pf, true);
        await dkimSuite(pf, true);
        await builtSuite(pf, true);
        await nodemailerOn(pf);
        console.log('\n== postfix-strict (smtpd_forbid_bare_newline = reject, strict envelopes and MIME)');
        const strict = postfixTarget('postfix-strict', postfix.strictPort, capture);
        await negativeSuite(strict, true);
        await fuzzSuite(strict, true);
        await everydaySuite(strict, true, false);
        await builtSuite(strict, false);
      } catch (err) {
        bad('postfix', 'suite crashed', err instanceof Error ? (err.stack ?? err.message) : String(err));
      }
      if (capture.noId.length) bad('postfix', `${capture.noId.length} deliveries without an X-Smtpwire-Id`);
      // The one refusal the suites provoke on purpose is the unauthenticated relay attempt.
      const rejections = tail(postfix.log, 1e9)
        .split('\n')
        .filter((l) => /reject:|bare <LF>|status=(bounced|deferred)|improper command pipelining/.test(l) && !/Relay access denied/.test(l));
      check('postfix', rejections.length === 0, 'no rejection, bounce or deferral in the Postfix log', rejections.slice(0, 10).join('\n'));
    }

    if (want('aiosmtpd')) console.log('\n== aiosmtpd');
    try {
      if (want('aiosmtpd')) aio = await startAiosmtpd(base);
    } catch (err) {
      bad('aiosmtpd', 'start', err instanceof Error ? err.message : String(err));
    }
    if (aio) {
      const t = aiosmtpdTarget(aio);
      try {
        await negativeSuite(t);
        await everydaySuite(t, false);
        await bigSuite(t, false);
        await pipelinedSuite(t, false, false);
        await fuzzSuite(t, false);
        await dkimSuite(t, false);
        await nodemailerOn(t);
      } catch (err) {
        bad('aiosmtpd', 'suite crashed', err instanceof Error ? (err.stack ?? err.message) : String(err));
      }
    }

    if (want('exim')) console.log('\n== exim');
    const eximRoot = process.env.SMTPWIRE_EXIM_ROOT;
    try {
      if (want('exim')) {
        if (!eximRoot) throw new Error('SMTPWIRE_EXIM_ROOT is not set (test/interop/run.sh extracts Exim there)');
        exim = await startExim(base, eximRoot, await freePort(), waitForPort);
      }
    } catch (err) {
      bad('exim', 'start', err instanceof Error ? err.message : String(err));
    }
    if (exim) {
      try {
        await eximSuites(eximTarget(exim), exim);
      } catch (err) {
        bad('exim', 'suite crashed', err instanceof Error ? (err.stack ?? err.message) : String(err));
      }
      const rejected = exim
        .log()
        .split('\n')
        .filter((l) => /rejected|\*\*|==/.test(l) && !/(refuse|later)\d*@example\.test/.test(l));
      check('exim', rejected.length === 0, 'no unexpected rejection, bounce or deferral in the Exim log', rejected.slice(0, 10).join('\n'));
    }
  } finally {
    await stopAll();
    await capture.stop();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    if (!process.env.SMTPWIRE_INTEROP_KEEP && !process.env.SMTPWIRE_INTEROP_DIR) rmSync(base, { recursive: true, force: true });
  }

  for (const [mta, n] of sendsSeen) {
    console.log(
      `  ${mta}: ${n} sends, no reply out of step with its command${enhancedMtas.has(mta) ? " (ENHANCEDSTATUSCODES advertised: every success reply's enhanced code checked)" : ' (no ENHANCEDSTATUSCODES: reply classes checked)'}`,
    );
  }
  console.log(`\ninterop summary (${((Date.now() - started) / 1000).toFixed(1)} s):`);
  for (const [mta, r] of tally) {
    console.log(`  ${mta.padEnd(15)} ${r.verified} messages verified byte for byte, ${r.checks} other checks passed, ${r.failed} failed`);
  }
  console.log(`${passed} passed, ${failed} failed`);
  return failed > 0 || passed === 0 ? 1 : 0;
}

if (!existsSync(CERT)) {
  console.error(`missing ${CERT}`);
  process.exit(1);
}
main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err);
    console.log(`${passed} passed, ${failed + 1} failed`);
    process.exit(1);
  },
);

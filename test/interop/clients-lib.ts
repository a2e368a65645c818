// Infrastructure for test/interop/clients.ts: real mail programs delivering through smtpwire (sendmail mode) to a private Postfix on
// 127.0.0.1, which relays every message to a capture server here, where it is compared byte
// for byte with what the program handed to smtpwire:
//
//   git send-email   --sendmail-cmd (through a tee that records its output) and --smtp-server
//                    pointing at the `sendmail` link itself
//   s-nail, bsd-mailx  mail(1) with -s, their mta/sendmail set to smtpwire
//   php mail()       sendmail_path = "smtpwire -t -i", with a Bcc
//   msmtp's examples /usr/share/doc/msmtp/examples/msmtprc-{user,system}.example, unchanged:
//                    TLS (STARTTLS on "587", implicit on "465"), AUTH with passwordeval gpg2,
//                    account inheritance, from %U@..., allow_from_override off, set_from_header on
//   the spool        sendmail --queue while the server is down, then smtpwire queue flush
//   msmtp --pretend  the settings smtpwire resolves from each example account (and a richer
//                    file) must equal the ones msmtp itself prints
//
// The example files name hosts under .example; SMTPWIRE_TEST_CONNECT_MAP (honoured for .example
// names only) connects those to Postfix's ports, and a test CA (NODE_EXTRA_CA_CERTS) signs a
// certificate for those names, so TLS is verified as in real use.
// Run by test/interop/clients.sh (installs the packages first); needs root for Postfix.
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import { join } from 'node:path';
import { SMTPServer } from 'smtp-server';
import { freePort, POSTFIX_SERVICES, postfixIds, waitForPort } from './postfix.ts';

const CLI = new URL('../../bin/smtpwire-cli.cjs', import.meta.url).pathname;
const EXAMPLES = '/usr/share/doc/msmtp/examples';
const REALM = 'smtpwire.test';
const USERS: Record<string, string> = { 'joe.smith': 'Joe-Gpg-S3cret', company12345: 'Company-S3cret' };
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

let passed = 0;
let failed = 0;
function check(cond: boolean, what: string, detail = ''): boolean {
  if (cond) {
    passed++;
    console.log(`  ok   ${what}`);
  } else {
    failed++;
    console.log(`  FAIL ${what}${detail ? `\n       ${detail.replace(/\n/g, '\n       ')}` : ''}`);
  }
  return cond;
}

function run(
  cmd: string,
  args: string[],
  opts: { input?: string; env?: NodeJS.ProcessEnv; cwd?: string } = {},
): { status: number | null; out: string; stdout: string } {
  const r = spawnSync(cmd, args, { input: opts.input, encoding: 'utf8', env: opts.env ?? process.env, cwd: opts.cwd, timeout: 120_000 });
  return { status: r.status, stdout: r.stdout ?? '', out: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? String(r.error) : ''}` };
}

// ---------------------------------------------------------------- capture server

interface Delivery {
  from: string;
  to: string[];
  data: Buffer;
}

async function startCapture(): Promise<{ port: number; got: Delivery[]; stop(): Promise<void> }> {
  const got: Delivery[] = [];
  const server = new SMTPServer({
    logger: false,
    disableReverseLookup: true,
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    size: 50 << 20,
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const env = session.envelope as unknown as { mailFrom: { address: string }; rcptTo: { address: string }[] };
        got.push({ from: env.mailFrom.address, to: env.rcptTo.map((r) => r.address), data: Buffer.concat(chunks) });
        cb();
      });
    },
  });
  server.on('error', () => {});
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: (server.server.address() as net.AddressInfo).port, got, stop: () => new Promise((r) => server.close(() => r())) };
}

// ---------------------------------------------------------------- certificates and Postfix

const NAMES = ['mail.oursite.example', 'smtp.freemail.example', 'mail.company.example'];

function makeCerts(dir: string): { ca: string; cert: string; key: string } {
  const ca = join(dir, 'ca.pem');
  const caKey = join(dir, 'ca.key');
  const key = join(dir, 'server.key');
  const csr = join(dir, 'server.csr');
  const cert = join(dir, 'server.pem');
  const ext = join(dir, 'san.ext');
  writeFileSync(
    ext,
    `subjectAltName=${NAMES.map((n) => `DNS:${n}`).join(',')},IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n`,
  );
  const steps: string[][] = [
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      caKey,
      '-out',
      ca,
      '-days',
      '2',
      '-subj',
      '/CN=smtpwire clients test CA',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ],
    ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', csr, '-subj', `/CN=${NAMES[0]}`],
    ['x509', '-req', '-in', csr, '-CA', ca, '-CAkey', caKey, '-CAcreateserial', '-out', cert, '-days', '2', '-extfile', ext],
  ];
  for (const s of steps) {
    const r = run('openssl', s);
    if (r.status !== 0) throw new Error(`openssl ${s[0]} failed: ${r.out}`);
  }
  chmodSync(key, 0o600);
  return { ca, cert, key };
}

async function startPostfix(
  base: string,
  capturePort: number,
  certs: { cert: string; key: string },
): Promise<{ submission: number; smtps: number; log: string; stop(): void }> {
  const dir = join(base, 'postfix');
  const conf = join(dir, 'conf');
  const sasl = join(conf, 'sasl');
  const data = join(dir, 'data');
  const log = join(dir, 'maillog');
  for (const d of [dir, conf, join(dir, 'queue'), data, sasl]) mkdirSync(d, { recursive: true });
  chmodSync(dir, 0o755);
  const { uid, gid } = postfixIds();
  chownSync(data, uid, gid);
  const cert = join(conf, 'server.pem');
  const key = join(conf, 'server.key');
  copyFileSync(certs.cert, cert);
  copyFileSync(certs.key, key);
  chmodSync(key, 0o600);
  const sasldb = join(sasl, 'sasldb2');
  writeFileSync(
    join(sasl, 'smtpd.conf'),
    `pwcheck_method: auxprop\nauxprop_plugin: sasldb\nmech_list: PLAIN LOGIN CRAM-MD5\nsasldb_path: ${sasldb}\n`,
  );
  for (const [user, pass] of Object.entries(USERS)) {
    const r = run('saslpasswd2', ['-p', '-c', '-f', sasldb, '-u', REALM, user], { input: pass });
    if (r.status !== 0) throw new Error(`saslpasswd2: ${r.out}`);
  }
  chownSync(sasldb, uid, gid);
  chmodSync(sasldb, 0o640);
  const submission = await freePort();
  const smtps = await freePort();
  writeFileSync(
    join(conf, 'main.cf'),
    `compatibility_level = 3.6
queue_directory = ${join(dir, 'queue')}
data_directory = ${data}
mail_owner = postfix
setgid_group = postdrop
myhostname = mx.smtpwire.test
mydestination =
local_recipient_maps =
relay_domains =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
maillog_file = ${log}
maillog_file_prefixes = ${dir}
biff = no
append_dot_mydomain = no
in_flow_delay = 0
smtputf8_enable = yes
default_transport = smtp:[127.0.0.1]:${capturePort}
relay_transport = smtp:[127.0.0.1]:${capturePort}
relayhost =
smtp_dns_support_level = disabled
smtp_tls_security_level = none
disable_mime_output_conversion = yes
local_header_rewrite_clients =
remote_header_rewrite_domain =
always_add_missing_headers = no
smtpd_peername_lookup = no
smtpd_tls_cert_file = ${cert}
smtpd_tls_key_file = ${key}
smtpd_tls_security_level = may
smtpd_tls_auth_only = yes
smtpd_tls_received_header = yes
smtpd_sasl_auth_enable = yes
smtpd_sasl_type = cyrus
smtpd_sasl_path = smtpd
cyrus_sasl_config_path = ${sasl}
smtpd_sasl_local_domain = ${REALM}
smtpd_sasl_security_options = noanonymous
smtpd_sasl_authenticated_header = yes
smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination
`,
  );
  writeFileSync(
    join(conf, 'master.cf'),
    `127.0.0.1:${submission} inet n - n - - smtpd
127.0.0.1:${smtps} inet n - n - - smtpd -o smtpd_tls_wrappermode=yes -o syslog_name=postfix-smtps
${POSTFIX_SERVICES}`,
  );
  const checked = run('postfix', ['-c', conf, 'check']);
  if (checked.status !== 0) throw new Error(`postfix check: ${checked.out}`);
  const started = run('postfix', ['-c', conf, 'start']);
  const stop = (): void => void run('postfix', ['-c', conf, 'stop']);
  if (started.status !== 0 || !(await waitForPort(submission, 20_000)) || !(await waitForPort(smtps, 20_000))) {
    stop();
    throw new Error(`postfix did not start: ${started.out}`);
  }
  return { submission, smtps, log, stop };
}

// ---------------------------------------------------------------- byte-for-byte verification

const crlf = (s: string | Buffer): string => (typeof s === 'string' ? s : s.toString('latin1')).replace(/\r?\n/g, '\r\n');

/** Header fields of a message (raw, with folding), and its body. */
function splitMessage(text: string): { fields: string[]; rest: string } {
  const end = text.indexOf('\r\n\r\n');
  const head = end < 0 ? text : text.slice(0, end + 2);
  const fields = head.match(/[^\r\n][^\r\n]*\r\n(?:[ \t][^\r\n]*\r\n)*/g) ?? [];
  return { fields, rest: end < 0 ? '' : text.slice(end + 2) };
}

interface Expect {
  from: string;
  to: string[];
  /** What the program handed to smtpwire. */
  input: string;
  /** set_from_header on: this From value replaces any. */
  forceFrom?: string;
  /** Received: must say this (ESMTPSA: TLS + AUTH, ESMTPS: TLS). */
  with: RegExp;
}

/**
 * The delivered message (Postfix's Received: stripped) must be the input with CRLF line ends,
 * Bcc removed, and From, Date, Message-ID prepended only where the input had none.
 */
function verify(label: string, d: Delivery | undefined, e: Expect): void {
  if (!check(d !== undefined, `${label}: delivered`)) return;
  const got = d!.data.toString('latin1');
  const problems: string[] = [];
  if (d!.from !== e.from) problems.push(`MAIL FROM ${d!.from} != ${e.from}`);
  if (JSON.stringify([...d!.to].sort()) !== JSON.stringify([...e.to].sort()))
    problems.push(`RCPT ${JSON.stringify(d!.to)} != ${JSON.stringify(e.to)}`);
  const { fields } = splitMessage(got);
  const received = fields[0] ?? '';
  if (!received.startsWith('Received:')) problems.push('no Received: header from Postfix on top');
  if (!e.with.test(received)) problems.push(`Received: does not match ${e.with}: ${received}`);
  const body = got.slice(received.length);
  const input = splitMessage(crlf(e.input));
  const has = (n: string): boolean => input.fields.some((f) => f.toLowerCase().startsWith(`${n}:`));
  let kept = input.fields.filter((f) => !/^bcc:/i.test(f));
  const added: RegExp[] = [];
  if (e.forceFrom !== undefined) {
    kept = kept.filter((f) => !/^from:/i.test(f));
    added.push(new RegExp(`^From: ${e.forceFrom.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\r\n`));
  } else if (!has('from')) added.push(/^From: \S[^\r\n]*\r\n/);
  if (!has('date'))
    added.push(
      /^Date: (Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d\d:\d\d:\d\d \+0000\r\n/,
    );
  if (!has('message-id')) added.push(/^Message-ID: <[^<>@\s]+@[^<>@\s]+>\r\n/);
  let at = 0;
  for (const re of added) {
    const m = re.exec(body.slice(at));
    if (!m) {
      problems.push(`expected a header matching ${re} at offset ${at}: ${JSON.stringify(body.slice(at, at + 80))}`);
      break;
    }
    at += m[0].length;
  }
  const expected = kept.join('') + (input.rest === '' && !crlf(e.input).includes('\r\n\r\n') ? '' : input.rest);
  const rest = body.slice(at);
  if (rest !== expected) {
    let i = 0;
    while (i < rest.length && rest[i] === expected[i]) i++;
    problems.push(
      `differs at ${i}: got ${JSON.stringify(rest.slice(Math.max(0, i - 30), i + 50))}, expected ${JSON.stringify(expected.slice(Math.max(0, i - 30), i + 50))}`,
    );
  }
  check(
    problems.length === 0,
    `${label}: byte for byte (${d!.data.length} octets), envelope ${e.from} -> ${e.to.join(',')}`,
    problems.join('\n'),
  );
}

async function waitFor(got: Delivery[], marker: string, ms = 60_000): Promise<Delivery | undefined> {
  for (const until = Date.now() + ms; Date.now() < until; await sleep(100)) {
    const d = got.find((x) => x.data.includes(marker));
    if (d) return d;
  }
  return undefined;
}

async function waitForAll(got: Delivery[], marker: string, n: number, ms = 60_000): Promise<Delivery[]> {
  for (const until = Date.now() + ms; Date.now() < until; await sleep(100)) {
    if (got.filter((x) => x.data.includes(marker)).length >= n) break;
  }
  return got.filter((x) => x.data.includes(marker));
}

export { check, run, verify, waitFor, waitForAll, crlf, freePort, startCapture, startPostfix, makeCerts, USERS, CLI, EXAMPLES, REALM };
export type { Delivery, Expect };
export const tally = (): { passed: number; failed: number } => ({ passed, failed });

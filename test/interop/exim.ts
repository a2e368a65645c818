// A private Exim for the interop suite, from Debian's exim4-daemon-light package extracted with
// `dpkg -x` (run.sh does that; Exim cannot be installed next to Postfix). Nothing of it touches
// the system: the configuration, spool, logs and mailboxes live in a temp dir; the Exim user
// ("Debian-exim", compiled into the binary) exists only in a passwd file that nss_wrapper (also
// extracted) shows to Exim. The daemon listens on a free 127.0.0.1 port and only queues;
// deliver() runs the queue (as root, which may use -C), writing one file per recipient.
//
// Recipients: local part "refuse..." gets 550, "later..." 451, anything else at the local
// domains is accepted. PIPELINING and CHUNKING are advertised (Exim's defaults), TLS is not.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** The uid/gid the passwd file gives Debian-exim (any unused number works: nothing resolves it
 *  but Exim, through nss_wrapper). */
const EXIM_ID = 64901;

export interface EximDelivery {
  /** Return-path: the envelope sender the message was delivered under. */
  from: string;
  /** Envelope-to: the recipient of this copy. */
  to: string[];
  /** The whole file, CRLF line endings (use_crlf). */
  data: Buffer;
}

export interface Exim {
  port: number;
  /** Run the queue now; resolves when Exim has delivered what it can. */
  deliver(): void;
  /** Every delivered file, parsed. */
  deliveries(): EximDelivery[];
  log(): string;
  stop(): Promise<void>;
}

function config(dir: string, root: string, port: number): string {
  return `
exim_path = ${root}/usr/sbin/exim4
spool_directory = ${dir}/spool
log_file_path = ${dir}/log/%slog
pid_file_path = ${dir}/exim.pid
primary_hostname = exim.smtpwire.test
qualify_domain = exim.smtpwire.test
domainlist local_domains = example.test : exim.smtpwire.test
local_interfaces = 127.0.0.1
daemon_smtp_ports = ${port}
exim_user = Debian-exim
exim_group = Debian-exim
never_users =
keep_environment =
host_lookup =
rfc1413_hosts =
tls_advertise_hosts =
chunking_advertise_hosts = *
pipelining_advertise_hosts = *
queue_only = true
message_size_limit = 64M
smtp_accept_max = 50
smtp_accept_max_per_connection = 0
recipients_max = 0
acl_smtp_rcpt = check_rcpt

begin acl
check_rcpt:
  deny    local_parts = ^refuse
          message = 5.1.1 no such user here
  defer   local_parts = ^later
          message = 4.2.1 try again later
  accept  domains = +local_domains

begin routers
local:
  driver = accept
  domains = +local_domains
  transport = capture

begin transports
capture:
  driver = appendfile
  directory = ${dir}/mail
  create_directory = true
  return_path_add = true
  envelope_to_add = true
  delivery_date_add = false
  use_crlf = true
  user = Debian-exim
  group = Debian-exim
  mode = 0644
`;
}

/** Start Exim from `root` (a `dpkg -x` of exim4-daemon-light, exim4-base, exim4-config and
 *  libnss-wrapper) with its files under `base`/exim. */
export async function startExim(
  base: string,
  root: string,
  port: number,
  waitForPort: (port: number, ms: number) => Promise<boolean>,
): Promise<Exim> {
  const binary = join(root, 'usr/sbin/exim4');
  // usr/lib/<multiarch triplet>/libnss_wrapper.so, whatever the machine's architecture.
  const lib = join(root, 'usr/lib');
  const arch = existsSync(lib) ? readdirSync(lib).find((d) => existsSync(join(lib, d, 'libnss_wrapper.so'))) : undefined;
  const wrapper = join(lib, arch ?? '<arch>', 'libnss_wrapper.so');
  for (const f of [binary, wrapper]) if (!existsSync(f)) throw new Error(`missing ${f} (test/interop/run.sh extracts it)`);
  const dir = join(base, 'exim');
  for (const d of ['', 'spool', 'log', 'mail']) mkdirSync(join(dir, d), { recursive: true });
  for (const d of ['spool', 'log', 'mail']) chownSync(join(dir, d), EXIM_ID, EXIM_ID);
  writeFileSync(
    join(dir, 'passwd'),
    `root:x:0:0:root:/root:/bin/sh\nDebian-exim:x:${EXIM_ID}:${EXIM_ID}:Exim:/nonexistent:/usr/sbin/nologin\n`,
  );
  writeFileSync(join(dir, 'group'), `root:x:0:\nDebian-exim:x:${EXIM_ID}:\n`);
  const conf = join(dir, 'exim.conf');
  writeFileSync(conf, config(dir, root, port));
  const env = { ...process.env, LD_PRELOAD: wrapper, NSS_WRAPPER_PASSWD: join(dir, 'passwd'), NSS_WRAPPER_GROUP: join(dir, 'group') };
  // -bdf: the daemon stays in the foreground, so it is our child and stops with us.
  const proc: ChildProcess = spawn(binary, ['-C', conf, '-bdf'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let errText = '';
  proc.stderr!.on('data', (b: Buffer) => (errText = (errText + b.toString()).slice(-4000)));
  const log = (): string => {
    try {
      return readFileSync(join(dir, 'log/mainlog'), 'utf8');
    } catch {
      return '';
    }
  };
  if (!(await waitForPort(port, 20_000))) {
    proc.kill('SIGKILL');
    throw new Error(`Exim did not listen on ${port}: ${errText}\n${log()}\n${readPanic(dir)}`);
  }
  return {
    port,
    deliver() {
      const r = spawnSync(binary, ['-C', conf, '-qff'], { env, encoding: 'utf8', timeout: 120_000 });
      if (r.status !== 0) throw new Error(`exim -qff exited ${r.status}: ${r.stderr}`);
    },
    deliveries() {
      const out: EximDelivery[] = [];
      const mail = join(dir, 'mail');
      for (const f of readdirSync(mail).sort()) {
        const data = readFileSync(join(mail, f));
        const head = data.subarray(0, 4096).toString('utf8'); // SMTPUTF8 addresses
        const from = /^Return-path: <([^>]*)>\r$/m.exec(head)?.[1] ?? '';
        const to = (/^Envelope-to: (.*)\r$/m.exec(head)?.[1] ?? '')
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean);
        out.push({ from, to, data });
      }
      return out;
    },
    log,
    async stop() {
      if (proc.exitCode !== null) return;
      proc.kill('SIGTERM');
      await Promise.race([new Promise((r) => proc.once('exit', r)), new Promise((r) => setTimeout(r, 5000))]);
      if (proc.exitCode === null) proc.kill('SIGKILL');
    },
  };
}

function readPanic(dir: string): string {
  try {
    return readFileSync(join(dir, 'log/paniclog'), 'utf8');
  } catch {
    return '';
  }
}

/** The delivered file less what Exim adds in front: Return-path, Envelope-to and its Received
 *  header (folded over several lines). */
export function stripEximHeaders(data: Buffer): Buffer {
  const text = data.subarray(0, Math.min(data.length, 8192)).toString('latin1');
  let at = 0;
  for (;;) {
    const m = /^(Return-path|Envelope-to|Received):/.exec(text.slice(at));
    if (!m) break;
    at = text.indexOf('\r\n', at) + 2;
    while (text[at] === ' ' || text[at] === '\t') at = text.indexOf('\r\n', at) + 2;
  }
  return data.subarray(at);
}

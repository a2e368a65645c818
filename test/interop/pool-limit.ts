// The pool against Postfix's per-client connection limit (issue 12 item 8): a private Postfix
// instance whose smtpd allows 3 connections per client at once (anvil's
// smtpd_client_connection_count_limit, applied to 127.0.0.1 too) and discards what it accepts.
// A pool with maxConnections 3 that retires sessions after 3 messages must never be refused
// for a fourth connection ("421 4.7.0 Error: too many connections"), in the client's results
// or in Postfix's log. Postfix counts a connection until its smtpd has disconnected, so this is
// a check against an independent count, not ours.
//
// Run by test/interop/run.sh after interop.js (root: Postfix's master binds, then drops to the
// postfix user). Prints "N passed, N failed".
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, chmodSync, chownSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPool } from '../../transports/node.ts';
import { freePort, postfixIds, waitForPort } from './postfix.ts';

const LIMIT = 3;
const ROUNDS = 3;
const MESSAGES = 60;

let passed = 0;
let failed = 0;
function check(cond: boolean, what: string, detail = ''): void {
  if (cond) passed++;
  else failed++;
  console.log(`  ${cond ? 'ok  ' : 'FAIL'} ${what}${!cond && detail ? `\n${detail}` : ''}`);
}

function run(cmd: string, args: string[]): { status: number | null; out: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return { status: r.status, out: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}

const SERVICES = `
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
discard   unix  -       -       n       -       -       discard
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
proxymap  unix  -       -       n       -       -       proxymap
anvil     unix  -       -       n       -       1       anvil
postlog   unix-dgram n  -       n       -       1       postlogd
`;

async function main(): Promise<number> {
  const dir = mkdtempSync(join(process.env.SMTPWIRE_INTEROP_DIR ?? tmpdir(), 'pool-limit-'));
  chmodSync(dir, 0o755);
  const conf = join(dir, 'conf');
  const queue = join(dir, 'queue');
  const data = join(dir, 'data');
  const log = join(dir, 'maillog');
  for (const d of [conf, queue, data]) mkdirSync(d, { recursive: true });
  const { uid, gid } = postfixIds();
  chownSync(data, uid, gid);
  const port = await freePort();
  writeFileSync(
    join(conf, 'main.cf'),
    `# smtpwire pool-limit interop: private Postfix instance
compatibility_level = 3.6
queue_directory = ${queue}
data_directory = ${data}
mail_owner = postfix
setgid_group = postdrop
myhostname = limit.smtpwire.test
mydestination =
local_recipient_maps =
relay_domains = example.test
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.2/32
maillog_file = ${log}
maillog_file_prefixes = ${dir}
in_flow_delay = 0
smtpd_peername_lookup = no
# Accept mail for example.test, keep nothing.
default_transport = discard:
relay_transport = discard:
smtpd_relay_restrictions = reject_unauth_destination
smtpd_recipient_restrictions =
# At most ${LIMIT} connections from one client at once, for 127.0.0.1 too (the default
# exceptions are $mynetworks; emptied so nothing is exempt).
smtpd_client_connection_count_limit = ${LIMIT}
smtpd_client_event_limit_exceptions =
`,
  );
  writeFileSync(join(conf, 'master.cf'), `127.0.0.1:${port} inet n - n - - smtpd\n${SERVICES}`);
  const checked = run('postfix', ['-c', conf, 'check']);
  if (checked.status !== 0) throw new Error(`postfix check failed: ${checked.out}`);
  const started = run('postfix', ['-c', conf, 'start']);
  const stop = () => run('postfix', ['-c', conf, 'stop']);
  // Killed from outside (a timeout, Ctrl-C): stop our Postfix first.
  for (const sig of ['SIGINT', 'SIGTERM'] as const)
    process.once(sig, () => {
      stop();
      process.exit(130);
    });
  try {
    if (started.status !== 0 || !(await waitForPort(port, 20_000))) throw new Error(`postfix did not start: ${started.out}`);
    console.log(
      `== postfix ${run('postconf', ['-c', conf, '-h', 'mail_version']).out.trim()}: smtpd_client_connection_count_limit = ${LIMIT}`,
    );
    let connections = 0;
    const refusedConnects: string[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const pool = createPool({
        host: '127.0.0.1',
        port,
        tls: 'none',
        maxConnections: LIMIT,
        maxMessagesPerConnection: 3,
        retries: 0,
        timeouts: { greeting: 10_000, connect: 10_000 },
        observe: {
          connectionOpened: () => connections++,
          connectionClosed: (e) => {
            if (!e.opened) refusedConnects.push(e.error?.message ?? 'no error');
          },
        },
      });
      const results = await Promise.all(
        Array.from({ length: MESSAGES }, (_, i) =>
          pool.send({
            from: 'pool@client.smtpwire.test',
            to: `rcpt${i}@example.test`,
            body: `Subject: round ${round} message ${i}\r\n\r\nhello\r\n`,
          }),
        ),
      );
      await pool.close();
      const notAccepted = results.filter((r) => r.outcome !== 'accepted');
      check(
        notAccepted.length === 0,
        `round ${round + 1}: ${MESSAGES} messages accepted over sessions retired every 3 messages`,
        notAccepted
          .slice(0, 5)
          .map((r) => `${r.outcome}: ${r.error?.message}`)
          .join('\n'),
      );
    }
    check(connections >= ROUNDS * (MESSAGES / 3), `${connections} sessions opened (one per 3 messages)`);
    check(refusedConnects.length === 0, 'no connection attempt was refused', refusedConnects.slice(0, 5).join('\n'));
    await new Promise((r) => setTimeout(r, 500)); // let postlogd write
    const logText = readFileSync(log, 'utf8');
    const refused = logText.split('\n').filter((l) => /too many connections|Connection concurrency limit exceeded/i.test(l));
    check(refused.length === 0, 'Postfix never refused a connection for going over the limit', refused.slice(0, 5).join('\n'));
    const limitSeen = /smtpd_client_connection_count_limit/.test(run('postconf', ['-c', conf, '-n']).out);
    check(limitSeen, 'the limit is in the running configuration');
  } finally {
    stop();
    if (!process.env.SMTPWIRE_INTEROP_KEEP) rmSync(dir, { recursive: true, force: true });
  }
  console.log(`${passed} passed, ${failed} failed`);
  return failed > 0 || passed === 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err);
    console.log(`${passed} passed, ${failed + 1} failed`);
    process.exit(1);
  },
);

// `npm run demo`: the whole library in one run, with nothing to set up. A real SMTP server
// (smtp-server, a dev dependency) runs in this process with STARTTLS and AUTH; the client
// connects to it, requires TLS, authenticates, sends one composed message and quits. We print
// the transcript, the result and the message exactly as the server received it.
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import type { SMTPServer as SMTPServerType } from 'smtp-server';
import { printable } from '../core/text.ts';
import { sendMail, type LogEntry } from '../transports/node.ts';

const HARD_TIMEOUT = 10_000; // the demo takes well under a second; never hang a first impression
const USER = 'demo';
const PASSWORD = 'demo-password';

// dist/bin/demo.js -> the repository's test fixtures.
const fixture = (name: string): string => readFileSync(new URL(`../../test/fixtures/${name}`, import.meta.url), 'utf8');

function section(title: string): void {
  process.stdout.write(`\n-- ${title} ${'-'.repeat(Math.max(0, 66 - title.length))}\n`);
}

/** smtp-server is a dev dependency: say so plainly when it is missing. */
async function loadServer(): Promise<typeof SMTPServerType> {
  try {
    return (await import('smtp-server')).SMTPServer;
  } catch {
    throw new Error('the demo needs the dev dependencies: run `npm install` in the smtpwire repository');
  }
}

async function main(): Promise<number> {
  const SMTPServer = await loadServer();
  const key = fixture('server.key');
  const cert = fixture('server.crt');
  const received: Buffer[] = [];

  const server = new SMTPServer({
    name: 'demo.localhost',
    banner: 'smtpwire demo server',
    key,
    cert, // offered through STARTTLS
    authMethods: ['PLAIN', 'LOGIN'],
    logger: false,
    disableReverseLookup: true,
    closeTimeout: 1_000,
    onAuth(auth, _session, callback) {
      if (auth.username === USER && auth.password === PASSWORD) callback(null, { user: USER });
      else callback(new Error('Invalid username or password'));
    },
    onData(stream, _session, callback) {
      stream.on('data', (chunk: Buffer) => received.push(chunk));
      stream.on('end', () => callback());
    },
  });
  server.on('error', (err) => process.stderr.write(`demo: server error: ${err.message}\n`));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.server.address() as AddressInfo;

  try {
    process.stdout.write('smtpwire demo\n');
    process.stdout.write(`smtp-server listening on 127.0.0.1:${port} (STARTTLS with the test certificate, AUTH PLAIN/LOGIN)\n`);

    section('transcript (C: client, S: server, *: notes; secrets redacted)');
    const log = (entry: LogEntry): void => {
      const tag = entry.from === 'client' ? 'C:' : entry.from === 'server' ? 'S:' : '* ';
      process.stdout.write(`${tag} ${printable(entry.text)}\n`);
    };
    const result = await sendMail({
      host: '127.0.0.1',
      port,
      tls: 'required-starttls', // no TLS, no mail: a downgrade fails instead of sending in clear
      servername: 'localhost', // the name in the test certificate
      ca: cert, // trust the self-signed test certificate, and only it
      auth: { user: USER, pass: PASSWORD },
      name: 'client.localhost',
      timeouts: { connect: 5_000 },
      logger: log,
      from: 'alice@example.com',
      to: ['bob@example.com'],
      subject: 'Hello from smtpwire',
      text: 'Hi Bob,\n\nThis message went over STARTTLS with AUTH, sent by smtpwire.\nGrüße aus dem Demo!\n',
      priority: 'high',
    });

    section('result');
    const summary = {
      outcome: result.outcome,
      accepted: result.accepted.map((r) => `${r.address}: ${r.reply.code} ${r.reply.lines.join(' ')}`),
      rejected: result.rejected.map((r) => `${r.address}: ${r.reply.code} ${r.reply.lines.join(' ')}`),
      reply: result.reply ? `${result.reply.code} ${result.reply.lines.join(' ')}` : null,
      error: result.error ? { code: result.error.code, message: result.error.message, transient: result.error.transient } : null,
    };
    process.stdout.write(JSON.stringify(summary, null, 2) + '\n');

    const message = Buffer.concat(received);
    section(`message as the server received it (${message.length} octets)`);
    const lines = message.toString('utf8').split('\r\n');
    if (lines[lines.length - 1] === '') lines.pop(); // the final CRLF ends a line, it does not start one
    for (const line of lines) process.stdout.write(`${printable(line)}\n`);

    if (result.outcome !== 'accepted') {
      process.stderr.write(`demo: the message was not accepted: ${result.error?.message ?? result.outcome}\n`);
      return 1;
    }
    if (message.length === 0) {
      process.stderr.write('demo: the server received no message\n');
      return 1;
    }
    process.stdout.write('\ndemo: done\n');
    return 0;
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

// `npm run demo | head` closes stdout early: that is the reader's choice, not a failure.
process.stdout.on('error', () => {});

const watchdog = setTimeout(() => {
  process.stderr.write(`demo: timed out after ${HARD_TIMEOUT} ms\n`);
  process.exit(1);
}, HARD_TIMEOUT);

main().then(
  (code) => {
    clearTimeout(watchdog);
    process.exit(code);
  },
  (err: unknown) => {
    clearTimeout(watchdog);
    process.stderr.write(`demo: failed: ${printable(err instanceof Error ? err.message : String(err))}\n`);
    process.exit(1);
  },
);

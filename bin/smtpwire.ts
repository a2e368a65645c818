#!/usr/bin/env node
// smtpwire: send one message from the command line. A thin shell around the client: it turns
// flags into client options, stdin into a streamed body, and the result into an exit status
// (bin/exit-codes.ts). Every protocol decision stays in the client and the core.
import { fstatSync, read, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { formatPath } from '../core/address.ts';
import { composeMessage } from '../core/compose.ts';
import { SmtpError, SmtpUsageError } from '../core/errors.ts';
import { describeReply, type Reply } from '../core/reply.ts';
import { printable } from '../core/text.ts';
import { connect, type ClientOptions, type LogEntry, type PullIntoSource, type SendResult, type TlsMode } from '../transports/node.ts';
import { makeFileBody } from '../transports/file-source.ts';
import { EXIT, exitCodeFor, isResult, type ExitCode } from './exit-codes.ts';
import { parseArgsOptions, usageLines, type SendPlan } from './options.ts';
import { OverallTimeoutError, timeoutModule } from './timeout-options.ts';

const USAGE = `usage: smtpwire send [--server URL] --from ADDR [--to ADDR]... [RECIPIENT...] < message.eml

  --server URL        smtp://host[:port]          STARTTLS when offered (port 25; default smtp://localhost)
                      smtp+starttls://host[:port] STARTTLS required (587)
                      smtps://host[:port]         implicit TLS (465)
                      smtp+plain://host[:port]    never TLS (25)
                      lmtp://host[:port]          LMTP (24)
  --from ADDR         envelope sender ('' for the null sender)
  --to ADDR           a recipient (repeatable; bare arguments are recipients too)
  --user NAME         authenticate; the password comes from $SMTPWIRE_PASSWORD or --pass-file
  --pass-file FILE    read the password from the first line of FILE
  --auth MECH         insist on this SASL mechanism (PLAIN, LOGIN, CRAM-MD5, SCRAM-SHA-256, ...)
  --ca FILE           trust the CA certificates (PEM) in FILE instead of the system store
  --insecure          do not check the server certificate (testing only)
  --name NAME         EHLO/LHLO name
  --compose           compose a text/plain message; the text is read from stdin
  --text TEXT         compose a text/plain message with this text
  --subject TEXT      subject of the composed message
  --priority P        low, normal or high (composed message)
  -v, --verbose       print the SMTP transcript on stderr (secrets redacted)
  --json              print the result as JSON on stdout
  -h, --help          show this help

Timeouts, in seconds (fractions allowed; RFC 5321 defaults otherwise):
${usageLines(timeoutModule.options, 'timeouts').join('\n')}

Exit status: 0 accepted for every recipient, 64 usage, 66 unreadable file, 67 a recipient
refused, 69 message refused, 75 temporary failure (retry later), 76 outcome unknown (do not
retry blindly), 77 authentication failed. See docs/cli.md.
`;

const MB = 1 << 20;

interface Plan {
  client: Omit<ClientOptions, 'transport'>;
  from: string;
  to: string[];
  compose: { subject: string; text: string | undefined; priority: 'low' | 'normal' | 'high' } | undefined;
  verbose: boolean;
  json: boolean;
  insecure: boolean;
  deadline?: number;
}

/** A problem with a file named on the command line (EX_NOINPUT, not a usage error). */
class InputFileError extends Error {}

// ---- command line ---------------------------------------------------------------------------

function parseCommandLine(argv: string[]): Plan | 'help' {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        server: { type: 'string' },
        from: { type: 'string' },
        to: { type: 'string', multiple: true },
        user: { type: 'string' },
        'pass-file': { type: 'string' },
        auth: { type: 'string' },
        ca: { type: 'string' },
        insecure: { type: 'boolean' },
        name: { type: 'string' },
        compose: { type: 'boolean' },
        text: { type: 'string' },
        subject: { type: 'string' },
        priority: { type: 'string' },
        verbose: { type: 'boolean', short: 'v' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
        ...parseArgsOptions(timeoutModule.options),
      },
    });
  } catch (err) {
    // parseArgs throws TypeErrors (unknown option, missing value): the user's mistake.
    throw new SmtpUsageError(err instanceof Error ? err.message : String(err));
  }
  const { values: v, positionals } = parsed;
  if (v.help || positionals[0] === 'help') return 'help';
  const [command, ...recipients] = positionals;
  if (command === undefined) throw new SmtpUsageError('no command given (did you mean "smtpwire send"?)');
  if (command !== 'send') throw new SmtpUsageError(`unknown command "${printable(command)}" (the only command is "send")`);

  if (v.from === undefined) throw new SmtpUsageError('--from is required');
  const to = [...(v.to ?? []), ...recipients];
  if (to.length === 0) throw new SmtpUsageError('no recipient: give --to ADDR or a bare address');
  // Check every address now, before a connection is opened for a typo.
  formatPath(v.from);
  for (const a of to) {
    if (a === '') throw new SmtpUsageError('a recipient address is empty');
    formatPath(a);
  }

  const server = parseServerUrl(v.server ?? 'smtp://localhost');
  const client: Omit<ClientOptions, 'transport'> = { ...server };
  if (v.name !== undefined) client.name = v.name;
  if (v.ca !== undefined) client.ca = readInput(v.ca, '--ca');
  if (v.insecure) client.rejectUnauthorized = false;
  if (v['pass-file'] !== undefined && v.user === undefined) throw new SmtpUsageError('--pass-file needs --user');
  if (v.auth !== undefined && v.user === undefined) throw new SmtpUsageError('--auth needs --user');
  if (v.user !== undefined) {
    let pass = process.env.SMTPWIRE_PASSWORD;
    if (v['pass-file'] !== undefined) pass = readInput(v['pass-file'], '--pass-file').split(/\r?\n/, 1)[0]!;
    if (!pass) throw new SmtpUsageError('--user needs a password: set SMTPWIRE_PASSWORD or use --pass-file FILE');
    client.auth = { user: v.user, pass, ...(v.auth !== undefined ? { mechanism: v.auth } : {}) };
  }

  const composing = v.compose === true || v.text !== undefined;
  if (!composing && (v.subject !== undefined || v.priority !== undefined)) {
    throw new SmtpUsageError('--subject and --priority compose a message: add --compose (text on stdin) or --text TEXT');
  }
  if (v.compose && v.text !== undefined) throw new SmtpUsageError('give the text either with --text or on stdin with --compose, not both');
  const priority = v.priority ?? 'normal';
  if (priority !== 'low' && priority !== 'normal' && priority !== 'high') throw new SmtpUsageError('--priority must be low, normal or high');

  const plan: Plan = {
    client, from: v.from, to,
    compose: composing ? { subject: v.subject ?? '', text: v.text, priority } : undefined,
    verbose: v.verbose === true, json: v.json === true, insecure: v.insecure === true,
  };
  timeoutModule.apply!(v, plan as SendPlan);
  return plan;
}

const SCHEMES: Record<string, { tls: TlsMode; port: number; lmtp?: boolean }> = {
  'smtp:': { tls: 'starttls', port: 25 },
  'smtp+starttls:': { tls: 'required-starttls', port: 587 },
  'smtps:': { tls: 'implicit', port: 465 },
  'smtp+plain:': { tls: 'none', port: 25 },
  'lmtp:': { tls: 'starttls', port: 24, lmtp: true },
};

/** The --server URL as client options: host, port, TLS mode, LMTP. */
function parseServerUrl(text: string): Pick<ClientOptions, 'host' | 'port' | 'tls' | 'lmtp'> {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new SmtpUsageError(`--server is not a URL: "${printable(text)}" (try smtp://host:port)`);
  }
  const scheme = SCHEMES[url.protocol];
  if (!scheme) throw new SmtpUsageError(`--server scheme must be smtp, smtp+starttls, smtps, smtp+plain or lmtp, not "${printable(url.protocol.slice(0, -1))}"`);
  // Passwords in URLs end up in shell history and process lists: use --user and the env/file.
  if (url.username || url.password) throw new SmtpUsageError('--server must not hold credentials: use --user with SMTPWIRE_PASSWORD or --pass-file');
  if ((url.pathname !== '' && url.pathname !== '/') || url.search || url.hash) throw new SmtpUsageError(`--server takes only scheme://host[:port]: "${printable(text)}"`);
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1'); // IPv6 literals come bracketed
  if (host === '') throw new SmtpUsageError(`--server has no host: "${printable(text)}"`);
  const port = url.port === '' ? scheme.port : Number(url.port);
  if (!(Number.isInteger(port) && port > 0 && port < 65536)) throw new SmtpUsageError(`--server port must be 1 to 65535: "${printable(text)}"`);
  return { host, port, tls: scheme.tls, ...(scheme.lmtp ? { lmtp: true } : {}) };
}

function readInput(path: string, flag: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new InputFileError(`${flag}: cannot read ${printable(path)}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

// ---- sending --------------------------------------------------------------------------------

async function run(plan: Plan, signal: AbortSignal, onClient: (c: { abort(reason?: unknown): void }) => void): Promise<SendResult> {
  const log = (entry: LogEntry): void => {
    const tag = entry.from === 'client' ? 'C:' : entry.from === 'server' ? 'S:' : '*';
    process.stderr.write(`${tag} ${printable(entry.text)}\n`);
  };

  // A composed message is built once before connecting, so bad input fails without a session.
  let compose: ((eightBit: boolean) => Uint8Array) | undefined;
  if (plan.compose) {
    const c = plan.compose;
    const text = c.text ?? (await readStdinText());
    const date = new Date();
    const messageIdRandom = globalThis.crypto.getRandomValues(new Uint8Array(16));
    compose = (eightBit) => composeMessage({ from: plan.from, to: plan.to, subject: c.subject, text, priority: c.priority, date, messageIdRandom, eightBit });
    compose(false);
  }

  const client = await connect({ ...plan.client, signal, ...(plan.verbose ? { logger: log } : {}) });
  onClient(client);
  try {
    if (compose) {
      return await client.send({ from: plan.from, to: plan.to, body: compose(client.capabilities.eightBitMime), signal });
    }
    // A raw message: streamed from stdin with bounded memory. Its 8-bit-ness cannot be known
    // before MAIL, so BODY=8BITMIME is declared whenever the server offers it (RFC 6152 allows
    // that for 7-bit content too); SIZE is declared when stdin is a regular file, which is then
    // read like fileBody() does: into the client's few reused buffers.
    const size = stdinFileSize();
    hintIfTerminal('the message');
    return await client.send({
      from: plan.from, to: plan.to, body: size !== undefined ? fileWithProgress(stdinFile(size), size) : withProgress(process.stdin, size), signal,
      eightBit: client.capabilities.eightBitMime,
      ...(size !== undefined ? { size } : {}),
    });
  } finally {
    await client.close();
  }
}

function stdinFileSize(): number | undefined {
  try {
    const st = fstatSync(0);
    return st.isFile() ? st.size : undefined;
  } catch {
    return undefined;
  }
}

/** Stdin as a file (`smtpwire send ... < message.eml`), read at positions from its start. */
function stdinFile(size: number): PullIntoSource {
  const readAt = (buffer: Uint8Array, position: number): Promise<number> => new Promise((resolve, reject) => {
    read(0, buffer, 0, buffer.length, position, (err, n) => (err ? reject(err) : resolve(n)));
  });
  // fd 0 is not ours to close.
  return makeFileBody('stdin', { size, isFile: true }, {}, async () => ({ read: readAt, close: () => {} }));
}

/** A progress line for a file body, as withProgress() draws one for a stream. */
function fileWithProgress(source: PullIntoSource, size: number): PullIntoSource {
  const tty = process.stderr.isTTY === true;
  let total = 0;
  let drawn = 0;
  const draw = (end: string): void => {
    process.stderr.write(`\rsmtpwire: sent ${(total / MB).toFixed(1)} MB (${Math.min(100, Math.floor((total / Math.max(1, size)) * 100))}%)${end}`);
  };
  return {
    size,
    readInto: async (buffer) => {
      const n = await source.readInto(buffer);
      total += n;
      const now = Date.now();
      if (tty && total > MB && now - drawn >= 200) {
        draw('');
        drawn = now;
      }
      return n;
    },
    close: () => {
      if (drawn) draw('\n');
      return source.close?.();
    },
  };
}

/** Someone who forgot `< message.eml` should not stare at a silent terminal. */
function hintIfTerminal(what: string): void {
  if (process.stdin.isTTY) process.stderr.write(`smtpwire: reading ${what} from the terminal; end it with Ctrl-D\n`);
}

async function readStdinText(): Promise<string> {
  hintIfTerminal('the text');
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Pass stdin through, drawing a progress line on a terminal once the body passes 1 MB. */
async function* withProgress(source: AsyncIterable<Uint8Array>, size: number | undefined): AsyncGenerator<Uint8Array> {
  const tty = process.stderr.isTTY === true;
  let total = 0;
  let drawn = 0;
  const draw = (end: string): void => {
    const pct = size ? ` (${Math.min(100, Math.floor((total / size) * 100))}%)` : '';
    process.stderr.write(`\rsmtpwire: sent ${(total / MB).toFixed(1)} MB${pct}${end}`);
  };
  try {
    for await (const chunk of source) {
      total += chunk.length;
      const now = Date.now();
      if (tty && total > MB && now - drawn >= 200) {
        draw('');
        drawn = now;
      }
      yield chunk;
    }
  } finally {
    if (drawn) draw('\n');
  }
}

// ---- reporting ------------------------------------------------------------------------------

function replyJson(r: Reply | undefined): { code: number; enhanced: string | null; text: string } | null {
  return r ? { code: r.code, enhanced: r.enhanced ?? null, text: r.lines.join('\n') } : null;
}

function errorJson(err: unknown): { code: string; message: string; transient: boolean } | null {
  if (err === undefined || err === null) return null;
  if (err instanceof SmtpError) return { code: err.code, message: printable(err.message), transient: err.transient };
  const code = (err as { code?: unknown }).code;
  return { code: typeof code === 'string' ? code : 'EINTERNAL', message: printable(err instanceof Error ? err.message : String(err)), transient: false };
}

/** The result (or the error that stopped the send before one existed) as a JSON object. */
function toJson(outcome: SendResult | unknown, exitCode: ExitCode): object {
  if (isResult(outcome)) {
    const r = outcome as SendResult;
    const recipient = (x: { address: string; reply: Reply }) => ({ address: x.address, ...replyJson(x.reply)! });
    return {
      outcome: r.outcome,
      accepted: r.accepted.map(recipient),
      rejected: r.rejected.map(recipient),
      unknown: r.unknown,
      reply: replyJson(r.reply),
      error: errorJson(r.error),
      exitCode,
    };
  }
  // No transaction ran (connect, TLS or AUTH failed): nothing was delivered.
  return { outcome: 'rejected', accepted: [], rejected: [], unknown: [], reply: null, error: errorJson(outcome), exitCode };
}

const ADVICE: Partial<Record<ExitCode, string>> = {
  [EXIT.TEMPFAIL]: 'temporary failure: retrying later may succeed',
  [EXIT.PROTOCOL]: 'outcome unknown: the server may have the message; do not retry blindly',
  [EXIT.NOPERM]: 'authentication failed',
};

function report(outcome: SendResult | unknown, exitCode: ExitCode, verbose: boolean): void {
  const lines: string[] = [];
  if (isResult(outcome)) {
    const r = outcome as SendResult;
    if (exitCode !== EXIT.OK || verbose) {
      for (const x of r.accepted) lines.push(`accepted ${x.address}: ${describeReply(x.reply)}`);
      for (const x of r.rejected) lines.push(`rejected ${x.address}: ${describeReply(x.reply)}`);
      for (const a of r.unknown) lines.push(`unknown ${a}: no final reply`);
    }
    if (r.error) lines.push(`${r.outcome === 'unknown' ? 'no final reply' : 'not delivered'}: ${r.error.message}`);
  } else {
    lines.push(outcome instanceof Error ? outcome.message : String(outcome));
    if (exitCode === EXIT.USAGE) lines.push('(smtpwire --help for usage)');
  }
  const advice = ADVICE[exitCode];
  if (advice) lines.push(advice);
  for (const l of lines) process.stderr.write(`smtpwire: ${printable(l)}\n`);
}

/** Exit once stdout has taken everything (it may be a pipe). */
function exit(code: number): void {
  const out = process.stdout;
  if (!out.writableNeedDrain) process.exit(code);
  const done = (): never => process.exit(code);
  out.once('drain', done).once('error', done).once('close', done);
}

async function main(): Promise<void> {
  // A reader that closes stdout early (| head) must not turn a delivered message into a crash.
  process.stdout.on('error', () => {});
  let plan: Plan | 'help';
  try {
    plan = parseCommandLine(process.argv.slice(2));
  } catch (err) {
    const code = err instanceof InputFileError ? EXIT.NOINPUT : exitCodeFor(err);
    report(err, code, false);
    return exit(code);
  }
  if (plan === 'help') {
    process.stdout.write(USAGE);
    return exit(EXIT.OK);
  }
  if (plan.insecure) {
    process.stderr.write(
      '*** smtpwire: WARNING: --insecure: the server certificate is NOT checked. Anyone on the path can\n' +
      '*** read and change this session, including the password. Use it for testing only.\n',
    );
  }

  // Ctrl-C cancels the send (the core tells rejected from unknown); a second one quits at once.
  const controller = new AbortController();
  process.once('SIGINT', () => {
    controller.abort();
    process.once('SIGINT', () => process.exit(130));
  });

  // --timeout: one deadline for everything; when it passes, the send is cancelled (the core
  // still tells rejected from unknown) and the link dropped without waiting for QUIT.
  let client: { abort(reason?: unknown): void } | undefined;
  const deadline = plan.deadline;
  const timer = deadline === undefined ? undefined : setTimeout(() => {
    const reason = new OverallTimeoutError(deadline);
    controller.abort(reason);
    client?.abort(reason);
  }, deadline);
  let outcome: SendResult | unknown;
  try {
    outcome = await run(plan, controller.signal, (c) => (client = c));
  } catch (err) {
    outcome = err;
  }
  clearTimeout(timer);
  const code = exitCodeFor(outcome);
  if (plan.json) process.stdout.write(JSON.stringify(toJson(outcome, code), null, 2) + '\n');
  report(outcome, code, plan.verbose);
  exit(code);
}

main().catch((err) => {
  process.stderr.write(`smtpwire: internal error: ${printable(err instanceof Error ? err.stack ?? err.message : String(err))}\n`);
  process.exit(EXIT.SOFTWARE);
});

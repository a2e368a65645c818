#!/usr/bin/env node
// smtpwire: send one message from the command line. A thin shell around the client: it turns
// flags (or sendmail flags, or an msmtp account) into client options, stdin into a streamed
// body, and the result into an exit status (bin/exit-codes.ts). Every protocol decision stays
// in the client and the core. Commands: send, sendmail (also when invoked as `sendmail`), queue.
import { existsSync, readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { SmtpUsageError } from '../core/errors.ts';
import { printable } from '../core/text.ts';
import { defaultQueueDir } from './account.ts';
import { InputFileError, requireSecret, SEND_OPTIONS, sendPlan, sessionFromRecipe, type Recipe } from './args.ts';
import { connectModule } from './connect-options.ts';
import { deliver, withDeadline, type BodyInput } from './deliver.ts';
import { dkimModule, prepareDkim, signStdin } from './dkim-options.ts';
import { captureMain } from './capture.ts';
import { EXIT, exitCodeFor, type ExitCode } from './exit-codes.ts';
import { nonEmpty, readStdinText, stdinKind, stdinStream } from './input.ts';
import { buildFromPlan, buildsMessage, MessageFileError, messageModule } from './message-options.ts';
import { logLine, writeLog } from './logfile.ts';
import { ConfigError } from './msmtp-config.ts';
import { mergeTables, parseArgsOptions, str, usageLines, type CliModule, type OptionTable, type SendPlan, type Values } from './options.ts';
import { QUEUE_OPTIONS, queueCommand, sendQueued } from './queue-cmd.ts';
import { exit, report, toJson } from './report.ts';
import { secretModule } from './secret-options.ts';
import { parseSendmailArgs, sendmailJob } from './sendmail.ts';
import type { SpoolEnvelope } from './spool.ts';
import { timeoutModule } from './timeout-options.ts';

/**
 * The modules that add flags. To add one: export a CliModule (its option table, with a `group`
 * for --help, and an apply() that folds its values into the plan) and list it here.
 */
const MODULES: CliModule[] = [
  messageModule,
  dkimModule,
  connectModule,
  secretModule,
  timeoutModule,
  { name: 'queue', options: QUEUE_OPTIONS },
];

const TABLE: OptionTable = mergeTables([SEND_OPTIONS, ...MODULES.map((m) => m.options)]);

const PACKAGE_ROOT = fileURLToPath(new URL('../../', import.meta.url));

function version(): string {
  try {
    return (JSON.parse(readFileSync(`${PACKAGE_ROOT}package.json`, 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

function usage(): string {
  const doc = `${PACKAGE_ROOT}docs/cli.md`;
  const groups = [
    ...new Set(
      Object.values(TABLE)
        .map((s) => s.group)
        .filter((g): g is string => g !== undefined),
    ),
  ];
  return `usage: smtpwire send [--server URL | --account NAME] [--from ADDR] [--to ADDR]... [RECIPIENT...] < message.eml
       smtpwire sendmail [-t] [-i] [-f ADDR] [-F NAME] [-C FILE] [-a ACCOUNT] [--] [RECIPIENT...] < message
       smtpwire queue list | flush [--force] | drop ID
       smtpwire capture [--port N] [--dir DIR]    a loopback server that writes each message it gets
       sendmail ...   (a link named sendmail runs in sendmail mode)

  --server URL: smtp://host[:port] (STARTTLS when offered, 25), smtp+starttls:// (required, 587),
  smtps:// (implicit TLS, 465), smtp+plain:// (never TLS, 25), lmtp:// (24). Without --server, the
  msmtp account (~/.msmtprc, $XDG_CONFIG_HOME/msmtp/config, /etc/msmtprc) is used, else smtp://localhost.

${usageLines(TABLE, undefined).join('\n')}

${groups.map((g) => `${g}:\n${usageLines(TABLE, g).join('\n')}`).join('\n\n')}

sendmail mode: -t recipients from To/Cc/Bcc (Bcc removed), -f sender, -F full name, -i/-oi a lone
dot is data, -N never|success,failure,delay, -R full|hdrs, -V envid, -C config, -a account, -v,
-P (print the account settings), -bp lists the spool, -q flushes it, -bm and other -oX accepted
and ignored.

Exit status: 0 accepted for every recipient (or queued), 64 usage, 65 bad message header (-t),
66 unreadable input, 67 a recipient refused, 69 message refused, 75 temporary failure (retry
later), 76 outcome unknown (do not retry blindly), 77 authentication failed, 78 bad configuration.
${existsSync(doc) ? `Full documentation: ${doc}` : 'Full documentation: docs/cli.md in the smtpwire package (README.md: https://www.npmjs.com/package/smtpwire)'}
`;
}

/** The modules' apply() hooks, in order; then what a spooled message keeps of each (recipe()). */
async function applyModules(v: Values, plan: SendPlan, recipe: Recipe): Promise<void> {
  for (const m of MODULES) await m.apply?.(v, plan);
  requireSecret(plan);
  const kept: Record<string, Values> = {};
  for (const m of MODULES) {
    const r = plan.queue ? m.recipe?.(v) : undefined;
    if (r) kept[m.name] = r;
  }
  if (Object.keys(kept).length) recipe.modules = kept;
}

function queueDir(v: Values, env: NodeJS.ProcessEnv): string {
  return str(v, 'queue-dir') ?? defaultQueueDir(env);
}

interface Done {
  outcome: unknown;
  code: number;
  plan?: SendPlan;
  queued?: string;
}

/** Sends one message, through the spool when the plan says so. */
async function sendOne(plan: SendPlan, recipe: Recipe, body: BodyInput, signal: AbortSignal): Promise<Done> {
  if (plan.queue) {
    const source = await spooledOctets(plan, body);
    const r = await sendQueued(plan, recipe, source, signal); // the spool holds the final octets
    return { ...r, plan };
  }
  const outcome = await withDeadline(plan, signal, (sig, onClient) => deliver(plan, body, sig, onClient));
  return { outcome, code: exitCodeFor(outcome), plan };
}

/**
 * The octets a spooled message is stored as: the raw message after the module's filter, or a
 * built message rendered for any server (7-bit, A-label domains: the server that will take it is
 * not known yet), then DKIM-signed. Signing here means the key is read now and never needed,
 * nor stored, at flush time; the signature's t= is the time of queueing.
 */
async function spooledOctets(plan: SendPlan, body: BodyInput): Promise<AsyncIterable<Uint8Array>> {
  let source: AsyncIterable<Uint8Array>;
  if (plan.message) {
    const built = buildFromPlan(plan.message, plan.message.text?.from === 'stdin' ? await readStdinText() : undefined);
    const r = built.render({ smtpUtf8: false, eightBitMime: false });
    plan.from = r.from; // the builder's envelope: Cc and Bcc are recipients too
    const notify = plan.to.find((x) => typeof x !== 'string');
    plan.to = notify && typeof notify !== 'string' ? r.to.map((address) => ({ address, notify: notify.notify! })) : r.to;
    source = r.body;
  } else {
    if (body.kind === 'stdin') stdinKind();
    const raw = body.kind === 'stream' ? body.source : await nonEmpty(stdinStream());
    source = plan.filter ? plan.filter(raw) : raw;
  }
  if (!plan.dkim) return source;
  const signed = await signStdin(await prepareDkim(plan.dkim), source, undefined, () => {
    throw new Error('unreachable');
  });
  process.once('exit', signed.cleanup);
  return signed.body;
}

/** How `queue flush` builds the plan of a spooled message: its recipe, the flush's flags. */
function flushPlan(v: Values, env: NodeJS.ProcessEnv): (recipe: Recipe, envelope: SpoolEnvelope) => Promise<SendPlan> {
  return async (recipe, envelope) => {
    const session = sessionFromRecipe(recipe, env, envelope.from);
    const plan: SendPlan = {
      client: session.client,
      from: envelope.from,
      to: envelope.to,
      ...(envelope.dsn ? { dsn: envelope.dsn } : {}),
      verbose: v.verbose === true,
      json: false,
      insecure: recipe.insecure === true,
    };
    // The modules that kept values (connection flags, secret commands) apply them again.
    for (const m of MODULES) {
      const kept = recipe.modules?.[m.name];
      if (kept) await m.apply?.(kept, plan);
    }
    requireSecret(plan);
    await timeoutModule.apply!(v, plan);
    return plan;
  };
}

async function runSend(args: string[], signal: AbortSignal, env: NodeJS.ProcessEnv): Promise<Done | 'help' | 'version'> {
  let parsed;
  try {
    parsed = parseArgs({ args, allowPositionals: true, strict: true, options: parseArgsOptions(TABLE) });
  } catch (err) {
    // parseArgs throws TypeErrors (unknown option, missing value): the user's mistake.
    throw new SmtpUsageError(err instanceof Error ? err.message : String(err));
  }
  const v = parsed.values;
  const positionals = parsed.positionals;
  if (v.help || positionals[0] === 'help') return 'help';
  if (v.version || positionals[0] === 'version') return 'version';
  const [command, ...rest] = positionals;
  if (command === undefined) throw new SmtpUsageError('no command given (did you mean "smtpwire send"?)');
  if (command === 'queue') {
    const [sub, ...ids] = rest;
    return { outcome: undefined, code: await queueCommand(sub, ids, v, queueDir(v, env), flushPlan(v, env), signal) };
  }
  if (command !== 'send') throw new SmtpUsageError(`unknown command "${printable(command)}" (commands: send, sendmail, queue)`);
  for (const name of Object.keys(QUEUE_OPTIONS))
    if (v[name] !== undefined) throw new SmtpUsageError(`--${name} belongs to "smtpwire queue flush"`);
  const { plan, recipe } = sendPlan(v, rest, env);
  if (v.queue === true) plan.queue = { dir: str(v, 'queue-dir') ?? plan.queue?.dir ?? defaultQueueDir(env) };
  await applyModules(v, plan, recipe);
  if (plan.insecure) warnInsecure();
  return sendOne(plan, recipe, plan.message ? { kind: 'built' } : { kind: 'stdin' }, signal);
}

async function runSendmail(args: string[], signal: AbortSignal, env: NodeJS.ProcessEnv): Promise<Done | 'help' | 'version'> {
  const a = parseSendmailArgs(args, TABLE);
  if (a.help) return 'help';
  if (a.version) return 'version';
  if (a.queue)
    return {
      outcome: undefined,
      code: await queueCommand(a.queue, [], { ...a.long, verbose: a.verbose }, queueDir(a.long, env), flushPlan(a.long, env), signal),
    };
  if (a.long.queue === undefined && a.long['queue-dir'] !== undefined) a.long.queue = true;
  // Message flags (--text, --attach, ...) build the message: stdin is then not the message.
  const building = buildsMessage(a.long);
  if (!a.pretend && !building) stdinKind(); // a directory on stdin fails before the config is even read
  const job = await sendmailJob(a, stdinStream(), env, building);
  if (job.pretend) {
    for (const [k, val] of job.pretend) process.stdout.write(`${k} = ${val}\n`);
    return { outcome: undefined, code: EXIT.OK };
  }
  const plan = job.plan;
  if (a.long.queue === true) plan.queue = { dir: str(a.long, 'queue-dir') ?? plan.queue?.dir ?? defaultQueueDir(env) };
  await applyModules(a.long, plan, job.recipe);
  if (plan.insecure) warnInsecure();
  return sendOne(plan, job.recipe, plan.message ? { kind: 'built' } : { kind: 'stream', source: job.body }, signal);
}

function warnInsecure(): void {
  process.stderr.write(
    '*** smtpwire: WARNING: --insecure: the server certificate is NOT checked. Anyone on the path can\n' +
      '*** read and change this session, including the password. Use it for testing only.\n',
  );
}

function exitCodeOfThrown(err: unknown): number {
  if (err instanceof InputFileError || err instanceof MessageFileError) return EXIT.NOINPUT;
  if (err instanceof ConfigError) return err.exitCode;
  if ((err as { dataError?: boolean } | null)?.dataError) return EXIT.DATAERR;
  return exitCodeFor(err);
}

async function main(): Promise<void> {
  // A reader that closes stdout early (| head) must not turn a delivered message into a crash.
  process.stdout.on('error', () => {});
  const env = process.env;
  const argv = process.argv.slice(2);
  if (argv[0] === 'capture') return exit(await captureMain(argv.slice(1))); // testing/capture.ts
  const invokedAs = basename(process.argv[1] ?? '');
  const sendmailMode = invokedAs === 'sendmail' || invokedAs.startsWith('sendmail.') || argv[0] === 'sendmail';
  const args = sendmailMode && argv[0] === 'sendmail' && invokedAs !== 'sendmail' ? argv.slice(1) : argv;

  // Ctrl-C cancels the send (the core tells rejected from unknown); a second one quits at once.
  const controller = new AbortController();
  process.once('SIGINT', () => {
    controller.abort();
    process.once('SIGINT', () => process.exit(130));
  });

  let done: Done | 'help' | 'version';
  try {
    done = sendmailMode ? await runSendmail(args, controller.signal, env) : await runSend(args, controller.signal, env);
  } catch (err) {
    const code = exitCodeOfThrown(err);
    report(err, code, false);
    return exit(code);
  }
  if (done === 'help') {
    process.stdout.write(usage());
    return exit(EXIT.OK);
  }
  if (done === 'version') {
    process.stdout.write(`smtpwire ${version()}\n`);
    return exit(EXIT.OK);
  }
  const { outcome, plan, queued } = done;
  let code = done.code;
  if (outcome instanceof InputFileError || outcome instanceof MessageFileError || outcome instanceof ConfigError)
    code = exitCodeOfThrown(outcome);
  if (plan?.logfile && outcome !== undefined) writeLog(plan.logfile, logLine(plan, outcome, code, undefined));
  if (plan?.json) process.stdout.write(JSON.stringify(toJson(outcome, code as ExitCode, queued ? { queued } : {}), null, 2) + '\n');
  if (queued) {
    report(outcome, code === EXIT.OK ? EXIT.OK : code, plan?.verbose === true);
    process.stderr.write(`smtpwire: queued as ${queued}; "smtpwire queue flush" sends it\n`);
  } else if (outcome !== undefined) {
    report(outcome, code, plan?.verbose === true);
  }
  exit(code);
}

main().catch((err) => {
  process.stderr.write(`smtpwire: internal error: ${printable(err instanceof Error ? (err.stack ?? err.message) : String(err))}\n`);
  process.exit(EXIT.SOFTWARE);
});

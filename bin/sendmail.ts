// sendmail mode: `sendmail [flags] [--] [recipient...]` (argv[0] named sendmail, or `smtpwire
// sendmail ...`), with the flags programs pass to sendmail (git send-email, mail(1), PHP's
// mail(), cron) and msmtp's account choice. The message on stdin gets msmtp's edits: Bcc
// dropped, From, Date and Message-ID added when missing; with -t its recipients come from
// its header. Everything after the header block streams through untouched.
import { hostname, userInfo } from 'node:os';
import { formatPath } from '../core/address.ts';
import { SmtpUsageError } from '../core/errors.ts';
import type { NotifyOn, RecipientSpec } from '../core/envelope.ts';
import { printable } from '../core/text.ts';
import { defaultQueueDir } from './account.ts';
import { absolutePaths, recipeFrom, sessionFromRecipe, type Recipe } from './args.ts';
import { addressList, editHead, fromField, headRecipients, readHead, type Head } from './headers.ts';
import type { OptionTable, SendPlan, Values } from './options.ts';

export interface SendmailArgs {
  recipients: string[];
  readRecipients: boolean;
  from?: string;
  fullName?: string;
  ignoreDots: boolean;
  verbose: boolean;
  pretend: boolean;
  version: boolean;
  help: boolean;
  /** -bp (list the spool) or -q (flush it), as sendmail's queue commands. */
  queue?: 'list' | 'flush';
  notify?: 'NEVER' | NotifyOn[];
  ret?: 'FULL' | 'HDRS';
  envid?: string;
  logfile?: string;
  /** Long options (--timeout 10, --queue, ...) from the CLI's option table. */
  long: Values;
  recipe: Recipe;
}

/** Flags that take a value (as the next argument or glued on: -fme@x or -f me@x). */
const WITH_VALUE = new Set(['f', 'F', 'C', 'a', 'N', 'R', 'V', 'X', 'o', 'O', 'B', 'h', 'L', 'r']);
/** Accepted and ignored, as sendmail and msmtp do. */
const IGNORED = new Set(['i', 'm', 'n', 'G', 'U', 'e']);

export function parseSendmailArgs(argv: string[], table: OptionTable): SendmailArgs {
  const a: SendmailArgs = {
    recipients: [],
    readRecipients: false,
    ignoreDots: false,
    verbose: false,
    pretend: false,
    version: false,
    help: false,
    long: {},
    recipe: {},
  };
  let i = 0;
  const next = (flag: string): string => {
    if (i + 1 >= argv.length) throw new SmtpUsageError(`-${flag} needs a value`);
    return argv[++i]!;
  };
  for (; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      a.recipients.push(...argv.slice(i + 1));
      break;
    }
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      const name = arg.slice(2, eq < 0 ? undefined : eq);
      if (name === 'version') a.version = true;
      else if (name === 'help') a.help = true;
      else if (name === 'pretend') a.pretend = true;
      else if (name === 'read-recipients') a.readRecipients = true;
      else {
        const spec = table[name];
        if (!spec) throw new SmtpUsageError(`unknown option --${printable(name)}`);
        if (spec.type === 'boolean') {
          if (eq >= 0) throw new SmtpUsageError(`--${name} takes no value`);
          a.long[name] = true;
        } else {
          const value = eq >= 0 ? arg.slice(eq + 1) : next(name);
          a.long[name] = spec.multiple ? [...((a.long[name] as string[] | undefined) ?? []), value] : value;
        }
      }
      continue;
    }
    if (!arg.startsWith('-') || arg === '-') {
      a.recipients.push(arg);
      continue;
    }
    // A cluster of single-letter flags (-ti); a flag with a value takes the rest or the next arg.
    for (let j = 1; j < arg.length; j++) {
      const f = arg[j]!;
      if (WITH_VALUE.has(f)) {
        const value = j + 1 < arg.length ? arg.slice(j + 1) : next(f);
        applyValue(a, f, value);
        break;
      }
      if (f === 't') a.readRecipients = true;
      else if (f === 'v') a.verbose = true;
      else if (f === 'P') a.pretend = true;
      else if (f === 'i') a.ignoreDots = true;
      else if (f === 'b') {
        const mode = arg.slice(j + 1);
        if (mode === 'p') a.queue = 'list';
        else if (mode !== 'm')
          throw new SmtpUsageError(`-b${printable(mode)}: only -bm (deliver a message) and -bp (list the spool) are supported`);
        break;
      } else if (f === 'q') {
        a.queue = 'flush'; // -q, or -q30m (an interval for a daemon; one flush here)
        break;
      } else if (IGNORED.has(f)) continue;
      else throw new SmtpUsageError(`unknown sendmail flag -${printable(f)}`);
    }
  }
  return a;
}

function applyValue(a: SendmailArgs, f: string, value: string): void {
  switch (f) {
    case 'f':
    case 'r': // an old synonym of -f
      // -f '<>' is the null sender (bounces, vacation replies) and -f '<addr>' is addr, as
      // sendmail and msmtp read them; anything else inside is checked as an address later.
      a.from = /^<[^<>]*>$/.test(value) ? value.slice(1, -1) : value;
      return;
    case 'F':
      a.fullName = value;
      return;
    case 'C':
      a.recipe.config = value;
      return;
    case 'a':
      a.recipe.account = value;
      return;
    case 'X':
      a.logfile = value;
      return;
    case 'N': {
      const v = value.toLowerCase();
      if (v === 'never') a.notify = 'NEVER';
      else if (/^(success|failure|delay)(,(success|failure|delay))*$/.test(v))
        a.notify = v.split(',').map((x) => x.toUpperCase() as NotifyOn);
      else throw new SmtpUsageError(`-N takes never or a list of success, failure, delay, not "${printable(value)}"`);
      return;
    }
    case 'R': {
      const v = value.toLowerCase();
      if (v === 'full') a.ret = 'FULL';
      else if (v === 'hdrs' || v === 'headers') a.ret = 'HDRS';
      else throw new SmtpUsageError(`-R takes full or hdrs, not "${printable(value)}"`);
      return;
    }
    case 'V':
      a.envid = value;
      return;
    case 'o':
      if (value === 'i') a.ignoreDots = true; // -oi; every other -oX is accepted and ignored
      return;
    default:
      return; // -O, -B, -h, -L: accepted and ignored
  }
}

/** sendmail's default sender: the user at this host. */
function defaultSender(env: NodeJS.ProcessEnv): string {
  return `${env.USER || env.LOGNAME || userInfo().username}@${env.HOSTNAME || hostname()}`;
}

export interface SendmailJob {
  plan: SendPlan;
  recipe: Recipe;
  /** The message as it is to be sent: the edited header block, then the rest of stdin. */
  body: AsyncIterable<Uint8Array>;
  pretend: [string, string][] | undefined;
}

/**
 * The plan for one sendmail-mode call. Reads the header block of stdin (not the body), unless
 * message flags (`building`: --text, --attach, ...) build the message: then stdin is left alone
 * and the recipients are the command line's.
 */
export async function sendmailJob(
  a: SendmailArgs,
  stdin: AsyncIterable<Uint8Array>,
  env: NodeJS.ProcessEnv,
  building = false,
): Promise<SendmailJob> {
  // The long options (--server, --user, --ca, ...) as in send mode; -C and -a as given.
  const recipe: Recipe = { ...recipeFrom(a.long), ...a.recipe };
  absolutePaths(recipe);
  const session = sessionFromRecipe(recipe, env, a.from);
  const acct = session.account;
  const from =
    a.from !== undefined && (acct === undefined || acct.allowFromOverride) ? a.from : (acct?.from ?? a.from ?? defaultSender(env));
  formatPath(from);
  if (a.pretend) {
    const plan: SendPlan = { client: session.client, from, to: [], verbose: a.verbose, json: false, insecure: false };
    return {
      plan,
      recipe,
      body: stdin,
      pretend: acct?.pretend ?? [
        ['host', session.client.host],
        ['port', String(session.client.port)],
      ],
    };
  }

  if (building && a.readRecipients)
    throw new SmtpUsageError(
      '-t reads the recipients from a message on stdin; a message built from flags takes them from the command line',
    );
  const source = a.ignoreDots ? stdin : stopAtLoneDot(stdin);
  const { head, rest } = building ? { head: { fields: [], separator: '' } as Head, rest: stdin } : await readHead(source);
  const recipients = [...a.recipients];
  if (a.readRecipients) {
    try {
      // Checked here, not with the command line's below: a bad address in the header is the
      // message's fault (65), not the command line's (64).
      const fromHead = headRecipients(head);
      for (const r of fromHead) formatPath(r);
      recipients.push(...fromHead);
    } catch (err) {
      throw Object.assign(new SmtpUsageError(`-t: ${err instanceof Error ? err.message : String(err)}`), { dataError: true });
    }
  }
  const seen = new Set<string>();
  const to = recipients
    .flatMap((r) => addressList(r))
    .filter((r) => {
      const k = r.toLowerCase();
      if (seen.has(k)) return false;
      seen.add(k);
      return true;
    });
  if (to.length === 0)
    throw new SmtpUsageError(
      a.readRecipients
        ? 'no recipients: none in the To, Cc or Bcc header and none on the command line'
        : 'no recipients given (use -t to read them from the header)',
    );
  for (const r of to) formatPath(r);

  const eol = /\r\n$/.test(head.fields[0]?.raw ?? '\r\n') ? '\r\n' : '\n';
  const domain = from.includes('@') ? from.slice(from.lastIndexOf('@') + 1) : env.HOSTNAME || hostname();
  const setFrom = acct?.setFromHeader ?? 'auto';
  const edited = editHead(head, {
    removeBcc: acct?.removeBcc ?? true,
    ...(setFrom !== 'off' && from !== '' ? { from: { value: fromField(from, a.fullName), mode: setFrom } } : {}),
    addDate: (acct?.setDateHeader ?? 'auto') === 'auto',
    ...((acct?.setMsgidHeader ?? 'auto') === 'auto' ? { messageIdDomain: domain.replace(/[^A-Za-z0-9.\-[\]:]/g, '') || 'localhost' } : {}),
    eol,
  });
  async function* body(): AsyncGenerator<Uint8Array> {
    yield edited;
    yield* rest;
  }

  const notify = a.notify ?? acct?.notify;
  const ret = a.ret ?? acct?.ret;
  const plan: SendPlan = {
    client: session.client,
    from,
    to: notify ? to.map((address): RecipientSpec => ({ address, notify })) : to,
    ...(ret || a.envid ? { dsn: { ...(ret ? { ret } : {}), ...(a.envid !== undefined ? { envid: a.envid } : {}) } } : {}),
    // A message built from flags has the builder's From (with -F's name), Date and Message-ID.
    given: { from: a.fullName ? `"${a.fullName.replace(/(["\\])/g, '\\$1')}" <${from}>` : from, to },
    verbose: a.verbose,
    json: false,
    insecure: acct?.insecure === true,
    account: acct?.account,
    logfile: a.logfile ?? acct?.logfile,
    ...(acct?.queue ? { queue: { dir: acct.queueDir ?? defaultQueueDir(env) } } : {}),
  };
  return { plan, recipe, body: body(), pretend: undefined };
}

/** Without -i/-oi, a line holding a single dot ends the message (sendmail's old rule). */
async function* stopAtLoneDot(source: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  let atLineStart = true;
  let held = ''; // a "." (or ".\r") at a line start whose next octet has not come yet
  for await (const chunk of source) {
    let text = held + Buffer.from(chunk).toString('latin1');
    held = '';
    let from = 0;
    for (let i = 0; i < text.length; i++) {
      if (atLineStart && text[i] === '.') {
        const after = text.slice(i + 1, i + 3);
        if (after.startsWith('\n') || after === '\r\n') {
          if (i > from) yield Buffer.from(text.slice(from, i), 'latin1');
          return;
        }
        if (after === '' || after === '\r') {
          if (i > from) yield Buffer.from(text.slice(from, i), 'latin1');
          held = text.slice(i);
          text = '';
          from = i = 0;
          break;
        }
      }
      atLineStart = text[i] === '\n';
    }
    if (text.length > from) yield Buffer.from(text.slice(from), 'latin1');
  }
  if (held && held !== '.' && held !== '.\r') yield Buffer.from(held, 'latin1');
}

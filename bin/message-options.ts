// The CLI's message flags: --from 'Name <addr>', --cc, --bcc, --reply-to, --html FILE,
// --attach FILE (repeatable), --header 'Name: value' (repeatable), with the seed's --compose,
// --text, --subject and --priority. They become smtpwire/message options; bin/smtpwire.ts only
// hooks these in. Files are checked when the command line is read (a missing file is exit 66
// before any connection); attachments are streamed from disk when the message is sent.
import { readFileSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import { SmtpUsageError } from '../core/errors.ts';
import { printable } from '../core/text.ts';
import { toMailboxes } from '../message/address.ts';
import { buildMessage, type Attachment, type BuiltMessage, type MessageOptions } from '../message/build.ts';
import { fileBody } from '../transports/node.ts';
import { str, strs, type CliModule, type OptionTable, type Values } from './options.ts';

const G = 'composing a message';

/** The message flags (merged into the CLI's one option table). */
export const MESSAGE_FLAGS: OptionTable = {
  compose: { type: 'boolean', group: G, help: 'compose a message; its text is read from stdin' },
  text: { type: 'string', arg: 'TEXT', group: G, help: 'compose a message with this text' },
  subject: { type: 'string', arg: 'TEXT', group: G, help: 'subject of the composed message' },
  priority: { type: 'string', arg: 'P', group: G, help: 'low, normal or high (composed message)' },
  cc: { type: 'string', multiple: true, arg: 'ADDR', group: G, help: 'a Cc recipient (repeatable; composes a message)' },
  bcc: { type: 'string', multiple: true, arg: 'ADDR', group: G, help: 'a Bcc recipient: envelope only, never in the message (repeatable)' },
  'reply-to': { type: 'string', multiple: true, arg: 'ADDR', group: G, help: 'Reply-To (repeatable)' },
  html: { type: 'string', arg: 'FILE', group: G, help: 'an HTML part (with --text/--compose: multipart/alternative)' },
  attach: { type: 'string', multiple: true, arg: 'FILE', group: G, help: 'attach a file, streamed from disk (repeatable)' },
  header: { type: 'string', multiple: true, arg: "'N: V'", group: G, help: 'an extra header field (repeatable)' },
};

/** The flags' values in the shape planMessage() reads. */
export function messageFlagValues(v: Values): MessageFlagValues {
  const out: MessageFlagValues = {};
  if (v.compose === true) out.compose = true;
  for (const k of ['text', 'subject', 'priority', 'html'] as const) {
    const x = str(v, k);
    if (x !== undefined) out[k] = x;
  }
  for (const k of ['cc', 'bcc', 'reply-to', 'attach', 'header'] as const) {
    const x = strs(v, k);
    if (x.length) out[k] = x;
  }
  return out;
}

/** Whether the flags build a message (so stdin is not the message, except as --compose's text). */
export function buildsMessage(v: Values): boolean {
  return Object.keys(MESSAGE_FLAGS).some((k) => v[k] !== undefined && !(Array.isArray(v[k]) && (v[k] as unknown[]).length === 0));
}

/**
 * The CLI module: sets plan.message from the flags, with the sender and recipients as typed
 * (plan.given: display names kept). Nothing is stored for a spooled message: a built message
 * is rendered before it is spooled (bin/smtpwire.ts).
 */
export const messageModule: CliModule = {
  name: 'message',
  options: MESSAGE_FLAGS,
  apply(v, plan) {
    const given = plan.given ?? { from: plan.from, to: plan.to.map((r) => (typeof r === 'string' ? r : r.address)) };
    plan.message = planMessage(messageFlagValues(v), given.from, given.to);
  },
};

export interface MessageFlagValues {
  compose?: boolean;
  text?: string;
  subject?: string;
  priority?: string;
  cc?: string[];
  bcc?: string[];
  'reply-to'?: string[];
  html?: string;
  attach?: string[];
  header?: string[];
}

/** What to build, decided from the flags; undefined when stdin is a raw message. */
export interface MessagePlan {
  options: Omit<MessageOptions, 'text'>;
  /** The text: given, read from stdin (--compose), or none. */
  text: { from: 'flag'; value: string } | { from: 'stdin' } | undefined;
}

/** A file named on the command line that cannot be read (exit 66, not a usage error). */
export class MessageFileError extends Error {}

/** The envelope address of a --from / --to value, which may be 'Name <addr>'. */
export function envelopeOf(value: string, flag: string): string {
  if (value === '') return '';
  const boxes = toMailboxes(value, flag);
  if (boxes.length !== 1) throw new SmtpUsageError(`${flag} takes one address per flag: "${printable(value)}"`);
  return boxes[0]!.address;
}

/**
 * The message plan from the flags, or undefined for a raw message. `from` and `to` are the
 * --from value and the recipients as given (display names allowed).
 */
export function planMessage(v: MessageFlagValues, from: string, to: string[]): MessagePlan | undefined {
  const builds =
    v.html !== undefined ||
    (v.attach?.length ?? 0) > 0 ||
    (v.header?.length ?? 0) > 0 ||
    (v['reply-to']?.length ?? 0) > 0 ||
    (v.cc?.length ?? 0) > 0 ||
    (v.bcc?.length ?? 0) > 0;
  const composing = v.compose === true || v.text !== undefined || builds;
  if (!composing) {
    if (v.subject !== undefined || v.priority !== undefined) {
      throw new SmtpUsageError('--subject and --priority compose a message: add --compose (text on stdin) or --text TEXT');
    }
    return undefined;
  }
  if (v.compose && v.text !== undefined) throw new SmtpUsageError('give the text either with --text or on stdin with --compose, not both');
  if (from === '') throw new SmtpUsageError('a composed message needs a --from address (the null sender is for raw bounces)');
  const priority = v.priority ?? 'normal';
  if (priority !== 'low' && priority !== 'normal' && priority !== 'high')
    throw new SmtpUsageError('--priority must be low, normal or high');
  const headers: [string, string][] = (v.header ?? []).map((h) => {
    const colon = h.indexOf(':');
    if (colon <= 0) throw new SmtpUsageError(`--header must be 'Name: value': "${printable(h)}"`);
    return [h.slice(0, colon).trim(), h.slice(colon + 1).trim()];
  });
  const attachments: Attachment[] = (v.attach ?? []).map((path) => {
    const size = checkFile(path, '--attach');
    // A function: the file is opened when the message is rendered (and again if it is signed).
    // Its size makes the message's known, so SIZE= is declared.
    return { filename: basename(path), content: () => fileBody(path), size };
  });
  const options: Omit<MessageOptions, 'text'> = {
    from,
    to,
    ...(v.cc ? { cc: v.cc } : {}),
    ...(v.bcc ? { bcc: v.bcc } : {}),
    ...(v['reply-to'] ? { replyTo: v['reply-to'] } : {}),
    ...(v.subject !== undefined ? { subject: v.subject } : {}),
    priority,
    ...(headers.length ? { headers } : {}),
    ...(v.html !== undefined ? { html: readText(v.html, '--html') } : {}),
    ...(attachments.length ? { attachments } : {}),
  };
  const text = v.text !== undefined ? { from: 'flag' as const, value: v.text } : v.compose ? { from: 'stdin' as const } : undefined;
  // Check everything now (addresses, headers, names), before a connection is opened.
  buildMessage({ ...options, ...(text ? { text: '' } : {}) });
  return { options, text };
}

/** The message, once the text (from stdin for --compose) is known. */
export function buildFromPlan(plan: MessagePlan, stdinText: string | undefined): BuiltMessage {
  const text = plan.text === undefined ? undefined : plan.text.from === 'flag' ? plan.text.value : (stdinText ?? '');
  return buildMessage({ ...plan.options, ...(text !== undefined ? { text } : {}) });
}

/** The size of a regular file named on the command line. */
function checkFile(path: string, flag: string): number {
  let stat;
  try {
    stat = statSync(path);
  } catch (err) {
    throw new MessageFileError(`${flag}: cannot read ${printable(path)}: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (!stat.isFile()) throw new MessageFileError(`${flag}: ${printable(path)} is not a regular file`);
  return stat.size;
}

function readText(path: string, flag: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new MessageFileError(`${flag}: cannot read ${printable(path)}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

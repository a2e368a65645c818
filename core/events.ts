// What the core gives back from poll(): bytes to write, events, and transport instructions.
import type { Capabilities } from './capabilities.ts';
import type { SmtpError } from './errors.ts';
import type { Reply } from './reply.ts';
import type { Pbkdf2Request } from './sasl/mechanism.ts';

export interface RecipientResult {
  readonly address: string;
  readonly reply: Reply;
}

export type Outcome = 'accepted' | 'rejected' | 'unknown';

/** What every result has, whatever its outcome. */
interface ResultFields {
  readonly id: number;
  readonly accepted: readonly RecipientResult[];
  readonly rejected: readonly RecipientResult[];
  /** LMTP only: recipients whose per-recipient final reply never came. */
  readonly unknown: readonly string[];
  /** The reply that decided the outcome (final reply to the body, or the refusal). */
  readonly reply: Reply | undefined;
}

/** The server took responsibility for the message (for at least one recipient). */
export interface AcceptedResult extends ResultFields {
  readonly outcome: 'accepted';
  readonly error: undefined;
}

/** It did not, for any recipient; retrying is safe when `error.transient` says so. */
export interface RejectedResult extends ResultFields {
  readonly outcome: 'rejected';
  /** Why, as a typed error. */
  readonly error: SmtpError;
}

/** The final dot / BDAT LAST was handed to the transport and no final reply came. The server may
 *  have queued it: do not retry blindly. */
export interface UnknownResult extends ResultFields {
  readonly outcome: 'unknown';
  readonly error: SmtpError;
}

/** Tagged by `outcome`: `switch (r.outcome)` narrows it (only `rejected` and `unknown` carry an
 *  error). */
export type TransactionResult = AcceptedResult | RejectedResult | UnknownResult;

/** Builds the result for an outcome; an outcome other than accepted must come with its error. */
export function transactionResult(fields: ResultFields, outcome: Outcome, error: SmtpError | undefined): TransactionResult {
  if (outcome !== 'accepted' && error === undefined) throw new TypeError(`internal: a ${outcome} result needs its error`);
  // Written out, not spread: one result per message, and an object spread costs ~1.5 us a
  // message there (it was 6% of a 20,000-message run). Same keys, same order.
  return {
    id: fields.id,
    accepted: fields.accepted,
    rejected: fields.rejected,
    unknown: fields.unknown,
    reply: fields.reply,
    outcome,
    error,
  } as TransactionResult;
}

export type SmtpEvent =
  | { readonly type: 'greeting'; readonly reply: Reply }
  /** The session is set up (EHLO, STARTTLS, AUTH done); transactions flow from here. */
  | { readonly type: 'ready'; readonly capabilities: Capabilities; readonly secure: boolean; readonly authenticated: boolean }
  | { readonly type: 'transaction'; readonly result: TransactionResult }
  /** Reply to a NOOP or RSET the user asked for. */
  | { readonly type: 'command'; readonly id: number; readonly command: string; readonly reply: Reply }
  /** Only when the `transcript` option is on. Secrets are already redacted; server text is printable. */
  | { readonly type: 'transcript'; readonly from: 'client' | 'server'; readonly text: string }
  /** The session is over: cleanly (no error) or failed. Sticky; nothing follows. */
  | { readonly type: 'closed'; readonly error: SmtpError | undefined };

export type Output =
  /** Write these bytes, in order. Views: do not modify them; writev them as they are. */
  | { readonly type: 'write'; readonly chunks: Uint8Array[] }
  | { readonly type: 'event'; readonly event: SmtpEvent }
  /** Upgrade the link to TLS now (after the writes before this); then call tlsEstablished(). */
  | { readonly type: 'start-tls' }
  /** Compute this (SCRAM's PBKDF2), off the event loop if the runtime can, then call
   *  `computed(id, result)` or `computeFailed(id, error)`. Only with `asyncCompute`. */
  | { readonly type: 'compute'; readonly id: number; readonly request: Pbkdf2Request }
  /** Close the link after the writes before this. */
  | { readonly type: 'close' }
  /** Nothing to do until new input or `deadline` (then call handleTimeout). */
  | { readonly type: 'wait'; readonly deadline: number | undefined; readonly reason: string };

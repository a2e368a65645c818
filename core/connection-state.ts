// Everything a connection knows, in one record the modules share: the facade (connection.ts)
// owns it, the modules (session.ts, starttls.ts, auth-session.ts, tx-write.ts, tx-replies.ts,
// deadlines.ts) read and change it. Not exported from the package.
import { validateEhloName } from './address.ts';
import { noCapabilities, type Capabilities } from './capabilities.ts';
import type { PathCache, PreparedEnvelope, PreparedRecipient } from './envelope.ts';
import type { SmtpError } from './errors.ts';
import type { SmtpEvent } from './events.ts';
import { checkOptions, type ConnectionOptions } from './options.ts';
import { OutputQueue } from './output.ts';
import { ReplyQueue, type Expectation } from './pipeline.ts';
import { SlotQueue } from './queue.ts';
import { ReplyParser, type Reply } from './reply.ts';
import type { AuthExchange } from './auth.ts';
import type { Phase } from './states.ts';
import type { Timeouts } from './timeouts.ts';
import type { Transaction, UserCommand } from './transaction.ts';
import { createPathCache } from './envelope.ts';
import { IdTable } from './id-table.ts';

export class ConnectionState {
  readonly options: ConnectionOptions;
  readonly timeouts: Timeouts;
  readonly window: number;
  readonly maxUnansweredEnds: number;
  readonly chunkSize: number;
  readonly parser: ReplyParser;
  readonly name: string;
  /** Addresses this connection has checked (envelope.ts): per connection, never shared. */
  readonly paths: PathCache = createPathCache();

  phase: Phase = 'idle';
  now = 0;
  error: SmtpError | undefined;
  capabilities: Capabilities = noCapabilities();
  secure: boolean;
  authenticated = false;
  triedStartTls = false;
  tlsDeadline: number | undefined;

  readonly output: OutputQueue;
  readonly replies = new ReplyQueue();
  /** Body bytes given by the user, not yet encoded into the output. */
  heldBody = 0;

  /** Transactions and user commands not yet fully written, in order. */
  readonly queue = new SlotQueue<Transaction | UserCommand>();
  /** Transactions not yet settled. */
  readonly live = new IdTable<Transaction>();
  inFlight = 0;
  /** Ends written (endOffset set), not yet settled: see maxUnansweredEnds. */
  unansweredEnds = 0;
  nextId = 1;
  needRset = false;
  /** The last MAIL, RCPT and BDAT lines built, with what they were built from: a bulk run
   *  repeats one envelope (prepareEnvelope hands out the same object) and one size, so each
   *  line is built once a connection instead of once a message. Capabilities are replaced on
   *  every EHLO, never changed in place, so comparing them by identity is enough. */
  mailLine: { readonly env: PreparedEnvelope; readonly caps: Capabilities; readonly secure: boolean; readonly line: string } | undefined =
    undefined;
  rcptLine: { readonly rcpt: PreparedRecipient; readonly caps: Capabilities; readonly line: string } | undefined = undefined;
  bdatLine: { readonly size: number; readonly last: boolean; readonly line: string } | undefined = undefined;
  /** MAIL commands written. */
  mailSeq = 0;
  /** An RSET was written after the first `rsetBefore` MAILs. */
  rsetBefore = 0;
  quitRequested = false;

  /** The SASL exchange while the phase is `auth`. */
  authx: AuthExchange | undefined;
  /** The whole AUTH phase (timeouts.authTotal); read only in `auth`. */
  authDeadline = 0;
  /** The computation out with the driver (0: none). */
  computeId = 0;

  constructor(options: ConnectionOptions) {
    const checked = checkOptions(options);
    this.options = options;
    this.timeouts = checked.timeouts;
    this.window = checked.window;
    this.maxUnansweredEnds = checked.maxUnansweredEnds;
    this.chunkSize = checked.chunkSize;
    this.parser = new ReplyParser(options.limits);
    this.name = validateEhloName(options.name ?? '[127.0.0.1]');
    this.secure = options.secure === true;
    this.output = new OutputQueue(options.writtenSignal === true);
  }

  get over(): boolean {
    return this.phase === 'failed' || this.phase === 'closed';
  }

  /** The server advertised PIPELINING and the caller did not turn it off. */
  get pipelining(): boolean {
    return this.capabilities.pipelining && this.options.pipelining !== false;
  }

  /** May another command be written now? Without PIPELINING: only when nothing is outstanding. */
  canWrite(): boolean {
    return this.replies.open && (this.pipelining || this.replies.length === 0);
  }

  emit(event: SmtpEvent): void {
    this.output.event(event);
  }

  transcript(from: 'client' | 'server', text: string): void {
    if (this.options.transcript) this.emit({ type: 'transcript', from, text });
  }

  transcriptReply(reply: Reply): void {
    const n = reply.lines.length;
    reply.lines.forEach((line, i) => {
      const text = i === 0 && reply.enhanced ? `${reply.enhanced} ${line}` : line;
      this.emit({ type: 'transcript', from: 'server', text: `${reply.code}${i < n - 1 ? '-' : ' '}${text}` });
    });
  }

  /** Write a command line (`shown` in the transcript) and wait for its reply. */
  command(text: string, expectation: Expectation, shown = text): void {
    if (this.options.transcript) this.transcript('client', shown);
    this.output.line(text);
    this.expect(expectation);
  }

  expect(expectation: Expectation): void {
    this.replies.push(expectation, this.now, this.timeouts);
  }
}

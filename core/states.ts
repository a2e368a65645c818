// The session state table: every (phase, input) pair the session reacts to, the action it takes
// and the phases that action may lead to. connection.ts runs it; docs/architecture.md draws it.
// Transactions (MAIL/RCPT/DATA/BDAT) are not phases: inside `ready` they are driven by the
// reply FIFO, so any number can be in flight (PIPELINING) without multiplying states.
import type { Reply } from './reply.ts';

export type Phase =
  | 'idle' // created, start() not yet called
  | 'greeting' // waiting for the 220 banner
  | 'hello' // EHLO (or LHLO) sent
  | 'helo' // HELO sent after EHLO was refused
  | 'starttls' // STARTTLS sent
  | 'tls' // transport is doing the TLS handshake
  | 'auth' // SASL exchange in progress
  | 'ready' // transactions flow
  | 'quitting' // QUIT queued or sent; earlier replies still drain
  | 'closed' // ended cleanly
  | 'failed'; // ended with an error (sticky); queued bytes still flush

export type Input =
  | 'start'
  | 'reply-2xx'
  | 'reply-3xx'
  | 'reply-4xx'
  | 'reply-5xx'
  | 'reply-421' // service closing: at any time, even unprompted
  | 'tls-established'
  | 'quit' // the user asked to end the session and everything queued is written
  | 'abort' // the user asked to close now
  | 'eof'
  | 'timeout'
  | 'protocol-error';

export type Action =
  | 'expectGreeting'
  | 'sendHello'
  | 'sendHelo'
  | 'afterHello' // choose: STARTTLS, AUTH or ready
  | 'refusedGreeting' // 554 banner: QUIT politely, then fail
  | 'startTls' // tell the transport to upgrade
  | 'startTlsRefused' // opportunistic: go on in clear; required: fail
  | 'authStep' // answer a 334 challenge
  | 'authDone' // 235
  | 'authFailed'
  | 'outOfStep' // a reply class the command cannot get (RFC 5321 §4.3.2): protocol error
  | 'sendQuit'
  | 'quitDone'
  | 'fail';

export interface Transition {
  readonly action: Action;
  /** The phases the action may move to; the action picks one (checked at run time). */
  readonly to: readonly Phase[];
}

const fail: Transition = { action: 'fail', to: ['failed'] };
const outOfStep: Transition = { action: 'outOfStep', to: ['failed'] };
const preSessionReplyFailure = { 'reply-4xx': fail, 'reply-5xx': fail, 'reply-3xx': outOfStep } as const;

/** Inputs every live phase handles the same way. */
const ANY: Partial<Record<Input, Transition>> = {
  'reply-421': fail,
  eof: fail,
  timeout: fail,
  'protocol-error': fail,
  abort: fail,
};

export const TABLE: Readonly<Record<Phase, Partial<Record<Input, Transition>>>> = {
  idle: { start: { action: 'expectGreeting', to: ['greeting'] } },
  greeting: {
    ...preSessionReplyFailure,
    'reply-2xx': { action: 'sendHello', to: ['hello'] },
    'reply-5xx': { action: 'refusedGreeting', to: ['failed'] },
  },
  hello: {
    ...preSessionReplyFailure,
    'reply-2xx': { action: 'afterHello', to: ['starttls', 'auth', 'ready', 'failed'] },
    'reply-5xx': { action: 'sendHelo', to: ['helo', 'failed'] },
  },
  helo: {
    ...preSessionReplyFailure,
    'reply-2xx': { action: 'afterHello', to: ['auth', 'ready', 'failed'] },
  },
  starttls: {
    'reply-2xx': { action: 'startTls', to: ['tls'] },
    'reply-3xx': outOfStep,
    'reply-4xx': { action: 'startTlsRefused', to: ['auth', 'ready', 'failed'] },
    'reply-5xx': { action: 'startTlsRefused', to: ['auth', 'ready', 'failed'] },
  },
  tls: { 'tls-established': { action: 'sendHello', to: ['hello'] } },
  auth: {
    'reply-2xx': { action: 'authDone', to: ['ready', 'failed'] },
    'reply-3xx': { action: 'authStep', to: ['auth', 'failed'] },
    'reply-4xx': { action: 'authFailed', to: ['failed'] },
    'reply-5xx': { action: 'authFailed', to: ['failed'] },
  },
  // In `ready`, replies belong to transactions and are routed by the FIFO, not by this table.
  ready: { quit: { action: 'sendQuit', to: ['quitting'] } },
  quitting: {
    'reply-2xx': { action: 'quitDone', to: ['closed'] },
    'reply-3xx': { action: 'quitDone', to: ['closed'] },
    'reply-4xx': { action: 'quitDone', to: ['closed'] },
    'reply-5xx': { action: 'quitDone', to: ['closed'] },
    eof: { action: 'quitDone', to: ['closed'] },
  },
  closed: {},
  failed: {},
};

/** The transition for (phase, input): the phase's own row first, then the shared ANY row for
 *  live phases. Undefined means the input is ignored in that phase. */
export function lookup(phase: Phase, input: Input): Transition | undefined {
  const own = TABLE[phase][input];
  if (own) return own;
  if (phase === 'idle' || phase === 'closed' || phase === 'failed') return undefined;
  return ANY[input];
}

export function replyInput(reply: Reply): Input {
  if (reply.code === 421) return 'reply-421';
  return (['reply-2xx', 'reply-3xx', 'reply-4xx', 'reply-5xx'] as const)[Math.floor(reply.code / 100) - 2]!;
}

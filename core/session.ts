// The session (RFC 5321 §3.1, §4.1.1): the greeting, EHLO/LHLO/HELO, QUIT and the way a session
// ends. fire() runs the table in states.ts; STARTTLS and AUTH actions are starttls.ts's and
// auth-session.ts's.
import { noCapabilities, parseEhloReply } from './capabilities.ts';
import type { ConnectionState } from './connection-state.ts';
import { SmtpConnectionError, SmtpError, SmtpInternalError, SmtpProtocolError, SmtpReplyError } from './errors.ts';
import { describeReply, type Reply } from './reply.ts';
import { lookup, replyInput, type Action, type Input } from './states.ts';
import { authDone, authFailed, authStep } from './auth-session.ts';
import { afterHello, startTls, startTlsRefused } from './starttls.ts';
import { settleTx } from './tx-replies.ts';
import { pump } from './tx-write.ts';
import { utf8 } from './text.ts';

const QUIT_LINE = utf8('QUIT\r\n');

/** Feed the table one input; `arg` is the reply or the error that caused it. */
export function fire(s: ConnectionState, input: Input, arg?: Reply | SmtpError): void {
  const t = lookup(s.phase, input);
  if (!t) {
    if (arg && 'code' in arg && typeof arg.code === 'number') {
      fail(s, new SmtpProtocolError(`unexpected reply in phase ${s.phase}: ${describeReply(arg)}`));
    }
    return;
  }
  const from = s.phase;
  run(s, t.action, arg);
  if (s.phase !== from && !t.to.includes(s.phase) && s.phase !== 'failed') {
    throw new SmtpInternalError(`state table violation: ${from} --${input}/${t.action}--> ${s.phase}`);
  }
}

function run(s: ConnectionState, action: Action, arg: Reply | SmtpError | undefined): void {
  const reply = arg && !(arg instanceof SmtpError) ? arg : undefined;
  switch (action) {
    case 'expectGreeting':
      s.phase = 'greeting';
      s.expect({ for: 'session', step: 'greeting', timer: 'greeting', barrier: false });
      return;
    case 'sendHello':
      if (reply) s.emit({ type: 'greeting', reply });
      s.tlsDeadline = undefined;
      hello(s, s.options.lmtp ? 'LHLO' : 'EHLO');
      return;
    case 'sendHelo':
      if (s.options.lmtp) return failPolitely(s, new SmtpReplyError(`LHLO refused: ${describeReply(reply!)}`, reply!, 'hello'));
      hello(s, 'HELO');
      return;
    case 'afterHello':
      s.capabilities = s.phase === 'helo' ? noCapabilities() : parseEhloReply(reply!);
      s.parser.enhancedCodes = s.capabilities.enhancedStatusCodes;
      return afterHello(s);
    case 'refusedGreeting':
      return failPolitely(s, new SmtpReplyError(`server refused the session: ${describeReply(reply!)}`, reply!, 'greeting'));
    case 'startTls':
      return startTls(s);
    case 'startTlsRefused':
      return startTlsRefused(s, reply!);
    case 'authStep':
      return authStep(s, reply!);
    case 'authDone':
      return authDone(s, reply!);
    case 'authFailed':
      return authFailed(s, reply!);
    case 'outOfStep': {
      const command =
        { greeting: 'the greeting', hello: s.options.lmtp ? 'LHLO' : 'EHLO', helo: 'HELO', starttls: 'STARTTLS' }[s.phase as string] ??
        s.phase;
      return fail(
        s,
        new SmtpProtocolError(`reply out of step: ${command} cannot get an intermediate (${reply!.code}) reply: ${describeReply(reply!)}`),
      );
    }
    case 'sendQuit':
      s.phase = 'quitting';
      s.command('QUIT', { for: 'session', step: 'quit', timer: 'quit', barrier: true });
      return;
    case 'quitDone':
      return finish(s, undefined);
    case 'fail':
      if (arg instanceof SmtpError) return fail(s, arg);
      // 421: the server announced it is closing, in order: nothing after its reply was taken.
      return fail(s, new SmtpConnectionError(`server closed the session: ${describeReply(reply!)}`), reply?.code === 421);
  }
}

/** A reply to a session step: the table decides. Any answer to QUIT is a goodbye, 421 included. */
export function sessionReply(s: ConnectionState, quit: boolean, reply: Reply): void {
  fire(s, quit && reply.code === 421 ? 'reply-4xx' : replyInput(reply), reply);
}

function hello(s: ConnectionState, verb: 'EHLO' | 'LHLO' | 'HELO'): void {
  s.phase = verb === 'HELO' ? 'helo' : 'hello';
  s.command(`${verb} ${s.name}`, { for: 'session', step: 'hello', timer: 'hello', barrier: true });
}

/** STARTTLS and AUTH are done (or not wanted): transactions flow. */
export function enterReady(s: ConnectionState): void {
  s.phase = 'ready';
  s.emit({ type: 'ready', capabilities: s.capabilities, secure: s.secure, authenticated: s.authenticated });
  pump(s);
}

/** Say QUIT (no wait for its reply) and fail: for refusals where the server is still sane. */
export function failPolitely(s: ConnectionState, error: SmtpError): void {
  if (s.phase !== 'tls') s.output.bytes(QUIT_LINE);
  fail(s, error);
}

/** `announced`: the server said it is closing (421), so nothing pending was taken. */
export function fail(s: ConnectionState, error: SmtpError, announced = false): void {
  if (s.over) return;
  s.phase = 'failed';
  s.error = error;
  end(s, error, announced);
}

function finish(s: ConnectionState, error: SmtpError | undefined): void {
  if (s.over) return;
  s.phase = 'closed';
  end(s, error);
}

function end(s: ConnectionState, error: SmtpError | undefined, announced = false): void {
  const lost = error ?? new SmtpConnectionError('the session ended before the reply');
  // Everything still pending settles now (OUTCOME_TABLE, tx-states.ts): unknown if its end
  // reached the transport and the server did not announce, in order, that it took nothing more.
  const by = announced ? 'closing' : 'link-lost';
  for (const tx of [...s.live.values()]) settleTx(s, tx, { by, error: lost });
  s.queue.clear();
  s.heldBody = 0;
  s.replies.clear();
  s.tlsDeadline = undefined;
  s.emit({ type: 'closed', error });
  s.output.push({ type: 'close' });
}

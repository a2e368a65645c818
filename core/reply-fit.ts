// Which replies a command can get. A reply that cannot belong to the command it is matched
// with means the reply stream is out of step (an extra or a missing reply, a broken server, or
// someone in the path): the session is failed rather than the reply believed.
//
// Reply classes: RFC 5321 §4.3.2 lists, per command, the codes it may get. Only DATA gets an
// intermediate reply (354); every command may get 4xx/5xx (500, 501, 421 and so on).
//
// Enhanced codes (RFC 3463), checked on success replies only and only where the server
// advertised ENHANCEDSTATUSCODES. What real servers send on success:
//   MAIL         2.1.0 (Postfix, sendmail, smtp-server, Gmail, Microsoft 365), 2.0.0 (OpenSMTPD,
//                which writes "2.0.0:", a form the parser does not take as a code)
//   RCPT         2.1.5 (all of those), 2.0.0 or 2.1.0 are plausible
//   end of data  2.0.0 (Postfix, sendmail, OpenSMTPD, Gmail), 2.6.0 (Microsoft 365, smtp-server);
//                LMTP per-recipient replies may carry an address code (Cyrus: 2.1.5)
//   BDAT chunk   2.0.0 (Postfix)
//   RSET, NOOP   2.0.0 mostly, but Gmail answers RSET with 2.1.5: not checked
// So: a success with a content code (X.6.x) cannot answer MAIL or RCPT, nor "destination
// address valid" (X.1.5) MAIL; an address code (X.1.x) cannot answer a body (a BDAT chunk or
// the end of data). 2.0.0 fits every command, so a shift among 2.0.0 replies is invisible.
import type { Reply } from './reply.ts';

/** The command a reply is matched with. */
export type Step = 'MAIL' | 'RCPT' | 'DATA' | 'BDAT' | 'end-of-data' | 'RSET' | 'NOOP';

/**
 * Why `reply` cannot be the reply to `step`, or undefined when it can. `enhanced`: the server
 * advertised ENHANCEDSTATUSCODES (and, for the end of data, the session is not LMTP, whose
 * per-recipient replies may carry address codes).
 */
export function misfit(step: Step, reply: Reply, enhanced: boolean): string | undefined {
  const code = reply.code;
  if (code >= 300 && code < 400) {
    if (step === 'DATA' && code === 354) return undefined;
    return `${step} cannot get an intermediate (${code}) reply`;
  }
  if (code >= 400) return undefined;
  if (step === 'DATA') return `DATA cannot succeed without a 354 (got ${code})`;
  if (!enhanced || reply.enhanced === undefined) return undefined;
  const e = reply.enhanced;
  if (e[0] !== '2') return `a ${code} reply cannot carry the enhanced code ${e}`; // RFC 3463 §2: same class
  // "2.S.D": the subject is the digits between the dots (one to three of them).
  const second = e.indexOf('.', 2);
  const subject = e.slice(2, second);
  switch (step) {
    case 'MAIL':
      if (subject === '6' || (subject === '1' && e.slice(second + 1) === '5')) return `a ${e} success cannot answer MAIL`;
      return undefined;
    case 'RCPT':
      if (subject === '6') return `a ${e} success cannot answer RCPT`;
      return undefined;
    case 'BDAT':
    case 'end-of-data':
      if (subject === '1') return `an address status (${e}) cannot answer ${step === 'BDAT' ? 'a BDAT chunk' : 'the end of data'}`;
      return undefined;
    default:
      return undefined;
  }
}

// STARTTLS (RFC 3207): whether to ask for it after EHLO, what a refusal means under each policy,
// and the injection check: nothing the server sent after its 220 may be believed (§5), so the
// facade fails the session when bytes follow it (checkInjection) and the parser is reset.
import type { ConnectionState } from './connection-state.ts';
import { noCapabilities } from './capabilities.ts';
import { SmtpProtocolError, SmtpTlsError } from './errors.ts';
import { describeReply, type Reply } from './reply.ts';
import { beginAuth } from './auth-session.ts';
import { enterReady, fail, failPolitely } from './session.ts';

/** After EHLO (or HELO): STARTTLS if wanted and offered, else on to AUTH. */
export function afterHello(s: ConnectionState): void {
  const wantTls = s.options.tls ?? 'opportunistic';
  if (!s.secure && wantTls !== 'none' && !s.triedStartTls) {
    if (s.capabilities.startTls) {
      s.triedStartTls = true;
      s.phase = 'starttls';
      s.command('STARTTLS', { for: 'session', step: 'starttls', timer: 'starttls', barrier: true });
      return;
    }
    if (wantTls === 'required') return failPolitely(s, new SmtpTlsError('TLS is required but the server does not offer STARTTLS'));
  }
  afterTlsDecision(s);
}

/** The 220 to STARTTLS: the facade asks the transport to upgrade once nothing followed it. */
export function startTls(s: ConnectionState): void {
  s.phase = 'tls';
  s.tlsDeadline = s.now + s.timeouts.tlsHandshake;
  // Forget everything said before TLS (RFC 3207 §4.2).
  s.capabilities = noCapabilities();
  s.parser.reset();
  s.parser.enhancedCodes = false;
  s.secure = true;
}

export function startTlsRefused(s: ConnectionState, reply: Reply): void {
  if (s.options.tls === 'required') {
    return failPolitely(s, new SmtpTlsError(`TLS is required but STARTTLS was refused: ${describeReply(reply)}`, reply));
  }
  afterTlsDecision(s);
}

/** Called after the replies of one receive() were taken, in phase `tls`: true when the session
 *  may upgrade, false (and failed) when the server sent anything after its 220. */
export function checkInjection(s: ConnectionState, rest: Uint8Array | undefined): boolean {
  // RFC 3207 §5: anything after the 220 to STARTTLS was sent before TLS and must not be believed.
  if (rest !== undefined || s.parser.midReply) {
    fail(s, new SmtpProtocolError('server sent data after its STARTTLS reply (STARTTLS injection); refusing to continue'));
    return false;
  }
  return true;
}

/** TLS is settled (had, refused, or not wanted): AUTH if configured, else ready. */
function afterTlsDecision(s: ConnectionState): void {
  if (!s.options.auth || s.authenticated) return enterReady(s);
  beginAuth(s);
}

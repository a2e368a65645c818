// Internal to the client and the pool (not exported from `smtpwire/client`).
import type { SmtpError } from '../core/errors.ts';
import type { TransactionResult } from '../core/events.ts';

/** The result of a send that never reached the core (id 0). */
export function notStarted(error: SmtpError): TransactionResult {
  return { id: 0, outcome: 'rejected', accepted: [], rejected: [], unknown: [], reply: error.reply, error };
}

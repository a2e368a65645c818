// The session side of SMTP AUTH (RFC 4954): one SASL exchange between `AUTH` and its final
// reply. connection.ts owns the wire and the timers; this file decides what each 334 gets.
//
// Fail-closed rules, all here so they hold for every mechanism, built-in or custom:
// - a mechanism answers at most `maxChallenges` challenges; the next one cancels with `*`;
// - after `*`, nothing more is ever sent: a 334 then is a protocol error (RFC 4954 §4 says the
//   server answers the cancel with 501), a 235 is not believed;
// - the client's own reason for cancelling stays with the exchange, so the error says why;
// - a computation a mechanism defers (SCRAM's PBKDF2) goes to the driver as a `compute`
//   output; its answer resumes the exchange (see docs/architecture.md, "Computations").
import { decodeBase64, encodeBase64 } from './sasl/base64.ts';
import {
  DEFAULT_MAX_CHALLENGES,
  SaslError,
  type Pbkdf2Request,
  type SaslContext,
  type SaslDeferred,
  type SaslExchange,
  type SaslMechanism,
} from './sasl/mechanism.ts';
import { printable } from './text.ts';

/** What the session does with a 334 (or with the answer to a computation). */
export type AuthAnswer =
  /** Send this line (base64, or `*`); `shown` is what the transcript may say. */
  | { readonly type: 'respond'; readonly line: string; readonly shown: string }
  /** Ask the driver for this computation, then call `resume()` with its result. */
  | { readonly type: 'compute'; readonly request: Pbkdf2Request }
  /** The server broke RFC 4954: end the session, send nothing. */
  | { readonly type: 'violation'; readonly message: string };

export interface AuthExchangeOptions {
  /** The driver answers `compute` outputs; else the mechanism is told it cannot defer
   *  (canDefer false) and computes in place (SCRAM's PBKDF2 then blocks the session's caller). */
  readonly asyncCompute: boolean;
  /** Overrides the mechanism's own challenge bound. */
  readonly maxChallenges: number | undefined;
}

const CANCEL: AuthAnswer = { type: 'respond', line: '*', shown: '*' };

export class AuthExchange {
  readonly mechanism: SaslMechanism;
  /** Set once the client sent `*`: why it did (printable, never a secret). */
  cancelReason: string | undefined;
  /** The initial response, when too long to go with AUTH: the first 334 gets it. */
  #withheld: Uint8Array | undefined;
  readonly #sasl: SaslExchange;
  readonly #max: number;
  readonly #async: boolean;
  #challenges = 0;
  #deferred: SaslDeferred | undefined;

  constructor(mechanism: SaslMechanism, sasl: SaslExchange, options: AuthExchangeOptions) {
    this.mechanism = mechanism;
    this.#sasl = sasl;
    this.#max = options.maxChallenges ?? mechanism.maxChallenges ?? DEFAULT_MAX_CHALLENGES;
    this.#async = options.asyncCompute;
  }

  /** Throws SaslError when the mechanism cannot start with these credentials. */
  static create(
    mechanism: SaslMechanism,
    credentials: Parameters<SaslMechanism['create']>[0],
    context: SaslContext,
    options: AuthExchangeOptions,
  ): AuthExchange {
    return new AuthExchange(mechanism, mechanism.create(credentials, { ...context, canDefer: options.asyncCompute }), options);
  }

  /** The initial response (undefined: the mechanism waits for a challenge). */
  start(): Uint8Array | undefined {
    return this.#sasl.start();
  }

  /** The initial response did not fit the AUTH line: answer the first 334 with it instead. */
  withhold(initial: Uint8Array): void {
    this.#withheld = initial;
  }

  /** A computation is out with the driver. */
  get computing(): boolean {
    return this.#deferred !== undefined;
  }

  /** A 334 arrived: what to send. `text` is the reply's first line. */
  challenge(text: string): AuthAnswer {
    if (this.cancelReason !== undefined) {
      return {
        type: 'violation',
        message: `the server sent another AUTH challenge after the client cancelled with "*" (RFC 4954 requires 501); the client had cancelled because ${this.cancelReason}`,
      };
    }
    if (this.#withheld) {
      const initial = this.#withheld;
      this.#withheld = undefined;
      return { type: 'respond', line: encodeBase64(initial), shown: '<redacted>' };
    }
    if (++this.#challenges > this.#max) {
      return this.cancel(
        `the server sent more than ${this.#max} challenge${this.#max === 1 ? '' : 's'}, the most ${this.mechanism.name} needs`,
      );
    }
    const challenge = decodeBase64(text.trim());
    if (!challenge) return this.cancel('the server challenge is not valid base64');
    return this.answer(() => this.#sasl.step(challenge));
  }

  /** The driver's result for the pending computation. */
  resume(result: Uint8Array): AuthAnswer {
    const deferred = this.#deferred!;
    this.#deferred = undefined;
    if (!(result instanceof Uint8Array)) return this.cancel('the PBKDF2 provider did not return bytes');
    return this.answer(() => deferred.resume(result));
  }

  /** The driver could not compute. */
  computeFailed(error: unknown): AuthAnswer {
    this.#deferred = undefined;
    return this.cancel(`the key derivation failed: ${printable(error instanceof Error ? error.message : String(error))}`);
  }

  /** After 235: may the session count as authenticated? Undefined if so, else why not. */
  verdict(): string | undefined {
    if (this.cancelReason !== undefined) return `the server accepted AUTH after the client cancelled it because ${this.cancelReason}`;
    if (this.computing) return 'the server accepted AUTH before the client answered its challenge';
    if (!this.#sasl.complete()) return 'the server accepted AUTH but could not prove it knows the credentials';
    return undefined;
  }

  private answer(step: () => Uint8Array | SaslDeferred): AuthAnswer {
    let out: Uint8Array | SaslDeferred;
    try {
      out = step();
      if (!(out instanceof Uint8Array)) {
        // The core keeps no PBKDF2 of its own (SCRAM brings it): a mechanism that defers when
        // told it cannot has broken its contract.
        if (!this.#async) return this.cancel(`${this.mechanism.name} deferred a computation although canDefer was false`);
        this.#deferred = out;
        return { type: 'compute', request: out.compute };
      }
    } catch (e) {
      // A SaslError's text is the mechanism's own (no secrets); anything else is a bug there.
      return this.cancel(
        e instanceof SaslError ? e.message : `${this.mechanism.name} failed: ${printable(e instanceof Error ? e.message : String(e))}`,
      );
    }
    return { type: 'respond', line: encodeBase64(out), shown: '<redacted>' };
  }

  /** RFC 4954 §4: `*` cancels; the server must answer 501. Nothing is sent after it. */
  private cancel(reason: string): AuthAnswer {
    this.cancelReason = printable(reason);
    return CANCEL;
  }
}

// Failure rules for the testing server: the ways a real server says no that an application must
// handle. Plain data, so a test reads like the situation it sets up:
//   { rejectRecipients: [{ match: /@blocked\./, code: 550 }], closeAfter: 3, dropAfterEnd: [2] }

export interface RecipientRule {
  /** A RegExp tested against the address, or an exact address (case-insensitive). */
  readonly match: RegExp | string;
  /** Reply code, default 550 (a 4xx code makes it a transient refusal). */
  readonly code?: number;
  readonly text?: string;
}

export type ReplyKind = 'greeting' | 'ehlo' | 'auth' | 'mail' | 'rcpt' | 'data' | 'end' | 'other';

export interface ServerRules {
  /** Refuse these recipients at RCPT TO. */
  readonly rejectRecipients?: readonly RecipientRule[];
  /** After this many messages (server-wide), answer the next MAIL FROM with 421 and close. */
  readonly closeAfter?: number;
  /** Drop the link right after the end of these messages (1-based, server-wide), before any
   *  reply: the client cannot know whether the message was taken, so it reports `unknown`.
   *  A function decides per message. The message is still recorded, with fate 'dropped'. */
  readonly dropAfterEnd?: readonly number[] | ((seq: number) => boolean);
  /** Hold replies back: milliseconds for every reply, or per kind of reply ('end' is the reply
   *  to the final dot / BDAT LAST). Runs on the server's clock (virtual or real). */
  readonly delay?: number | Partial<Record<ReplyKind, number>>;
  /** Offer AUTH PLAIN and LOGIN. `users` maps user to password (absent: any password works);
   *  `fail: true` refuses every attempt with 535. `required` (default true): MAIL needs AUTH. */
  readonly auth?: {
    readonly users?: Readonly<Record<string, string>>;
    readonly fail?: boolean | { readonly code: number; readonly text?: string };
    readonly required?: boolean;
  };
}

export const matchRules = {
  /** The refusal for this recipient, or undefined to accept it. */
  recipient(rules: ServerRules, address: string): string | undefined {
    for (const rule of rules.rejectRecipients ?? []) {
      const hit = typeof rule.match === 'string' ? rule.match.toLowerCase() === address.toLowerCase() : rule.match.test(address);
      if (!hit) continue;
      const code = rule.code ?? 550;
      return `${code} ${rule.text ?? `${code < 500 ? '4' : '5'}.1.1 recipient refused (testing rule)`}`;
    }
    return undefined;
  },

  auth(rules: ServerRules, user: string, pass: string): string | undefined {
    const auth = rules.auth;
    if (!auth) return '502 5.5.1 AUTH not offered';
    if (auth.fail) {
      const f = auth.fail === true ? { code: 535 } : auth.fail;
      return `${f.code} ${f.text ?? '5.7.8 authentication failed (testing rule)'}`;
    }
    if (auth.users && !(Object.hasOwn(auth.users, user) && auth.users[user] === pass))
      return '535 5.7.8 authentication credentials invalid';
    return undefined;
  },

  dropAfterEnd(rules: ServerRules, seq: number): boolean {
    const d = rules.dropAfterEnd;
    if (d === undefined) return false;
    return typeof d === 'function' ? d(seq) : d.includes(seq);
  },

  delay(rules: ServerRules, kind: ReplyKind): number {
    const d = rules.delay;
    if (d === undefined) return 0;
    return typeof d === 'number' ? d : (d[kind] ?? 0);
  },
};

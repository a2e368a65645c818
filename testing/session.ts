// One SMTP server session, sans-IO: bytes from a client in, replies and recorded messages out.
// The in-memory transport (testing/memory.ts) and the loopback capture server (testing/capture.ts)
// are two adapters around it. It accepts everything by default; `rules` make it fail the ways a
// real server fails (testing/rules.ts). Every buffer it keeps is bounded: a client that never
// sends a line end gets 500 and is dropped, a body over `maxSize` gets 552.
import { SmtpUsageError } from '../core/errors.ts';
import { joinBytes } from '../core/bytes.ts';
import { decodeUtf8 } from '../core/text.ts';
import { readMessage, type ReadMessage } from './read-message.ts';
import { matchRules, type ServerRules } from './rules.ts';

export interface RecordedEnvelope {
  readonly from: string;
  readonly to: readonly string[];
  /** ESMTP parameters of MAIL FROM (e.g. SIZE=123, BODY=8BITMIME, SMTPUTF8), as sent. */
  readonly mailParams: readonly string[];
  /** How the body came: DATA (dot-unstuffed) or BDAT chunks. */
  readonly via: 'DATA' | 'BDAT';
}

export interface RecordedMessage extends ReadMessage {
  /** 1-based, per server (not per connection). */
  readonly seq: number;
  readonly envelope: RecordedEnvelope;
  /** The message as the client sent it (after dot-unstuffing), without the end marker. */
  readonly raw: Uint8Array;
  /** What the server did with it: accepted (250), or the link was dropped after the end. */
  readonly fate: 'accepted' | 'dropped';
  /** Authenticated user, when the session authenticated. */
  readonly user: string | undefined;
  readonly secure: boolean;
}

export type SessionAction =
  | { readonly type: 'reply'; readonly text: string; readonly delay: number }
  /** Close the link after the replies before this (QUIT, 421). */
  | { readonly type: 'close' }
  /** Drop the link now, with no reply (a lost connection). */
  | { readonly type: 'drop' }
  /** Switch to TLS after the 220 before this (STARTTLS). */
  | { readonly type: 'starttls' };

export interface SessionOptions {
  readonly hostname?: string;
  readonly rules?: ServerRules;
  /** Offer STARTTLS (the adapter must be able to do it). */
  readonly starttls?: boolean;
  /** Largest message accepted, in octets (advertised as SIZE). Default 32 MiB. */
  readonly maxSize?: number;
  /** Called for every message taken. Returns nothing; the session already recorded it. */
  readonly onMessage?: (message: RecordedMessage) => void;
  /** Server-wide counters (shared by every session of one server). */
  readonly shared?: SharedState;
}

/** What the sessions of one server share: the message counter, for `closeAfter` and `seq`. */
export class SharedState {
  messages = 0;
  connections = 0;
}

const MAX_LINE = 4096; // RFC 5321 §4.5.3.1.4 says 512 for commands; be generous, stay bounded
const MAX_RECIPIENTS = 1000;

type Mode = 'command' | 'data' | 'bdat' | 'auth-plain' | 'auth-login-user' | 'auth-login-pass' | 'closed';

export class SmtpServerSession {
  readonly #o: SessionOptions;
  readonly #rules: ServerRules;
  readonly #shared: SharedState;
  readonly #host: string;
  readonly #maxSize: number;
  #mode: Mode = 'command';
  #input: Uint8Array = new Uint8Array(0);
  #greeted = false;
  #secure: boolean;
  #user: string | undefined;
  #loginUser = '';
  #from: string | undefined;
  #mailParams: string[] = [];
  #to: string[] = [];
  #body: Uint8Array[] = [];
  #bodySize = 0;
  #bdatLeft = 0;
  #bdatLast = false;
  #tooBig = false;
  #out: SessionAction[] = [];

  constructor(options: SessionOptions = {}, secure = false) {
    this.#o = options;
    this.#rules = options.rules ?? {};
    this.#shared = options.shared ?? new SharedState();
    this.#host = options.hostname ?? 'smtpwire.test';
    // It goes into every greeting and EHLO reply: no line breaks or spaces smuggled in there.
    if (!/^[A-Za-z0-9.-]{1,253}$/.test(this.#host))
      throw new SmtpUsageError(`hostname must be a domain name (letters, digits, dots, hyphens), not ${JSON.stringify(this.#host)}`);
    this.#maxSize = options.maxSize ?? 32 * 1024 * 1024;
    this.#secure = secure;
    this.#shared.connections++;
  }

  get secure(): boolean {
    return this.#secure;
  }

  /** The greeting (and any rule that refuses the connection). Call once, first. */
  start(): SessionAction[] {
    this.#reply('greeting', `220 ${this.#host} ESMTP smtpwire testing server`);
    return this.#take();
  }

  /** The link is TLS now (after a `starttls` action): RFC 3207 resets the session. */
  tlsEstablished(): void {
    this.#secure = true;
    this.#greeted = false;
    this.#resetTransaction();
  }

  /** Bytes from the client; returns what to do, in order. */
  receive(bytes: Uint8Array): SessionAction[] {
    if (this.#mode === 'closed') return [];
    this.#input = this.#input.length === 0 ? bytes.slice() : concat(this.#input, bytes);
    while ((this.#mode as Mode) !== 'closed' && this.#step());
    return this.#take();
  }

  #take(): SessionAction[] {
    const out = this.#out;
    this.#out = [];
    return out;
  }

  /** One unit of input (a line, or a run of BDAT octets); false when more input is needed. */
  #step(): boolean {
    if (this.#mode === 'bdat') {
      const n = Math.min(this.#bdatLeft, this.#input.length);
      if (n === 0 && this.#bdatLeft > 0) return false;
      this.#addBody(this.#input.subarray(0, n));
      this.#input = this.#input.subarray(n);
      this.#bdatLeft -= n;
      if (this.#bdatLeft > 0) return false;
      this.#mode = 'command';
      if (this.#bdatLast) this.#finish('BDAT');
      else if (this.#from === undefined || this.#to.length === 0) this.#reply('data', '503 5.5.1 no valid transaction');
      else this.#reply('data', `250 2.0.0 chunk taken`);
      return true;
    }
    const lf = this.#input.indexOf(0x0a);
    if (lf < 0) {
      if (this.#input.length > (this.#mode === 'data' ? 1 << 20 : MAX_LINE)) {
        this.#reply('other', '500 5.5.2 line too long');
        this.#close();
      }
      return false;
    }
    const raw = this.#input.subarray(0, lf + 1);
    this.#input = this.#input.subarray(lf + 1);
    if (this.#mode === 'data') {
      if (raw.length <= 3 && raw[0] === 0x2e && (raw.length === 2 || raw[1] === 0x0d)) {
        this.#mode = 'command';
        this.#finish('DATA');
      } else this.#addBody(raw[0] === 0x2e ? raw.subarray(1) : raw);
      return true;
    }
    if (raw.length > MAX_LINE) {
      this.#reply('other', '500 5.5.2 line too long');
      return true;
    }
    this.#line(decodeUtf8(raw).replace(/\r?\n$/, ''));
    return true;
  }

  #line(line: string): void {
    switch (this.#mode) {
      case 'auth-plain':
        return this.#authPlain(line);
      case 'auth-login-user':
        this.#loginUser = b64text(line);
        this.#mode = 'auth-login-pass';
        return this.#reply('auth', '334 UGFzc3dvcmQ6');
      case 'auth-login-pass':
        this.#mode = 'command';
        return this.#authResult(this.#loginUser, b64text(line));
      default:
        break; // 'command': a command line (data, BDAT and closed never read lines here)
    }
    const m = /^([A-Za-z]+)(?: (.*))?$/.exec(line);
    const verb = m?.[1]?.toUpperCase() ?? '';
    const arg = m?.[2] ?? '';
    switch (verb) {
      case 'EHLO':
      case 'HELO':
        return this.#ehlo(verb, arg);
      case 'STARTTLS':
        if (!this.#o.starttls || this.#secure) return this.#reply('other', '502 5.5.1 STARTTLS not offered');
        this.#reply('other', '220 2.0.0 ready to start TLS');
        this.#out.push({ type: 'starttls' });
        return;
      case 'AUTH':
        return this.#auth(arg);
      case 'MAIL':
        return this.#mail(arg);
      case 'RCPT':
        return this.#rcpt(arg);
      case 'DATA':
        if (this.#from === undefined) return this.#reply('data', '503 5.5.1 MAIL first');
        if (this.#to.length === 0) return this.#reply('data', '554 5.5.1 no valid recipients');
        this.#mode = 'data';
        return this.#reply('data', '354 end data with <CR><LF>.<CR><LF>');
      case 'BDAT':
        return this.#bdat(arg);
      case 'RSET':
        this.#resetTransaction();
        return this.#reply('other', '250 2.0.0 reset');
      case 'NOOP':
        return this.#reply('other', '250 2.0.0 ok');
      case 'VRFY':
        return this.#reply('other', '252 2.1.5 cannot verify, will try');
      case 'QUIT':
        this.#reply('other', `221 2.0.0 ${this.#host} closing`);
        return this.#close();
      default:
        return this.#reply('other', '500 5.5.2 command not recognized');
    }
  }

  #ehlo(verb: string, arg: string): void {
    if (arg.trim() === '') return this.#reply('ehlo', `501 5.5.4 ${verb} needs a domain`);
    this.#greeted = true;
    this.#resetTransaction();
    if (verb === 'HELO') return this.#reply('ehlo', `250 ${this.#host}`);
    const caps = [this.#host, 'PIPELINING', '8BITMIME', 'SMTPUTF8', 'ENHANCEDSTATUSCODES', 'CHUNKING', `SIZE ${this.#maxSize}`];
    if (this.#o.starttls && !this.#secure) caps.push('STARTTLS');
    if (this.#rules.auth) caps.push('AUTH PLAIN LOGIN');
    this.#reply('ehlo', caps.map((c, i) => `250${i === caps.length - 1 ? ' ' : '-'}${c}`).join('\r\n'));
  }

  #auth(arg: string): void {
    if (!this.#rules.auth) return this.#reply('auth', '502 5.5.1 AUTH not offered');
    if (this.#user !== undefined) return this.#reply('auth', '503 5.5.1 already authenticated');
    const [mech = '', initial] = arg.split(' ');
    switch (mech.toUpperCase()) {
      case 'PLAIN':
        if (initial === undefined) {
          this.#mode = 'auth-plain';
          return this.#reply('auth', '334 ');
        }
        return this.#authPlain(initial);
      case 'LOGIN':
        if (initial !== undefined) {
          this.#loginUser = b64text(initial);
          this.#mode = 'auth-login-pass';
          return this.#reply('auth', '334 UGFzc3dvcmQ6');
        }
        this.#mode = 'auth-login-user';
        return this.#reply('auth', '334 VXNlcm5hbWU6');
      default:
        return this.#reply('auth', '504 5.5.4 mechanism not supported');
    }
  }

  #authPlain(b64: string): void {
    this.#mode = 'command';
    if (b64 === '*') return this.#reply('auth', '501 5.7.0 authentication cancelled');
    const parts = b64text(b64).split('\0');
    if (parts.length !== 3) return this.#reply('auth', '501 5.5.2 malformed PLAIN response');
    this.#authResult(parts[1]!, parts[2]!);
  }

  #authResult(user: string, pass: string): void {
    const failure = matchRules.auth(this.#rules, user, pass);
    if (failure) return this.#reply('auth', failure);
    this.#user = user;
    this.#reply('auth', '235 2.7.0 authenticated');
  }

  #mail(arg: string): void {
    if (!this.#greeted) return this.#reply('mail', '503 5.5.1 EHLO first');
    if (this.#from !== undefined) return this.#reply('mail', '503 5.5.1 nested MAIL');
    if (this.#rules.auth && this.#user === undefined && this.#rules.auth.required !== false) {
      return this.#reply('mail', '530 5.7.0 authentication required');
    }
    const closeAfter = this.#rules.closeAfter;
    if (closeAfter !== undefined && this.#shared.messages >= closeAfter) {
      this.#reply('mail', '421 4.3.2 too many messages, closing (testing rule closeAfter)');
      return this.#close();
    }
    const m = /^FROM:\s*<([^>]*)>(.*)$/i.exec(arg);
    if (!m) return this.#reply('mail', '501 5.5.4 syntax: MAIL FROM:<address>');
    const params = m[2]!
      .trim()
      .split(/\s+/)
      .filter((p) => p !== '');
    const size = params.find((p) => /^SIZE=/i.test(p));
    if (size !== undefined && Number(size.slice(5)) > this.#maxSize) return this.#reply('mail', '552 5.3.4 message too big');
    this.#from = m[1]!;
    this.#mailParams = params;
    this.#reply('mail', '250 2.1.0 sender ok');
  }

  #rcpt(arg: string): void {
    if (this.#from === undefined) return this.#reply('rcpt', '503 5.5.1 MAIL first');
    const m = /^TO:\s*<([^>]*)>/i.exec(arg);
    if (!m) return this.#reply('rcpt', '501 5.5.4 syntax: RCPT TO:<address>');
    if (this.#to.length >= MAX_RECIPIENTS) return this.#reply('rcpt', '452 4.5.3 too many recipients');
    const refusal = matchRules.recipient(this.#rules, m[1]!);
    if (refusal) return this.#reply('rcpt', refusal);
    this.#to.push(m[1]!);
    this.#reply('rcpt', '250 2.1.5 recipient ok');
  }

  #bdat(arg: string): void {
    const m = /^(\d{1,10})( LAST)?$/i.exec(arg.trim());
    if (!m) {
      this.#reply('data', '501 5.5.4 syntax: BDAT size [LAST]');
      return this.#close(); // the chunk that follows cannot be found any more
    }
    this.#bdatLeft = Number(m[1]);
    this.#bdatLast = m[2] !== undefined;
    if (this.#from === undefined || this.#to.length === 0) {
      // Read and discard the chunk, then refuse (RFC 3030 §2: the octets still follow).
      this.#mode = 'bdat';
      this.#tooBig = true;
      return;
    }
    this.#mode = 'bdat';
  }

  #addBody(bytes: Uint8Array): void {
    this.#bodySize += bytes.length;
    if (this.#bodySize > this.#maxSize) {
      this.#tooBig = true;
      this.#body = [];
    }
    if (!this.#tooBig && bytes.length > 0) this.#body.push(bytes.slice());
  }

  #finish(via: 'DATA' | 'BDAT'): void {
    if (this.#tooBig) {
      const noTransaction = this.#from === undefined || this.#to.length === 0;
      this.#resetTransaction();
      return this.#reply('end', noTransaction ? '503 5.5.1 no valid transaction' : '552 5.3.4 message too big');
    }
    const raw = joinBytes(this.#body);
    const seq = ++this.#shared.messages;
    const drop = matchRules.dropAfterEnd(this.#rules, seq);
    const message: RecordedMessage = {
      seq,
      envelope: { from: this.#from!, to: [...this.#to], mailParams: [...this.#mailParams], via },
      raw,
      fate: drop ? 'dropped' : 'accepted',
      user: this.#user,
      secure: this.#secure,
      ...readMessage(raw),
    };
    this.#resetTransaction();
    this.#o.onMessage?.(message);
    if (drop) {
      this.#mode = 'closed';
      this.#out.push({ type: 'drop' });
      return;
    }
    this.#reply('end', `250 2.0.0 queued as ${seq}`);
  }

  #resetTransaction(): void {
    this.#from = undefined;
    this.#mailParams = [];
    this.#to = [];
    this.#body = [];
    this.#bodySize = 0;
    this.#tooBig = false;
  }

  #reply(kind: Parameters<typeof matchRules.delay>[1], text: string): void {
    this.#out.push({ type: 'reply', text: text + '\r\n', delay: matchRules.delay(this.#rules, kind) });
  }

  #close(): void {
    this.#mode = 'closed';
    this.#out.push({ type: 'close' });
  }
}

function b64text(b64: string): string {
  try {
    const bin = atob(b64.trim());
    return decodeUtf8(Uint8Array.from(bin, (c) => c.charCodeAt(0)));
  } catch {
    return '';
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

// smtpwire/message: building and signing messages. Pure code (no I/O, no runtime API beyond
// WebCrypto), the same on Node, Deno, Bun and Workers.
export * from './dkim.ts';

// IDN for the message layer. The code lives in core/idn.ts because the core needs it too
// (MAIL FROM / RCPT TO in A-labels when the server lacks SMTPUTF8) and the core may not import
// from message/.
export { domainToAscii, domainToUnicode, punycodeEncode, punycodeDecode } from '../core/idn.ts';

// Message building and DKIM from options as one part (client/parts.ts MessageSupport): what
// client.send() and pool.send() need for builder options ({ from, to, subject, text, ... }) and
// for `dkim` given as options rather than a DkimSigner. The Node, Deno and Bun entries include
// it; in a Worker, `import { messages } from 'smtpwire/message'` and connect({ ..., messages }).
// (A message made with buildMessage() renders itself: sending one needs no part.)
import { buildMessage } from '../message/build.ts';
import { dkimSigner, signRaw, signRendered } from './dkim-send.ts';
import type { MessageSupport } from './parts.ts';

export const messages: MessageSupport = Object.freeze({
  build: buildMessage,
  signer: dkimSigner,
  signRaw,
  signRendered,
} satisfies MessageSupport);

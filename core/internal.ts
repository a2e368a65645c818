// smtpwire/core/internal: the core's building blocks, for smtpwire's own layers (client,
// message, testing, the CLI) and for tools. Not the public API (that is core/index.ts): names
// here may change in any release.
export { ReplyParser } from './reply.ts';
export { parseEhloReply } from './capabilities.ts';
export { TABLE as STATE_TABLE, type Input, type Action, type Transition } from './states.ts';
export { TX_TABLE, OUTCOME_TABLE, type TxStage, type TxEvent, type SettleInput, type Verdict } from './tx-states.ts';
export { BodyEncoder, needsEightBit, isWireReady, scanBody, BODY_EIGHT_BIT, BODY_NOT_CANONICAL, type BodyEncoderOptions } from './body.ts';
export { formatPath, needsSmtpUtf8 } from './address.ts';
export { printable, utf8, decodeUtf8 } from './text.ts';
export { joinBytes } from './bytes.ts';
export { encodeBase64, decodeBase64 } from './sasl/base64.ts';
export { sha256, Sha256, md5, hmac, hmacMd5, hmacSha256, pbkdf2Sha256, pbkdf2Sha256Sliced, type HashFunction } from './sasl/hash.ts';
export { chooseMechanism, validateCredentials, SCRAM_MAX_ITERATIONS, SCRAM_MIN_ITERATIONS, saslPrep } from './sasl/index.ts';
export { bearerExchange } from './sasl/mechanism.ts';
export { proxySteps, describeProxy, type ProxySteps, type StepResult } from './proxy/index.ts';

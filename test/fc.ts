// fast-check for every property test. Each run draws a new seed (a failure prints it with the
// path, for fc.assert's { seed, path }), except when SMTPWIRE_PROPERTY_SEED fixes it: CI does,
// so a green run there is the same run every time and a red one reproduces exactly. A Worker
// has no environment of its own: test/runtimes/worker-entry.mjs copies the binding to a global
// of the same name (QuickJS's runner binds a `process` in).
import fc from 'fast-check';

const seed =
  (typeof process === 'undefined' ? undefined : process.env.SMTPWIRE_PROPERTY_SEED) ??
  (globalThis as { SMTPWIRE_PROPERTY_SEED?: string }).SMTPWIRE_PROPERTY_SEED;
if (seed !== undefined && seed !== '') {
  if (!/^-?\d+$/.test(seed)) throw new Error(`SMTPWIRE_PROPERTY_SEED must be an integer, not ${JSON.stringify(seed)}`);
  fc.configureGlobal({ ...fc.readConfigureGlobal(), seed: Number(seed) });
}

export default fc;

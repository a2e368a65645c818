// Byte helpers shared by the core and the layers above it (testing kit, Nodemailer adapter).

/** The parts one after another in one new array; a part may be bytes or a list of octets. */
export function joinBytes(parts: readonly (Uint8Array | readonly number[])[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

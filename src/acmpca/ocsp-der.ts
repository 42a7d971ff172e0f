/**
 * The few DER operations the OCSP responder needs on bytes it must keep exactly as they are: the
 * issuer name and public key of a CA certificate (hashed into a CertID, which must match what the
 * client hashed from the same bytes), and the signed ResponseData (the signature covers those
 * bytes, so the response is assembled around them instead of being serialized again).
 */

/** One element: its tag byte, where its content starts and ends, and where the element ends. */
export interface Tlv {
  tag: number;
  start: number;
  contentStart: number;
  end: number;
}

/** Reads the element at `offset` of `der`, checking its length fits; throws on anything malformed. */
export function readTlv(der: Uint8Array, offset: number, limit = der.length): Tlv {
  if (offset + 2 > limit) throw new Error("truncated DER");
  const tag = der[offset]!;
  // Multi-byte tags (low five bits all set) appear nowhere in the structures read here.
  if ((tag & 0x1f) === 0x1f) throw new Error("unsupported DER tag");
  let length = der[offset + 1]!;
  let contentStart = offset + 2;
  if (length & 0x80) {
    const octets = length & 0x7f;
    // Indefinite lengths are BER, not DER; four length octets already mean 4 GiB.
    if (octets === 0 || octets > 4) throw new Error("unsupported DER length");
    if (contentStart + octets > limit) throw new Error("truncated DER");
    length = 0;
    for (let i = 0; i < octets; i++) length = length * 256 + der[contentStart + i]!;
    contentStart += octets;
  }
  const end = contentStart + length;
  if (end > limit) throw new Error("truncated DER");
  return { tag, start: offset, contentStart, end };
}

/** The elements directly inside a constructed element. */
export function children(der: Uint8Array, parent: Tlv): Tlv[] {
  const out: Tlv[] = [];
  for (let at = parent.contentStart; at < parent.end;) {
    const child = readTlv(der, at, parent.end);
    out.push(child);
    at = child.end;
  }
  return out;
}

/** Whether `der` is exactly one SEQUENCE, nothing before or after it. */
export function isOneSequence(der: Uint8Array): boolean {
  try {
    const outer = readTlv(der, 0);
    return outer.tag === 0x30 && outer.end === der.length;
  } catch {
    return false;
  }
}

/**
 * From a certificate: the DER of its subject Name and the bits of its subjectPublicKey (the BIT
 * STRING's content without its unused-bits octet), as RFC 6960 §4.1.1 hashes them.
 */
export function subjectAndKey(certificateDer: Uint8Array): { subject: Buffer; publicKey: Buffer } {
  const cert = readTlv(certificateDer, 0);
  const tbs = children(certificateDer, cert)[0];
  if (!tbs || tbs.tag !== 0x30) throw new Error("not a certificate");
  const fields = children(certificateDer, tbs);
  // version [0] is absent from v1 certificates: serial, signature, issuer, validity, subject, spki follow.
  const first = fields[0]?.tag === 0xa0 ? 1 : 0;
  const subject = fields[first + 4];
  const spki = fields[first + 5];
  if (!subject || !spki || subject.tag !== 0x30 || spki.tag !== 0x30) throw new Error("not a certificate");
  const bits = children(certificateDer, spki)[1];
  if (!bits || bits.tag !== 0x03 || bits.end - bits.contentStart < 1) throw new Error("not a certificate");
  return {
    subject: Buffer.from(certificateDer.subarray(subject.start, subject.end)),
    publicKey: Buffer.from(certificateDer.subarray(bits.contentStart + 1, bits.end)),
  };
}

/** One DER element of `tag` around `content`. */
export function tlv(tag: number, ...content: Uint8Array[]): Buffer {
  const body = Buffer.concat(content);
  const n = body.length;
  let header: number[];
  if (n < 0x80) header = [tag, n];
  else if (n < 0x100) header = [tag, 0x81, n];
  else if (n < 0x10000) header = [tag, 0x82, n >> 8, n & 0xff];
  else header = [tag, 0x83, n >> 16, (n >> 8) & 0xff, n & 0xff];
  return Buffer.concat([Buffer.from(header), body]);
}

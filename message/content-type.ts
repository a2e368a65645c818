// Content types from file name extensions (a small table of what people attach), and MIME
// header parameters (RFC 2045 §5.1) with RFC 2231 for values that are not plain ASCII or are
// too long for one line.
import { SmtpUsageError } from '../core/errors.ts';
import { printable } from '../core/text.ts';

const TYPES: Record<string, string> = {
  txt: 'text/plain',
  text: 'text/plain',
  log: 'text/plain',
  md: 'text/markdown',
  csv: 'text/csv',
  htm: 'text/html',
  html: 'text/html',
  css: 'text/css',
  ics: 'text/calendar',
  vcf: 'text/vcard',
  xml: 'application/xml',
  json: 'application/json',
  js: 'text/javascript',
  pdf: 'application/pdf',
  zip: 'application/zip',
  gz: 'application/gzip',
  tar: 'application/x-tar',
  '7z': 'application/x-7z-compressed',
  rtf: 'application/rtf',
  eml: 'message/rfc822',
  doc: 'application/msword',
  xls: 'application/vnd.ms-excel',
  ppt: 'application/vnd.ms-powerpoint',
  docx: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  pptx: 'application/vnd.openxmlformats-officedocument.presentationml.presentation',
  odt: 'application/vnd.oasis.opendocument.text',
  ods: 'application/vnd.oasis.opendocument.spreadsheet',
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  webp: 'image/webp',
  svg: 'image/svg+xml',
  bmp: 'image/bmp',
  ico: 'image/vnd.microsoft.icon',
  tif: 'image/tiff',
  tiff: 'image/tiff',
  heic: 'image/heic',
  avif: 'image/avif',
  mp3: 'audio/mpeg',
  wav: 'audio/wav',
  ogg: 'audio/ogg',
  m4a: 'audio/mp4',
  mp4: 'video/mp4',
  webm: 'video/webm',
  mov: 'video/quicktime',
  woff: 'font/woff',
  woff2: 'font/woff2',
  ttf: 'font/ttf',
  otf: 'font/otf',
};

export const DEFAULT_TYPE = 'application/octet-stream';

/** The content type for a file name by its extension; application/octet-stream if unknown. */
export function contentTypeFor(filename: string | undefined): string {
  if (filename === undefined) return DEFAULT_TYPE;
  const dot = filename.lastIndexOf('.');
  if (dot < 0) return DEFAULT_TYPE;
  return TYPES[filename.slice(dot + 1).toLowerCase()] ?? DEFAULT_TYPE;
}

// RFC 2231 §7 attribute-char: a token without '*', "'" and '%'.
const ATTRIBUTE = /^[!#$&+\-.0-9A-Z^_`a-z{|}~]+$/;
// RFC 6838 §4.2: type and subtype names are at most 127 characters (so the field fits a line).
const TYPE = /^[!#$%&'*+\-.0-9A-Z^_`a-z{|}~]{1,127}\/[!#$%&'*+\-.0-9A-Z^_`a-z{|}~]{1,127}$/;

/** Checks a user-given `type/subtype` (parameters are not accepted: they are ours to write). */
export function assertMediaType(value: string, what: string): string {
  if (typeof value !== 'string' || !TYPE.test(value)) {
    throw new SmtpUsageError(
      `${what} must be a media type such as "application/pdf" (at most 127 characters each side of the "/"), without parameters: "${printable(String(value))}"`,
    );
  }
  return value.toLowerCase();
}

/**
 * `; name=value` pieces for a MIME header, each one a separate element so the caller can fold
 * between them. An ASCII value is a token or a quoted-string; a non-ASCII value, or one too long
 * to keep lines under 78, becomes RFC 2231 `name*0*=utf-8''...` sections of percent-encoded
 * UTF-8 (which every parser we test against decodes).
 */
export function formatParam(name: string, value: string): string[] {
  // "=?" too: many readers decode encoded-words even inside quoted parameters.
  if (/^[\x20-\x7e]*$/.test(value) && value.length <= 60 && !value.includes('=?')) {
    // A bare value only of RFC 2231 attribute-chars: Python's email reads "a*b.txt" as "a" and
    // drops "it's.txt" when they are not quoted (a '*' or "'" after the name means RFC 2231 to it).
    if (ATTRIBUTE.test(value)) return [`${name}=${value}`];
    return [`${name}="${value.replace(/["\\]/g, '\\$&')}"`];
  }
  // Sections of at most ~60 characters, cut between characters: never inside a %XX escape or a
  // UTF-8 sequence (readers such as Python's email decode each section on its own).
  const pieces: string[] = [];
  const emit = (section: string): void => {
    pieces.push(`${name}*${pieces.length}*=${pieces.length === 0 ? "utf-8''" : ''}${section}`);
  };
  let section = '';
  for (const c of value) {
    const encoded = percentEncode(c);
    if (section !== '' && section.length + encoded.length > 60) {
      emit(section);
      section = '';
    }
    section += encoded;
  }
  emit(section);
  return pieces;
}

const utf8Encoder = new TextEncoder();

// RFC 2231 §7 attribute-char: token characters except '*', "'" and '%'.
function percentEncode(value: string): string {
  let out = '';
  for (const b of utf8Encoder.encode(value)) {
    const c = String.fromCharCode(b);
    out += b < 0x80 && ATTRIBUTE.test(c) ? c : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** A header line `Name: value; p1; p2` folded before parameters that would pass 78 columns. */
export function mimeHeader(name: string, value: string, params: string[]): string {
  let out = `${name}: ${value}`;
  let line = out.length;
  for (const p of params) {
    if (line + 2 + p.length > 78) {
      out += `;\r\n ${p}`;
      line = 1 + p.length;
    } else {
      out += `; ${p}`;
      line += 2 + p.length;
    }
  }
  return `${out}\r\n`;
}

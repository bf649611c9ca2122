// Go's %q of a string (strconv.Quote), with no imports: errors.ts quotes task types with it
// (HandlerNotFoundError), and go-format.ts builds goQuote on it, so neither imports the other.

/** Go's `unicode.IsPrint` outside ASCII/Latin-1: categories L, M, N, P, S (the space is handled apart). */
const PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u;

function isGoPrint(cp: number): boolean {
  if (cp <= 0xff) {
    if (cp >= 0x20 && cp <= 0x7e) return true;
    if (cp >= 0xa1 && cp <= 0xff) return cp !== 0xad; // soft hyphen is a format character
    return false;
  }
  return PRINTABLE.test(String.fromCodePoint(cp));
}

/** `n` in lowercase hex, zero-padded to `width` digits. */
export function hex(n: number, width: number): string {
  return n.toString(16).padStart(width, "0");
}

const SHORT_ESCAPES: ReadonlyMap<number, string> = new Map([
  [0x07, "\\a"],
  [0x08, "\\b"],
  [0x0c, "\\f"],
  [0x0a, "\\n"],
  [0x0d, "\\r"],
  [0x09, "\\t"],
  [0x0b, "\\v"],
]);

/**
 * Go's `strconv.Quote` (what `%q` prints for a string): double quotes around the text; `"` and `\`
 * backslashed; `\a \b \f \n \r \t \v`; other bytes below space and DEL as `\xNN`; other non-printable
 * runes as `\uNNNN` / `\UNNNNNNNN`; printable non-ASCII (`ü`, `✓`, CJK, emoji) kept literally.
 * Printability uses the JS engine's Unicode tables, which may be newer than Go's.
 *
 * @param onLoneSurrogate gives the result for a string with a lone UTF-16 surrogate (it has no UTF-8
 *   form, so Go cannot hold it), from the index of the first one.
 */
export function goQuoteOr<T>(s: string, onLoneSurrogate: (index: number) => T): string | T {
  let out = '"';
  for (let i = 0; i < s.length;) {
    const cp = s.codePointAt(i)!;
    if (cp >= 0xd800 && cp <= 0xdfff) return onLoneSurrogate(i);
    if (cp === 0x22 || cp === 0x5c) {
      out += `\\${String.fromCharCode(cp)}`;
    } else if (isGoPrint(cp)) {
      out += String.fromCodePoint(cp);
    } else {
      const short = SHORT_ESCAPES.get(cp);
      if (short !== undefined) out += short;
      else if (cp < 0x20 || cp === 0x7f) out += `\\x${hex(cp, 2)}`;
      else if (cp < 0x10000) out += `\\u${hex(cp, 4)}`;
      else out += `\\U${hex(cp, 8)}`;
    }
    i += cp > 0xffff ? 2 : 1;
  }
  return `${out}"`;
}

/** `%q` of a string for messages: Go's quoting, or JSON's for a string Go cannot hold. Never throws. */
export function goQuoteOrJson(s: string): string {
  return goQuoteOr(s, () => JSON.stringify(s));
}

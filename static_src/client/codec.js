// Text as it travels in the protocol: UTF-8, %XX escapes except the
// characters encodeURI keeps, and space kept as is (PROTOCOL.md).

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

// A lone surrogate cannot be sent as UTF-8; U+FFFD keeps the length in
// UTF-16 units, so every delta stays valid against the shadow.
export function wellFormed(text) {
  return typeof text.toWellFormed === "function"
    ? text.toWellFormed()
    : text.replace(LONE_SURROGATE, "\uFFFD");
}

export function encodeText(text) {
  return encodeURI(wellFormed(text)).replace(/%20/g, " ");
}

// Throws URIError when the escapes are not valid UTF-8; callers treat that
// as a line that does not fit. '+' stays a plus sign.
export function decodeText(encoded) {
  return decodeURIComponent(encoded);
}

// Presence on the wire (mobwrite/presence.py): this page's `p:` line after
// each document's f: line, and the server's `w:` lines listing who else is
// there. The original server and client ignore both letters.

import { decodeText, encodeText } from "./codec.js";

export function presenceLine(info) {
  return "p:" + encodeText(JSON.stringify(info));
}

// A document's request lines with a p: line after its f: line.
export function withPresence(lines, info) {
  return info ? [lines[0], presenceLine(info), ...lines.slice(1)] : lines;
}

// A w: line's value as {doc, people: [{id, name, color, caret}]}, or null.
export function parseWho(value) {
  try {
    const who = JSON.parse(decodeText(value));
    if (who && typeof who.doc === "string" && Array.isArray(who.people)) return who;
  } catch (err) {
    // malformed: ignored, as any line we cannot read
  }
  return null;
}

// What the page set as mobwrite.user ({name, color}), checked, plus the
// caret where the field reports one; null when the page set nothing.
export function pageInfo(user, element) {
  if (!user || typeof user !== "object") return null;
  const info = {
    name: typeof user.name === "string" ? user.name.slice(0, 40) : "",
    color: typeof user.color === "string" ? user.color : "",
  };
  if (element && typeof element.selectionStart === "number" && document.activeElement === element) {
    info.caret = element.selectionStart;
  }
  return info;
}

// Private documents (issue 12): which capability token goes with which
// document, and what the gateway's x: answer lines say about them.
//
// A page sets mobwrite.token (for every document) or mobwrite.tokens
// ({name: token}); the request carries t:TOKEN before the document's lines.
// The answer's x:view:NAME means read-only (our edits are refused and put
// back), x:none:NAME no access at all.

export function tokenFor(settings, name) {
  const tokens = settings.tokens;
  if (tokens && typeof tokens === "object" && typeof tokens[name] === "string") return tokens[name];
  return typeof settings.token === "string" ? settings.token : "";
}

// The x: lines of an answer as a Map name -> "view" | "none".
export function accessLines(answer) {
  const found = new Map();
  for (const line of answer.split("\n")) {
    if (!line.startsWith("x:")) continue;
    const rest = line.slice(2);
    const colon = rest.indexOf(":");
    if (colon > 0) found.set(rest.slice(colon + 1), rest.slice(0, colon));
  }
  return found;
}

// The client-wide status the documents' rights call for, or null.
export function accessStatus(docs) {
  let status = null;
  for (const doc of docs) {
    if (doc.access === "none") return "noaccess";
    if (doc.access === "view") status = "readonly";
  }
  return status;
}

// Make a text element read-only while its document is (and undo only what
// we did: a page's own readOnly stays).
export function markReadOnly(doc) {
  const el = doc.element;
  if (!el || !("readOnly" in el)) return;
  if (doc.access !== "edit" && !el.readOnly) {
    el.readOnly = true;
    doc.madeReadOnly = true;
  } else if (doc.access === "edit" && doc.madeReadOnly) {
    el.readOnly = false;
    doc.madeReadOnly = false;
  }
}

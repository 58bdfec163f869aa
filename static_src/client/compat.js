// The original client's extension points, for pages and plugins written
// for it: mobwrite.shareObj, the base a page subclasses for a field type
// of its own, and mobwrite.shareHandlers, the list share() asks in order.
// Our own field types are shareObj subclasses too, and their handlers
// come first in the list, as the original's form module put them there.
//
// A shareObj is the page's view of one document; the sync state lives in
// the client's SharedDoc, and is copied onto the object (shadowText,
// clientVersion, serverVersion, editStack, deltaOk) after every request
// and answer, so code that reads those fields sees current values.

import { makeDmp } from "./diffs.js";
import { announce, fieldFor, isRadioGroup, watchedElements } from "./fields.js";

// `client` gives: settings, dmp, unshare(targets), nullify(obj), docFor(obj).
export function makeShareObj(client) {
  // The constructor a subclass calls with its document's id (without the
  // idPrefix, which is added on the wire). Called with no id, it makes a
  // prototype, the original's idiom: Sub.prototype = new mobwrite.shareObj("").
  function shareObj(id) {
    if (id) {
      this.file = id;
      this.dmp = makeDmp();
      this.editStack = [];
    }
  }
  Object.assign(shareObj.prototype, {
    shadowText: "",
    clientVersion: 0,
    serverVersion: 0,
    deltaOk: false,
    // True: text, merged with others' edits. False: overwritten, last writer wins.
    mergeChanges: true,
    getClientText() {
      throw new Error("mobwrite.shareObj: a subclass must define getClientText()");
    },
    setClientText() {
      throw new Error("mobwrite.shareObj: a subclass must define setClientText(text)");
    },
    // Others' edits, as diff-match-patch patches against this object's
    // text. A subclass with a caret to keep may override it.
    patchClientText(patches) {
      const before = this.getClientText();
      const [after] = this.dmp.patch_apply(patches, before);
      if (after !== before) this.setClientText(after);
    },
    // Told of each diff of this object's text sent to the gateway.
    onSentDiff() {},
    fireChange(node) {
      node.dispatchEvent(new Event("change", { bubbles: true }));
    },
    // The lines this object adds to the next request (what the client
    // sends for it anyway; for inspection and for subclasses to wrap).
    syncText() {
      const doc = client.docFor(this);
      return doc ? doc.lines(client.dmp).join("\n") + "\n" : "";
    },
    // Deletes the document on the gateway at the next sync, and stops
    // sharing it. Returns the request line that does it.
    nullify() {
      return client.nullify(this);
    },
  });
  return shareObj;
}

// Our own field types as shareObjs: they read and write through a field
// adapter of fields.js, which keeps the caret under remote edits.
export function makeFieldObj(shareObj) {
  function FieldObj(file, field) {
    shareObj.call(this, file);
    this.field = field;
    this.element = field.element;
  }
  FieldObj.prototype = Object.create(shareObj.prototype);
  FieldObj.prototype.constructor = FieldObj;
  FieldObj.prototype.getClientText = function () {
    return this.field.getText();
  };
  FieldObj.prototype.setClientText = function (text) {
    if (this.field.setText(text)) for (const el of this.announced()) announce(el, this.file);
  };
  FieldObj.prototype.announced = function () {
    return this.field.announced || [this.element];
  };
  FieldObj.prototype.watched = function () {
    return watchedElements(this.field);
  };
  // The field decides (a number is overwritten, text merged) unless the
  // page set mergeChanges on the object itself.
  Object.defineProperty(FieldObj.prototype, "mergeChanges", {
    get() {
      return this.mergeOverride !== undefined ? this.mergeOverride : this.field.merge();
    },
    set(value) {
      this.mergeOverride = !!value;
    },
  });
  return FieldObj;
}

// The built-in handlers: a form (every field in it), then any one field.
// Each takes an element or an element's id; null when it is not theirs.
export function builtInHandlers(client, FieldObj) {
  const byId = (node) => (typeof node === "string" ? document.getElementById(node) : node);
  const isElement = (node) => node && node.nodeType === 1;

  function formHandler(target) {
    const form = byId(target);
    if (!isElement(form) || form.tagName !== "FORM") return null;
    return formFields(form, client.settings, client.dmp).map(([file, field]) => new FieldObj(file, field));
  }

  function fieldHandler(target) {
    const el = byId(target);
    if (!isElement(el)) return null;
    const field = fieldFor(el, client.dmp, client.settings);
    if (!field) return null;
    const named = isRadioGroup(field) && client.settings.radioByName ? el.name : el.id || el.name;
    return named ? new FieldObj(named, field) : null;
  }

  return [formHandler, fieldHandler];
}

// [document id, field] for each field of a form. As the original: a field
// with an id is shared under its id, and a radio group under the id of its
// first button that has one. A field without an id falls back to our
// scheme, form id + "_" + name, and a second such field of the same name
// gets "_2" (and so on), so it syncs too. The setting formFieldNames names
// every field by that scheme instead.
export function formFields(form, settings, dmp) {
  const found = [];
  const groups = new Set();
  const uses = new Map();
  for (const child of form.elements) {
    const field = fieldFor(child, dmp, settings);
    if (!field) continue;
    let id = settings.formFieldNames ? "" : child.id;
    if (isRadioGroup(field)) {
      if (groups.has(child.name)) continue;
      groups.add(child.name);
      const withId = field.buttons().find((r) => r.id);
      id = settings.formFieldNames || settings.radioByName || !withId ? "" : withId.id;
    }
    if (!id) {
      if (!child.name) continue; // no id, no name: nothing to call its document
      const base = form.id || form.name;
      if (!base) throw new Error("mobwrite: a shared form needs an id for fields without one");
      const n = (uses.get(child.name) || 0) + 1;
      uses.set(child.name, n);
      id = `${base}_${child.name}${n > 1 ? "_" + n : ""}`;
    }
    found.push([id, field]);
  }
  return found;
}

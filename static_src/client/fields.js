// Adapters between form elements and shared documents: each reads the
// element's state as text and writes it back. As in the original client:
// text merges, and so does a multiple select (its values, NUL-separated);
// passwords, single selects, checkboxes, radio groups and numbers are
// overwritten, last writer wins. `settings` (the public mobwrite object)
// may opt into ours instead: mergePasswords, and mergeMultiSelect = false.

import { DELETE, EQUAL, continuesWord, diff } from "./diffs.js";

const NUMERIC = /^\s*[-+]?[\d.,]+\s*$/;
const MERGED_INPUTS = new Set(["text", "hidden", "email", "search", "url", "tel"]);
// The original client's separator between a multiple select's values, so
// both clients read and write the same document.
const SEPARATOR = "\0";
const NOT_SHARED = new Set(["button", "submit", "reset", "image", "file"]);

// Where position `pos` of the old text is in the new one, by a diff. A caret
// inside deleted text goes to where that text was.
export function mapPosition(diffs, pos) {
  let before = 0;
  let after = 0;
  let last; // the last character kept before this point
  for (const [op, text] of diffs) {
    if (op === EQUAL) {
      if (pos < before + text.length) return after + (pos - before);
      before += text.length;
      after += text.length;
      last = text[text.length - 1];
    } else if (op === DELETE) {
      if (pos < before + text.length) return after;
      before += text.length;
    } else if (pos === before && !continuesWord(last, text)) {
      return after;
    } else {
      after += text.length;
      if (pos !== before) last = text[text.length - 1];
    }
  }
  return after;
}

// Lets the page (a character count, a total) notice what the client wrote:
// a standard change event, as the original client fired, so onchange
// handlers run; and our own mobwrite:change, which carries the name. Both
// bubble, as a change the user makes does.
export function announce(element, name) {
  element.dispatchEvent(new Event("change", { bubbles: true }));
  element.dispatchEvent(new CustomEvent("mobwrite:change", { bubbles: true, detail: { name } }));
}

class TextField {
  constructor(element, dmp, settings) {
    this.element = element;
    this.dmp = dmp;
    this.settings = settings;
  }

  get mergeable() {
    const el = this.element;
    if (el.type === "password") return !!this.settings.mergePasswords;
    return el.tagName === "TEXTAREA" || MERGED_INPUTS.has(el.type);
  }

  getText() {
    return this.element.value;
  }

  merge() {
    return this.mergeable && !NUMERIC.test(this.element.value);
  }

  // Keeps the caret and selection next to the same text, and the scroll
  // position, while the value changes under them. `mapCaret` comes from the
  // merge, which knows which text is ours; without it, a diff decides.
  setText(text, mapCaret) {
    const el = this.element;
    const before = el.value;
    if (before === text) return false;
    const focused = el.ownerDocument.activeElement === el;
    let selection = null;
    if (focused) {
      try {
        selection = [el.selectionStart, el.selectionEnd, el.selectionDirection];
      } catch (err) {
        selection = null; // input types without a selection (email, number)
      }
    }
    const scroll = [el.scrollTop, el.scrollLeft];
    el.value = text;
    if (selection && selection[0] !== null) {
      let map = mapCaret;
      if (!map) {
        const diffs = diff(this.dmp, before, text);
        map = (pos) => mapPosition(diffs, pos);
      }
      el.setSelectionRange(map(selection[0]), map(selection[1]), selection[2]);
    }
    [el.scrollTop, el.scrollLeft] = scroll;
    return true;
  }
}

class SelectField {
  constructor(element, settings) {
    this.element = element;
    this.settings = settings;
  }

  // The chosen option values: a multiple select shares all it has chosen.
  getText() {
    return Array.from(this.element.options).filter((o) => o.selected).map((o) => o.value).join(SEPARATOR);
  }

  // Merged, two people's choices of different options both stay chosen.
  merge() {
    return this.element.multiple && this.settings.mergeMultiSelect !== false;
  }

  setText(text) {
    if (text === this.getText()) return false;
    const chosen = new Set(text.split(SEPARATOR));
    for (const option of this.element.options) option.selected = chosen.has(option.value);
    return true;
  }
}

class CheckboxField {
  constructor(element) {
    this.element = element;
  }

  getText() {
    return this.element.checked ? this.element.value : "";
  }

  merge() {
    return false;
  }

  setText(text) {
    const checked = text !== "";
    if (checked === this.element.checked) return false;
    this.element.checked = checked;
    return true;
  }
}

class RadioGroup {
  constructor(element) {
    this.element = element;
    this.name = element.name;
  }

  // Every button gets the change event, as in the original client.
  get announced() {
    return this.buttons();
  }

  buttons() {
    const el = this.element;
    const scope = el.form || el.ownerDocument;
    return Array.from(scope.querySelectorAll('input[type="radio"]'))
      .filter((r) => r.name === this.name && r.form === el.form);
  }

  getText() {
    const on = this.buttons().find((r) => r.checked);
    return on ? on.value : "";
  }

  merge() {
    return false;
  }

  setText(text) {
    if (text === this.getText()) return false;
    for (const r of this.buttons()) r.checked = r.value === text;
    return true;
  }
}

// The adapter for one form element, or null for elements that hold no
// shareable state (buttons, file inputs).
export function fieldFor(element, dmp, settings = {}) {
  if (element.tagName === "SELECT") return new SelectField(element, settings);
  if (element.tagName === "TEXTAREA") return new TextField(element, dmp, settings);
  if (element.tagName !== "INPUT" || NOT_SHARED.has(element.type)) return null;
  if (element.type === "checkbox") return new CheckboxField(element);
  if (element.type === "radio") return new RadioGroup(element);
  return new TextField(element, dmp, settings);
}

export function isRadioGroup(field) {
  return field instanceof RadioGroup;
}

// Elements whose events mean the user changed the field.
export function watchedElements(field) {
  return field instanceof RadioGroup ? field.buttons() : [field.element];
}


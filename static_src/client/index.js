// mobwrite.js: one script include that shares form elements with every
// other page showing the same documents, through a MobWrite gateway.
// Defines the global `mobwrite`, with the settings, extension points
// (shareObj, shareHandlers) and field semantics of Google's original
// client, so pages written for it work unchanged.

import { Client } from "./client.js";

// Where the gateway is unless the page says otherwise: beside the server
// this script came from, so a third-party page only needs the script tag.
const script = document.currentScript;
const gatewayDefault = script && script.src ? new URL("/scripts/q.py", script.src).href : "/scripts/q.py";

const mobwrite = {
  syncGateway: "", // empty: gatewayDefault
  idPrefix: "",
  debug: false,
  minSync: 1000,
  maxSync: 10000,
  timeoutInterval: 30000,
  token: "", // a capability token for every shared document; tokens: {name: token} per document
  tokens: null,
  maxGetLength: 1000, // longest p= URL, the original's get_maxchars; longer requests go as b: fragments
  nullifyAll: false, // true: the next sync deletes every shared document on the gateway and unshares it
  // Ours, where they differ from the original (whose behaviour is the default):
  syncOnEdit: true, // typing brings the next sync forward to minSync from now
  mergePasswords: false, // true: password fields merge like text (original: overwritten)
  mergeMultiSelect: true, // false: a multiple select is overwritten (original: merged)
  radioByName: false, // true: a radio group's document is named after its name (original: an id)
  formFieldNames: false, // true: every form field is form.id + "_" + name (original: its own id)
  user: null, // {name, color}: set it to appear in others' presence lists (issue 13)
  push: true, // issue 11: hold a wait for wake-ups when the gateway offers it; false: poll only
  pushGateway: "", // empty: "wait" beside the sync gateway
  pushEditDelay: 50, // ms from a keystroke to its sync while wake-ups work (minSync otherwise)
  pushSafetySync: 120000, // ms between polls of an idle page while wake-ups work (a lost one's safety net)
};

// The original's names for the same settings. Each pair is one value:
// reading either gives it, and writing either changes both, so when a page
// sets both names the one written last wins.
const ALIASES = { minSyncInterval: "minSync", maxSyncInterval: "maxSync", get_maxchars: "maxGetLength" };
for (const [alias, ours] of Object.entries(ALIASES)) {
  Object.defineProperty(mobwrite, alias, {
    get: () => mobwrite[ours],
    set: (value) => { mobwrite[ours] = value; },
    enumerable: true,
  });
}

const client = new Client(mobwrite, gatewayDefault);

Object.assign(mobwrite, {
  syncUsername: client.user,
  share: (...targets) => client.share(targets),
  unshare: (...targets) => client.unshare(targets),
  syncNow: () => client.syncNow(),
  onStatus: (fn) => client.onStatus(fn),
  // fn(Map of document name -> [{id, name, color, caret}]) after each answer.
  onPresence: (fn) => client.onPresence(fn),
  // The p= transport's answers arrive as mobwrite.callback("...").
  callback: (text) => client.channel.callback(text),
  // The cross-origin wait's answer arrives as mobwrite.wakeup({...}) (issue 11).
  wakeup: (answer) => client.push.callback(answer),
  // The original's extension points: subclass shareObj for a field type of
  // your own, and push (or unshift) a handler(node) -> shareObj|null onto
  // shareHandlers; share() asks them in order. Ours come first.
  shareObj: client.shareObj,
  shareHandlers: client.handlers,
});
Object.defineProperty(mobwrite, "status", { get: () => client.status, enumerable: true });
// Issue 11: "on" while a wait for wake-ups is held, "polling" when the
// gateway offers none (or it keeps failing), "off" when mobwrite.push is false.
Object.defineProperty(mobwrite, "pushMode", { get: () => client.push.mode, enumerable: true });
// The current sync interval in ms, as the original exposed it; a page may
// set it, and the next sync is scheduled that far out.
Object.defineProperty(mobwrite, "syncInterval", {
  get: () => client.interval,
  set: (value) => { client.interval = Number(value); },
  enumerable: true,
});
// The shared objects by id (without idPrefix), as the original's mobwrite.shared.
Object.defineProperty(mobwrite, "shared", { get: () => client.shared(), enumerable: true });

window.mobwrite = mobwrite;

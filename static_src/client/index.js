// mobwrite.js: one script include that shares form elements with every
// other page showing the same documents, through a MobWrite gateway.
// Defines the global `mobwrite`; settings keep the names of Google's
// original client, so pages written for it work unchanged.

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
  maxGetLength: 2000, // longest p= URL; longer requests go as b: fragments
  user: null, // {name, color}: set it to appear in others' presence lists (issue 13)
};

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
});
Object.defineProperty(mobwrite, "status", { get: () => client.status, enumerable: true });

window.mobwrite = mobwrite;

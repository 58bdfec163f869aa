// Three JavaScript clients (the real Session code) edit one document
// through a real gateway at argv[2], with lost answers and duplicated
// requests, then go quiet; all must converge on the server's text.
// Run by tests/test_js_client.py, which starts the gateway.
import assert from "node:assert/strict";

import { makeDmp } from "../../static_src/client/diffs.js";
import { SharedDoc, Session } from "../../static_src/client/session.js";

const [gateway, name, seedArg] = process.argv.slice(2);
let seed = Number(seedArg || 1);
const random = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
const pick = (items) => items[Math.floor(random() * items.length)];
const PIECES = ["a", "b", "c", " ", "word ", "é", "ß", "中文", "🎉", "😀😁", "\n", "naïve "];

class Box {
  constructor() { this.text = ""; }
  getText() { return this.text; }
  setText(text) { const changed = text !== this.text; this.text = text; return changed; }
  merge() { return true; }
}

async function post(request) {
  const response = await fetch(gateway, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: "q=" + encodeURIComponent(request),
  });
  assert.equal(response.status, 200);
  const answer = await response.text();
  assert.ok(answer === "" || answer.endsWith("\n\n"), answer);
  return answer;
}

function edit(box) {
  const points = Array.from(box.text); // whole code points, as a person edits
  const at = Math.floor(random() * (points.length + 1));
  if (points.length && random() < 0.3) {
    points.splice(at, 1 + Math.floor(random() * 3));
  } else {
    points.splice(at, 0, pick(PIECES));
  }
  box.text = points.join("");
}

const clients = ["ann", "bob", "cat"].map((user) => {
  const session = new Session(`${user}-${name}`, makeDmp());
  const box = new Box();
  session.docs.set(name, new SharedDoc(name, box));
  return { session, box };
});

let lost = 0;
let duplicated = 0;
for (let round = 0; round < 300; round++) {
  const c = pick(clients);
  edit(c.box);
  if (random() < 0.5) continue; // more typing before the next sync
  const request = c.session.request();
  const answer = await post(request);
  if (random() < 0.1) {
    lost += 1; // the answer never arrives; the edits are sent again
    continue;
  }
  if (random() < 0.1) {
    duplicated += 1; // the network delivers the request twice
    c.session.receive(await post(request));
  }
  c.session.receive(answer);
}

// Quiet: everyone polls until nobody changes.
for (let i = 0; i < 6; i++) {
  for (const c of clients) c.session.receive(await post(c.session.request()));
}
const observer = new Session(`obs-${name}`, makeDmp());
const view = new Box();
observer.docs.set(name, new SharedDoc(name, view));
observer.receive(await post(observer.request()));

const texts = clients.map((c) => c.box.text);
for (const text of texts) assert.equal(text, view.text);
assert.ok(view.text.length > 50, view.text);
assert.ok(/[🎉😀😁]/u.test(view.text) && view.text === view.text.toWellFormed());
for (const c of clients) assert.equal(c.session.pending(), false);
console.log(`converged: ${view.text.length} UTF-16 units, ${lost} lost answers, ${duplicated} duplicated requests`);

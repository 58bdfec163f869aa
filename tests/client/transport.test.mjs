// node --test: how a long request is cut into b: fragments for the p= transport.
import assert from "node:assert/strict";
import { test } from "node:test";

import { scriptRequests } from "../../static_src/client/transport.js";

const URL_ = "http://127.0.0.1:8080/scripts/q.py";

test("a short request goes whole, encoded once", () => {
  assert.deepEqual(scriptRequests(URL_, "u:a\nf:0:d\nd:0:+Hi\n\n", 2000, "id"),
    [encodeURIComponent("u:a\nf:0:d\nd:0:+Hi\n\n")]);
});

test("a long request becomes fragments that stay under the URL limit and join back", () => {
  const text = "u:a\nf:0:d\nd:0:+" + "ünïcödé 🎉 %25 text & more; ".repeat(300) + "\n\n";
  for (const max of [300, 2000, 4000]) {
    const values = scriptRequests(URL_, text, max, "abc");
    assert.ok(values.length > 1);
    let joined = "";
    values.forEach((value, i) => {
      assert.ok(URL_.length + 3 + value.length <= max, `${value.length} at ${max}`);
      const line = decodeURIComponent(value); // what the form decoding leaves
      const match = /^b:abc (\d+) (\d+) (.*)\n\n$/s.exec(line);
      assert.ok(match, line.slice(0, 40));
      assert.deepEqual([Number(match[1]), Number(match[2])], [values.length, i + 1]);
      joined += match[3];
    });
    assert.equal(decodeURIComponent(joined), text); // the gateway decodes the joined data once
  }
});

// The editor's history panel and presence list (issue 13). A plain script:
// editor.html calls MobwriteHistory.panel(...) and .presence(...) with its
// Dijit widgets once the page is parsed. Talks to /history/* (historyapi.py).
(function () {
  "use strict";

  function api(path, params, form) {
    var url = new URL(path, location.href);
    Object.keys(params || {}).forEach(function (k) { url.searchParams.set(k, params[k]); });
    var init = form ? {method: "POST", body: new URLSearchParams(form)} : {};
    return fetch(url, init).then(function (response) {
      if (!response.ok) {
        return response.text().then(function (t) { throw new Error(t.trim() || response.statusText); });
      }
      var type = response.headers.get("Content-Type") || "";
      return type.indexOf("json") >= 0 ? response.json() : response.text();
    });
  }

  function when(seconds) {
    return new Date(seconds * 1000).toLocaleString();
  }

  function label(s) {
    var who = s.users.length ? s.users.join(", ") : "—";
    return "#" + s.id + "  " + when(s.time) + "  " + s.size + " chars  " + who + (s.note ? "  (" + s.note + ")" : "");
  }

  // Deleted text struck through in red, inserted text in green.
  function showDiff(node, diffs) {
    node.textContent = "";
    diffs.forEach(function (d) {
      var span = document.createElement(d[0] === 0 ? "span" : d[0] < 0 ? "del" : "ins");
      span.textContent = d[1];
      node.appendChild(span);
    });
    if (!diffs.some(function (d) { return d[0] !== 0; })) node.textContent = "(the same as now)";
  }

  // opts: {doc, dialog, button (Restore), list, preview, diff, note, who}
  function panel(opts) {
    var snapshots = [];

    function selected() {
      var id = Number(opts.list.value);
      return snapshots.filter(function (s) { return s.id === id; })[0];
    }

    function preview() {
      var s = selected();
      opts.button.set("disabled", !s);
      if (!s) return;
      api("/history/text", {doc: opts.doc, id: s.id}).then(function (text) { opts.preview.value = text; });
      api("/history/diff", {doc: opts.doc, from: s.id}).then(function (d) { showDiff(opts.diff, d); });
    }

    function load(message) {
      opts.note.textContent = "Loading…";
      return api("/history/list", {doc: opts.doc}).then(function (data) {
        snapshots = data.snapshots.slice().reverse();  // newest first
        opts.list.textContent = "";
        snapshots.forEach(function (s) {
          var option = document.createElement("option");
          option.value = String(s.id);
          option.textContent = label(s);
          opts.list.appendChild(option);
        });
        opts.note.textContent = message || (snapshots.length ? "Pick a snapshot to preview it." : "No snapshots yet.");
        if (snapshots.length) {
          opts.list.value = String(snapshots[snapshots.length > 1 ? 1 : 0].id);
        }
        preview();
      }, function (err) { opts.note.textContent = "History unavailable: " + err.message; });
    }

    opts.list.addEventListener("change", preview);
    opts.button.on("click", function () {
      var s = selected();
      if (!s) return;
      opts.note.textContent = "Restoring #" + s.id + "…";
      api("/history/restore", null, {doc: opts.doc, id: s.id, name: opts.who()}).then(function (r) {
        mobwrite.syncNow();
        load("Restored #" + r.restored + " (now snapshot #" + r.snapshot + "); undo by restoring an earlier one.");
      }, function (err) { opts.note.textContent = "Restore failed: " + err.message; });
    });
    return {open: function () { opts.dialog.show(); return load(); }};
  }

  // Chips for who else is here: name (or "someone") on their colour.
  function presence(node, doc) {
    mobwrite.onPresence(function (byDoc) {
      var people = byDoc.get(doc) || [];
      node.textContent = "";
      people.forEach(function (p) {
        var chip = document.createElement("span");
        chip.className = "person";
        chip.textContent = p.name || "someone";
        chip.style.borderColor = p.color || "#888";
        chip.title = p.caret >= 0 ? "caret at " + p.caret : "";
        node.appendChild(chip);
      });
      node.dataset.count = String(people.length);
    });
  }

  // This browser's name and colour: ?name= wins, else what was kept, else a guest name.
  function me() {
    var palette = ["#d93025", "#1a73e8", "#188038", "#e37400", "#9334e6", "#00897b", "#c2185b"];
    var name = new URLSearchParams(location.search).get("name");
    try {
      name = name || localStorage.getItem("mobwrite.name");
    } catch (e) { /* storage disabled */ }
    name = (name || "Guest " + Math.floor(Math.random() * 900 + 100)).slice(0, 40);
    var hash = 0;
    for (var i = 0; i < name.length; i++) hash = (hash * 31 + name.charCodeAt(i)) >>> 0;
    return {name: name, color: palette[hash % palette.length]};
  }

  window.MobwriteHistory = {panel: panel, presence: presence, me: me};
})();

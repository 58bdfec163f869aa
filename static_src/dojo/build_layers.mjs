// Runs Dojo's own builder (the dojo-util package, on Node, with Closure on
// Java for the layer) over layers.profile.js, and copies out only what the
// pages load: the layer (with its en-us strings) and the flattened theme.
//
//   node static_src/dojo/build_layers.mjs OUT_DIR
//
// OUT_DIR/pages.js, OUT_DIR/nls/pages_*.js and OUT_DIR/claro.css are meant
// to be served at /static/mobwrite/layer/ (OUT_DIR/.inputs.sha256 is not); claro.css's image URLs are
// rewritten to point into /static/dijit/, which is served unchanged.
import { spawnSync } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "../..");
const out = path.resolve(process.argv[2] || "build/dojo-layer");

// The build takes half a minute: skip it when its inputs (Dojo's versions,
// the profile, this script) are those of the output already there.
const stampFile = path.join(out, ".inputs.sha256");
const stamp = crypto.createHash("sha256");
for (const input of ["package-lock.json", "static_src/dojo/layers.profile.js", "static_src/dojo/build_layers.mjs"]) {
  stamp.update(fs.readFileSync(path.join(root, input)));
}
const want = stamp.digest("hex");
if (fs.existsSync(stampFile) && fs.readFileSync(stampFile, "utf8") === want) process.exit(0);

// The builder finds itself at ../util/build beside dojo/, which npm
// installs as dojo-util: give it that layout with two symbolic links.
const work = fs.mkdtempSync(path.join(os.tmpdir(), "dojo-build-"));
try {
  fs.symlinkSync(path.join(root, "node_modules/dojo"), path.join(work, "dojo"));
  fs.symlinkSync(path.join(root, "node_modules/dojo-util"), path.join(work, "util"));
  const release = path.join(work, "release");
  const run = spawnSync(process.execPath, [
    "--preserve-symlinks", "--preserve-symlinks-main", path.join(work, "dojo/dojo.js"), "load=build",
    "--profile", path.join(here, "layers.profile.js"), "--releaseDir", release,
  ], { cwd: root, encoding: "utf8" });
  // Its warnings are about plugins it cannot resolve at build time (has!
  // branches, dojo/request/default), which stay runtime requires.
  if (run.status !== 0 || !/errors: 0\b/.test(run.stdout)) {
    process.stderr.write(run.stdout + run.stderr);
    throw new Error("the Dojo build failed");
  }

  fs.rmSync(out, { recursive: true, force: true });
  fs.mkdirSync(path.join(out, "nls"), { recursive: true });
  const built = path.join(release, "mobwrite-layer");
  // The map is not shipped, so neither is the comment pointing to it.
  const layer = fs.readFileSync(path.join(built, "pages.js"), "utf8").replace(/\n\/\/# sourceMappingURL=.*\s*$/, "\n");
  fs.writeFileSync(path.join(out, "pages.js"), layer);
  for (const name of fs.readdirSync(path.join(built, "nls")).sort()) {
    if (/^pages_.*\.js$/.test(name)) fs.copyFileSync(path.join(built, "nls", name), path.join(out, "nls", name));
  }

  // The theme's @imports are flattened; its url()s are relative to
  // dijit/themes/claro/, so make them relative to OUT_DIR instead.
  const theme = "../../dijit/themes/claro";
  const css = fs.readFileSync(path.join(release, "dijit/themes/claro/claro.css"), "utf8");
  if (/@import/.test(css)) throw new Error("claro.css still has @imports");
  const rebased = css.replace(/url\(\s*(["']?)([^"')]+)\1\s*\)/g, (whole, quote, url) =>
    /^(data:|[a-z]+:|\/)/i.test(url) ? whole : `url(${quote}${path.posix.join(theme, url)}${quote})`);
  fs.writeFileSync(path.join(out, "claro.css"), rebased);
  fs.writeFileSync(stampFile, want);
} finally {
  fs.rmSync(work, { recursive: true, force: true });
}

"""build_zips.sh and zipserve.build: reproducible zips, the summary, splits,
and an exclusion list that never drops a file the pages load."""

import gzip
import hashlib
import os
import posixpath
import re
import subprocess
import zipfile

import pytest
from builds import REPO, run_build

from tools import zipbuild as build
from zipserve import Config, ZipServe, mime

ARCHIVES = ("mobwrite", "dojo", "dijit", "dojox")


def digests(folder):
    return {name: hashlib.sha256((folder / name).read_bytes()).hexdigest()
            for name in sorted(os.listdir(folder))}


def test_build_twice_gives_the_same_bytes(built, tmp_path):
    first, _ = built
    second = tmp_path / "again"
    run_build(second)
    assert digests(first) == digests(second)
    assert sorted(os.listdir(first)) == ["dijit.zip", "dojo.zip", "dojox.zip", "mobwrite.zip"]


def test_summary_counts_files_and_the_deployment(built):
    out, output = built
    rows = {line.split()[0]: line.split()[1:] for line in output.splitlines()
            if line.split() and line.split()[0] in ARCHIVES + ("total",)}
    for name in ARCHIVES + ("total",):
        files_in, excluded, files_out, bytes_out, zip_bytes, zips = map(int, rows[name])
        assert files_in == excluded + files_out and files_out > 0, name
        assert zip_bytes < bytes_out or name == "mobwrite"
    total = list(map(int, rows["total"]))
    assert total[0] > 10_000 and total[2] < 7_000  # Dojo is over the limit until filtered
    assert sum(os.path.getsize(out / f) for f in os.listdir(out)) == total[4]
    match = re.search(r"deployment: (\d+) files \((\d+) app files, gcloud's upload set, \+ 4 zips\) "
                      r"of App Engine's 10,000: ok", output)
    assert match and int(match.group(1)) == int(match.group(2)) + 4 < 10_000
    # The same count `gcloud meta list-files-for-upload` gives, zips aside.
    listed = subprocess.run(["gcloud", "meta", "list-files-for-upload", ".", "--quiet"], cwd=REPO,
                            check=True, capture_output=True, text=True).stdout.split()
    assert int(match.group(2)) == len([f for f in listed if not f.endswith(".zip")])


def test_zips_have_sorted_members_fixed_dates_and_modes(built):
    out, _ = built
    for name in ARCHIVES:
        with zipfile.ZipFile(out / f"{name}.zip") as zf:
            assert zf.testzip() is None
            infos = zf.infolist()
        names = [i.filename for i in infos]
        assert names == sorted(names) and not any(n.endswith("/") for n in names)
        assert len({i.date_time for i in infos}) == 1
        assert {i.external_attr >> 16 for i in infos} == {0o100644}
        assert {i.compress_type for i in infos} <= {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED}


def test_members_match_their_sources(built):
    out, _ = built
    with zipfile.ZipFile(out / "dojo.zip") as zf:
        assert zf.read("dojo.js") == open(os.path.join(REPO, "node_modules/dojo/dojo.js"), "rb").read()
    with zipfile.ZipFile(out / "mobwrite.zip") as zf:
        for page in ("index.html", "editor.html", "editor.css"):
            assert zf.read(page) == open(os.path.join(REPO, "static_src/mobwrite", page), "rb").read()


def test_excluded_kinds_are_gone(built):
    out, _ = built
    for name in ARCHIVES[1:]:
        with zipfile.ZipFile(out / f"{name}.zip") as zf:
            for member in zf.namelist():
                parts = member.split("/")
                assert not {"tests", "testsDOH", "demos", "doh", "bench"} & set(parts[:-1]), member
                assert not member.endswith((".less", ".md", ".php", ".psd", "package.json")), member


def test_every_member_has_a_content_type_from_the_table(built):
    out, _ = built
    seen = set()
    for name in ARCHIVES:
        with zipfile.ZipFile(out / f"{name}.zip") as zf:
            for member in zf.namelist():
                ext = mime.extension(member)
                seen.add(ext)
                assert ext == "" or ext in mime.TYPES, member
    assert {"js", "css", "html", "png", "gif", "json", "svg", "swf", ""} <= seen


def test_every_extension_dojo_ships_is_in_the_table(built):  # built: node_modules is there
    shipped = set()
    for package in ("dojo", "dijit", "dojox"):
        for _, _, files in os.walk(os.path.join(REPO, "node_modules", package)):
            shipped.update(mime.extension(f) for f in files)
    assert {"js", "less", "swf", "php"} <= shipped
    assert shipped - set(mime.TYPES) - {""} == set()


# -- the pages' modules are all in the zips ----------------------------------

class ZipModules:
    """Dojo module ids resolved against the built zips, as the loader would."""

    def __init__(self, out):
        self.files = {}
        for name in ARCHIVES:
            zf = zipfile.ZipFile(out / f"{name}.zip")  # kept open for reads
            for member in zf.namelist():
                self.files[f"{name}/{member}"] = zf
        self.missing = set()
        self.seen = set()

    def read(self, path):
        return self.files[path].read(path.split("/", 1)[1]).decode("utf-8")

    def has(self, path):
        return path in self.files

    @staticmethod
    def absolute(mid, referrer):
        if mid.startswith("."):
            mid = posixpath.normpath(posixpath.join(posixpath.dirname(referrer), mid))
        return mid + "/main" if "/" not in mid else mid

    def walk(self, mid, referrer=""):
        """Visit ``mid`` and everything its define() depends on."""
        if "!" in mid:
            return self.plugin(mid, referrer)
        if mid in ("require", "exports", "module") or not mid:
            return
        mid = self.absolute(mid, referrer)
        if mid in self.seen:
            return
        self.seen.add(mid)
        path = mid + ".js"
        if not self.has(path):
            self.missing.add(f"{path} (required by {referrer or 'the page'})")
            return
        source = self.read(path)
        match = re.search(r"\bdefine\(\s*(?:[\"'][^\"']*[\"']\s*,\s*)?\[([^\]]*)\]", source)
        if match:
            deps = re.sub(r"//[^\n]*|/\*.*?\*/", "", match.group(1), flags=re.S)  # comments
            for dep in re.findall(r"[\"']([^\"']+)[\"']", deps):
                self.walk(dep, mid)

    def plugin(self, mid, referrer):
        plugin, _, resource = mid.partition("!")
        self.walk(plugin, referrer)
        plugin = self.absolute(plugin, referrer)
        if plugin == "dojo/text":
            path = self.absolute(resource, referrer) if resource.startswith(".") else resource
            if not self.has(path):
                self.missing.add(f"{path} (text! in {referrer})")
        elif plugin == "dojo/i18n":
            bundle = self.absolute(resource, referrer)
            if not self.has(bundle + ".js"):
                self.missing.add(f"{bundle}.js (i18n! in {referrer})")
        elif plugin == "dojo/has":
            for token, op in re.findall(r"([^?:]*)([?:]?)", resource):
                if token and op != "?":
                    self.walk(token, referrer)

    def css(self, path, referrer="the page"):
        """Check a style sheet, its @imports and every url() it names."""
        if path in self.seen:
            return
        self.seen.add(path)
        if not self.has(path):
            self.missing.add(f"{path} (from {referrer})")
            return
        for target in re.findall(r"url\(\s*[\"']?([^\"')]+)[\"']?\s*\)", self.read(path)):
            if target.startswith(("data:", "http:", "https:", "about:", "#")):
                continue
            full = posixpath.normpath(posixpath.join(posixpath.dirname(path), target.split("?")[0]))
            if target.split("?")[0].endswith(".css"):
                self.css(full, path)
            elif not self.has(full):
                self.missing.add(f"{full} (url() in {path})")


def page_modules(html):
    """Module ids a page's require([...]) and data-dojo-type attributes name."""
    # Every require([...]): the first may be the "require([...])" of a comment.
    listed = " ".join(re.findall(r"require\(\[(.*?)\]", html, re.S))
    mids = re.findall(r"\"([^\"]+)\"", listed)
    mids += re.findall(r"data-dojo-type=\"([^\"]+)\"", html)
    return mids


@pytest.mark.parametrize("page,widget", [("index.html", "dijit/form/ValidationTextBox"),
                                         ("editor.html", "dijit/Dialog")])
def test_exclusions_never_drop_a_file_the_pages_load(built, page, widget):
    out, _ = built
    modules = ZipModules(out)
    html = modules.read(f"mobwrite/{page}")
    mids = page_modules(html)
    assert {"dojo/parser", "dijit/form/Button", widget} <= set(mids)  # from require() and the markup
    for mid in mids:
        modules.walk(mid)
    # Style sheets and plain scripts, by URL relative to the page.
    for sheet in re.findall(r"<link rel=\"stylesheet\" href=\"([^\"]+)\"", html):
        modules.css(posixpath.normpath(posixpath.join("mobwrite", sheet)))
    for script in re.findall(r"<script src=\"([^\"]+)\"", html):
        path = posixpath.normpath(posixpath.join("mobwrite", script))
        if not modules.has(path):
            modules.missing.add(f"{path} (<script> in {page})")
    assert modules.missing == set()
    # The walk really followed the graph: widgets, their templates and base.
    assert len(modules.seen) > 70  # modules and templates; the theme is one flattened sheet
    assert {"dijit/_TemplatedMixin", "dojo/_base/declare", "dojo/text", "mobwrite/editor.css"} <= modules.seen
    # The theme: unbuilt (index.html) or flattened by the Dojo build (editor.html).
    assert {"dijit/themes/claro/claro.css", "mobwrite/layer/claro.css"} & modules.seen


def test_the_module_walk_notices_a_dropped_file(built, tmp_path):
    out, _ = built
    with zipfile.ZipFile(out / "dijit.zip") as src, \
            zipfile.ZipFile(tmp_path / "dijit.zip", "w") as dst:
        for info in src.infolist():
            if info.filename != "form/templates/Button.html":
                dst.writestr(info, src.read(info))
    for name in ("mobwrite", "dojo", "dojox"):
        os.link(out / f"{name}.zip", tmp_path / f"{name}.zip")
    modules = ZipModules(tmp_path)
    modules.walk("dijit/form/Button")
    assert any("form/templates/Button.html" in m for m in modules.missing)


# -- the builder itself --------------------------------------------------------

@pytest.mark.parametrize("rule,path,drops", [
    ("tests/", "dojo/tests/unit/x.js", True),
    ("tests/", "dojo/testsuite.js", False),
    ("tests/", "dojox/gfx/tests", False),  # a file called tests, not a folder
    ("*.less", "dijit/themes/claro/Button.less", True),
    ("*.less", "dijit/themes/claro/Button.css", False),
    ("dojox/mobile/build/", "dojox/mobile/build/build.sh", True),
    ("dojox/mobile/build/", "dojox/app/build/x.js", False),
    ("dijit/themes/themeTester*.html", "dijit/themes/themeTester.html", True),
    ("dijit/themes/themeTester*.html", "dijit/themes/claro/themeTester.html", False),
    ("README*", "dojox/gfx/README-svgweb", True),
    ("package.json", "dojox/app/schema/application.json", False),
])
def test_exclusion_rule_semantics(rule, path, drops):
    assert build.Rule(rule).matches(path) is drops


def test_exclusion_list_keeps_licences_and_runtime_data():
    rules = build.read_rules(os.path.join(REPO, "static_src", "exclude.txt"))
    for path in ("dojo/LICENSE", "dojox/date/zoneinfo/europe", "dojo/nls/colors.js",
                 "dijit/form/templates/Button.html", "dojox/storage/Storage.swf",
                 "dojox/av/resources/version.mov", "dojo/_firebug/firebug.js"):
        assert build.excluded_by(rules, path) is None, path


def test_split_archives_are_served_as_one_folder(built, tmp_path):
    source = os.path.join(REPO, "node_modules", "dijit")
    out = tmp_path / "out"
    status = build.main(["--out", str(out), "--max-bytes", "300000", "--app-root", str(tmp_path),
                         "--exclude", os.path.join(REPO, "static_src", "exclude.txt"),
                         f"dijit={source}"])
    assert status == 0
    parts = sorted(os.listdir(out))
    assert len(parts) >= 3 and parts[0] == "dijit.1.zip" and "dijit.zip" in parts
    assert all(os.path.getsize(out / p) <= 300_000 for p in parts)
    names = []
    for part in parts:
        with zipfile.ZipFile(out / part) as zf:
            names += zf.namelist()
    assert len(names) == len(set(names))
    server = ZipServe(Config(directory=str(out), archives=(("dijit", ()),)))
    last = max(names)  # lives in the last part
    status, headers, body = server.respond("GET", f"dijit/{last}", {"HTTP_ACCEPT_ENCODING": "gzip"})
    body = b"".join(body) if not isinstance(body, bytes) else body
    expected = open(os.path.join(source, last), "rb").read()
    assert status == "200 OK"
    assert (gzip.decompress(body) if ("Content-Encoding", "gzip") in headers else body) == expected

    # Rebuilding with no limit leaves no stale parts behind.
    assert build.main(["--out", str(out), "--app-root", str(tmp_path), f"dijit={source}",
                       "--exclude", os.path.join(REPO, "static_src", "exclude.txt")]) == 0
    assert os.listdir(out) == ["dijit.zip"]


def test_build_exits_non_zero_over_the_file_limit(tmp_path, monkeypatch, capsys):
    src = tmp_path / "src"
    src.mkdir()
    for n in range(5):
        (src / f"f{n}.js").write_text(f"// {n}\n")
    args = ["--out", str(tmp_path / "out"), "--app-root", str(tmp_path), f"lib={src}"]
    assert build.main(args) == 0
    monkeypatch.setattr(build, "APP_ENGINE_FILES", 3)
    assert build.main(args) == 1
    assert "OVER THE LIMIT" in capsys.readouterr().out


def test_build_refuses_paths_zipserve_could_not_serve(tmp_path, capsys):
    src = tmp_path / "src"
    src.mkdir()
    (src / "with space.js").write_text("x")
    assert build.main(["--out", str(tmp_path / "out"), f"lib={src}"]) == 1
    assert "with space.js" in capsys.readouterr().err


def test_build_refuses_a_member_bigger_than_the_limit(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "big.bin").write_bytes(os.urandom(5000))
    with pytest.raises(SystemExit):
        build.main(["--out", str(tmp_path / "out"), "--max-bytes", "4000", f"lib={src}"])

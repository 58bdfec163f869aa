"""Settings of zipserve, read once from the environment (ZIPSERVE_*)."""

import dataclasses
import os
import re

_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._~+@-]*$")


@dataclasses.dataclass(frozen=True)
class Config:
    """Which archives are served and how responses are cached.

    ``archives`` maps a URL folder to its zip files, in lookup order: the
    folder ``dojo`` is ``dojo.zip`` unless configured otherwise; a split
    archive is ``dojox.zip``, ``dojox.1.zip``, ... (see ``parts``).
    ``directory``, when relative, is taken from the Flask app's root (the
    folder of main.py) by the blueprint, and from the working directory by
    the plain WSGI app.
    """

    directory: str = "static_build"
    archives: tuple = (("mobwrite", ()), ("dojo", ()), ("dijit", ()), ("dojox", ()))
    max_age: int = 3600
    cors_origin: str = "*"
    version: str = "auto"
    version_segment: str = "v"
    immutable_max_age: int = 365 * 24 * 3600
    fast_path: bool = True

    def __post_init__(self):
        names = [name for name, _ in self.archives]
        for name in names:
            if not _NAME.match(name):
                raise ValueError(f"zipserve: bad archive folder name {name!r}")
        if len(set(names)) != len(names):
            raise ValueError("zipserve: an archive folder is configured twice")
        if self.version_segment in names:
            raise ValueError("zipserve: the version segment is also an archive name")
        if self.max_age < 0 or self.immutable_max_age < 0:
            raise ValueError("zipserve: max-age must not be negative")

    @classmethod
    def from_env(cls, environ=None):
        """Read ZIPSERVE_DIR, ZIPSERVE_ARCHIVES, ZIPSERVE_MAX_AGE,
        ZIPSERVE_CORS_ORIGIN and ZIPSERVE_VERSION; unset means the default.

        ZIPSERVE_ARCHIVES is a space- or comma-separated list of folder
        names, each optionally ``name=file.zip+file2.zip`` to name its files.
        ZIPSERVE_CORS_ORIGIN set to an empty string sends no CORS header;
        ZIPSERVE_VERSION set to an empty string turns the versioned prefix off.
        ZIPSERVE_FAST_PATH=0 sends requests through Flask's routing (slower).
        """
        env = os.environ if environ is None else environ
        kwargs = {}
        if env.get("ZIPSERVE_DIR"):
            kwargs["directory"] = env["ZIPSERVE_DIR"]
        if env.get("ZIPSERVE_ARCHIVES", "").strip():
            kwargs["archives"] = parse_archives(env["ZIPSERVE_ARCHIVES"])
        if env.get("ZIPSERVE_MAX_AGE", "").strip():
            kwargs["max_age"] = int(env["ZIPSERVE_MAX_AGE"])
        if "ZIPSERVE_CORS_ORIGIN" in env:
            kwargs["cors_origin"] = env["ZIPSERVE_CORS_ORIGIN"].strip()
        if "ZIPSERVE_VERSION" in env:
            kwargs["version"] = env["ZIPSERVE_VERSION"].strip()
        if env.get("ZIPSERVE_FAST_PATH", "").strip():
            kwargs["fast_path"] = env["ZIPSERVE_FAST_PATH"].strip().lower() not in ("0", "false", "no", "off")
        return cls(**kwargs)

    def parts(self, name, files):
        """The zip files of folder ``name``: the configured ones, or else
        ``name.zip`` followed by ``name.1.zip``, ``name.2.zip``... as long as
        they exist (how build_zips.sh splits an archive over 32 MB)."""
        if files:
            return [os.path.join(self.directory, f) for f in files]
        found = [os.path.join(self.directory, f"{name}.zip")]
        n = 1
        while os.path.isfile(os.path.join(self.directory, f"{name}.{n}.zip")):
            found.append(os.path.join(self.directory, f"{name}.{n}.zip"))
            n += 1
        return found


def parse_archives(text):
    """``"dojo dijit dojox=dojox.zip+dojox.1.zip"`` -> ((name, files), ...)."""
    out = []
    for item in re.split(r"[\s,]+", text.strip()):
        if not item:
            continue
        name, _, files = item.partition("=")
        out.append((name, tuple(f for f in files.split("+") if f)))
    return tuple(out)

"""Tools for building and testing, never imported by the running service:
local copies of the real components (``devservers``) and the zip builder
(``zipbuild``, run by build_zips.sh)."""

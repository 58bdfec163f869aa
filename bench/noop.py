"""The baseline every HTTP bench measures against: a Flask app on the same
gunicorn setup that parses the sync form (``q=``) and answers nothing, so the
cost of the HTTP stack itself is visible. gunicorn serves it as
``bench.noop:app`` (``bench.common.NOOP_APP``).
"""

from flask import Flask, Response, request

GATEWAY_PATH = "/scripts/q.py"

app = Flask("mobwrite_bench_noop")


@app.route("/")
def _landing():
    return Response("ok\n", mimetype="text/plain")


@app.route(GATEWAY_PATH, methods=["GET", "POST"])
def _gateway():
    """The same form parsing as a real sync, then nothing: an empty answer."""
    request.values.get("q")
    return Response("", mimetype="text/plain")

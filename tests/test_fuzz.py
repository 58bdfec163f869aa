"""Fuzzing, the CI slice: tools/fuzzing.py's properties over a few hundred
generated cases per target, new ones each run (``python3 -m bench.fuzz``
runs them by the hundred thousand). The protocol parser, delta decoder and
text codec raise nothing but their documented errors; the engine neither
raises nor touches its inputs; the app never answers 5xx, answers 4xx with
a short reason and p= with exactly one safe script, and answers alike with
the fast path on and off."""

import pytest
from hypothesis import given, settings

from tools import fuzzing

# Cases per target: about 8 s of CPU in all (the HTTP ones cost 5 to 10 ms each).
CASES = {"protocol parser": 300, "delta decoder": 300, "text codec": 300, "engine": 200,
         "http memory, fast = Flask": 150, "http sqlite": 150, "http tokens, limits": 150}
TARGETS = {target.name: target for target in fuzzing.targets()}
assert set(CASES) == set(TARGETS)


@pytest.mark.parametrize("name", list(CASES))
def test_fuzz(name):
    with TARGETS[name] as target:
        @settings(max_examples=CASES[name], deadline=None, database=None, derandomize=False)
        @given(fuzzing.strategy(target.make))
        def check(case):
            problems = fuzzing.problems_of(target, case)
            assert not problems, problems

        check()


# The checks themselves must catch what they look for.

@pytest.mark.parametrize("body", [
    'mobwrite.callback("u:a\u2028\\n");',                    # a raw line separator ends a JS string
    'mobwrite.callback("F:1:</script>\\n");',                # markup
    'mobwrite.callback("u:a\\n");mobwrite.callback("");',  # two calls
    'mobwrite.callback("u:a\\n")',                           # no semicolon
    'mobwrite.callback("u:a");alert(1);//\\n");',           # a quote that ends the literal
    'mobwrite.callback("u:a\\q\\n");',                       # an escape JSON does not have
    'mobwrite.callback("x\\n");',                             # not an answer line
    'mobwrite.wakeup({"a": "\u2029"});',
    'alert(1);',
])
def test_unsafe_scripts_are_caught(body):
    assert [kind for kind, _ in fuzzing.jsonp_problems(body)] == ["unsafe JSONP"]


def test_safe_scripts_pass():
    from mobwrite import protocol, push
    assert fuzzing.jsonp_problems(protocol.format_jsonp(["u:a\u2028</script>\"\\", "F:1:d"])) == []
    assert fuzzing.jsonp_problems(protocol.format_jsonp([])) == []
    assert fuzzing.jsonp_problems(push.format_jsonp({"push": True, "docs": {"<\u2028": "0"}})) == []


def test_a_500_and_a_long_4xx_are_caught():
    case = fuzzing.HttpCase("POST", "/sync", b"", b"", "", None, {}, "q", True)
    assert fuzzing.http_problems(case, fuzzing.Answer(500, "text/plain", b"500 Internal Server Error\n"))[0][0] == "5xx"
    long_reason = fuzzing.Answer(400, "text/plain", b"400 Bad Request: " + b"x" * 300 + b"\n")
    assert fuzzing.http_problems(case, long_reason)[0][0] == "property"
    html = fuzzing.Answer(404, "text/html", b"<h1>404</h1>\n")
    assert fuzzing.http_problems(case, html)[0][0] == "property"

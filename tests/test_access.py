"""Private documents (issue 12): a table of attacks on a gateway under the
``tokens`` policy, each refused with the defined answer and the stored texts
byte-for-byte unchanged, on memory, sqlite and the Datastore emulator."""

import time
import urllib.parse

import pytest

from backends import make_settings, open_store
from main import create_app
from mobwrite.access import TokenKeys

KEY, PREVIOUS, RETIRED = "key-2025-06", "key-2025-01", "key-2024-06"
SEEDED = {"notes": "secret text", "notes2": "other text", "x": "x text", "notes/a": "under notes"}


@pytest.fixture(params=["memory", "sqlite", "datastore"])
def guarded(request, tmp_path):
    """A tokens-policy gateway with SEEDED texts; (post, texts, keys)."""
    settings = make_settings(request.param, request, tmp_path, access="tokens", token_key=KEY,
                             token_key_previous=PREVIOUS)
    store = open_store(settings)
    client = create_app(settings, store).test_client()
    keys = TokenKeys(KEY)

    def post(text):
        response = client.post("/scripts/q.py", data={"q": text})
        assert response.status_code == 200, response.data
        return response.get_data(as_text=True)

    for doc, text in SEEDED.items():
        token = keys.mint(doc, "edit", 60)
        assert post("u:seed\nt:%s\nf:0:%s\nR:0:%s\n\n" % (token, doc, urllib.parse.quote(text))).startswith("F:")

    def texts():
        return store.read([], list(SEEDED) + ["notes/../x", "fresh"])[1]

    yield post, texts, keys
    store.close()


def tamper(token):
    return token[:-2] + ("AA" if not token.endswith("AA") else "BB")


def attacks(keys):
    """(name, request, answer) rows: each must be refused as shown."""
    now = time.time()
    edit_notes = keys.mint("notes", "edit", 60)
    view_notes = keys.mint("notes", "view", 60)
    prefix = keys.mint("notes", "edit", 60, prefix=True)
    none = "x:none:notes\n\n"
    write = "u:m\nt:%s\nf:0:%s\nd:0:+evil\n\n"
    return [
        ("no token", "u:m\nf:0:notes\nd:0:+evil\n\n", none),
        ("no token, overwrite", "u:m\nf:0:notes\nR:0:evil\n\n", none),
        ("no token, nullify", "u:m\nn:notes\n\n", none),
        ("expired", write % (keys.mint("notes", "edit", 10, now=now - 60), "notes"), none),
        ("wrong document", write % (keys.mint("notes2", "edit", 60), "notes"), none),
        ("exact token on a longer name", write % (edit_notes, "notes2"), "x:none:notes2\n\n"),
        ("exact token on notes/../x", write % (edit_notes, "notes/../x"), "x:none:notes/../x\n\n"),
        ("prefix token on notes2", write % (prefix, "notes2"), "x:none:notes2\n\n"),
        ("prefix token across ..", write % (prefix, "notes/../x"), "x:none:notes/../x\n\n"),
        ("prefix token on x", write % (prefix, "x"), "x:none:x\n\n"),
        ("tampered signature", write % (tamper(edit_notes), "notes"), none),
        ("tampered claims", write % (edit_notes.replace(edit_notes[:8], "eyJuIjoi", 1)[::-1], "notes"), none),
        ("rotated-out key", write % (TokenKeys(RETIRED).mint("notes", "edit", 60), "notes"), none),
        ("a view token edits", "u:m\nt:%s\nf:0:notes\nd:0:+evil\n\n" % view_notes,
         "x:view:notes\nF:0:notes\nR:0:secret text\n\n"),
        ("a view token deletes", "u:m\nt:%s\nf:0:notes\nd:0:-3\t=8\n\n" % view_notes,
         "x:view:notes\nF:0:notes\nR:0:secret text\n\n"),
        ("a view token forces", "u:m\nt:%s\nf:0:notes\nD:0:=11\n\n" % view_notes,
         "x:view:notes\nF:0:notes\nR:0:secret text\n\n"),
        ("a view token sends r:", "u:m\nt:%s\nf:0:notes\nr:0:evil\n\n" % view_notes,
         "x:view:notes\nF:0:notes\nR:0:secret text\n\n"),
        ("a view token sends R:", "u:m\nt:%s\nf:0:notes\nR:0:evil\n\n" % view_notes,
         "x:view:notes\nF:0:notes\nR:0:secret text\n\n"),
        ("a view token nullifies", "u:m\nt:%s\nn:notes\n\n" % view_notes, "x:view:notes\n\n"),
        ("doc A's token smuggled to doc B", "u:m\nt:%s\nf:0:notes2\nd:0:\nf:0:notes\nd:0:+evil\n\n"
         % keys.mint("notes2", "edit", 60), "x:none:notes\nF:1:notes2\nd:0:+other text\n\n"),
        ("a token after the line it should cover", "u:m\nf:0:notes\nd:0:+evil\nt:%s\n\n" % edit_notes, none),
    ]


def test_each_attack_is_refused_and_nothing_changes(guarded):
    post, texts, keys = guarded
    before = texts()
    assert before["notes"] == "secret text" and before.get("notes/../x") is None
    for name, request, answer in attacks(keys):
        assert post(request) == answer, name
        assert texts() == before, name  # byte-compared: every stored text as it was


def test_fragments_cannot_reassemble_a_forged_token(guarded):
    post, texts, keys = guarded
    before = texts()
    forged = "u:m\nt:%s\nf:0:notes\nR:0:evil\n\n" % tamper(keys.mint("notes", "edit", 60))
    data = urllib.parse.quote(forged)
    half = len(data) // 2
    assert post("b:frag1 2 1 %s\n\n" % data[:half]) == ""
    assert post("b:frag1 2 2 %s\n\n" % data[half:]) == "x:none:notes\n\n"
    assert texts() == before


def test_edit_view_and_prefix_tokens_work(guarded):
    post, texts, keys = guarded
    edit, view = keys.mint("notes", "edit", 60), keys.mint("notes", "view", 60)
    assert post("u:seed\nt:%s\nf:1:notes\nd:0:=11\t+!\n\n" % edit) == "F:1:notes\nd:1:=12\n\n"
    # The viewer receives every update and may poll.
    assert post("u:vi\nt:%s\nf:0:notes\nd:0:\n\n" % view) == "x:view:notes\nF:1:notes\nd:0:+secret text!\n\n"
    assert post("u:vi\nt:%s\nf:1:notes\nd:1:=12\n\n" % view) == "x:view:notes\nF:2:notes\nd:1:=12\n\n"
    prefix = keys.mint("notes/", "edit", 60, prefix=True)
    assert post("u:seed\nt:%s\nf:1:notes/a\nd:0:=11\t+!\n\n" % prefix) == "F:1:notes/a\nd:1:=12\n\n"
    assert texts()["notes"] == "secret text!" and texts()["notes/a"] == "under notes!"


def test_a_token_signed_with_the_previous_key_still_works(guarded):
    post, texts, _ = guarded
    old = TokenKeys(PREVIOUS).mint("notes", "edit", 60)
    assert post("u:seed\nt:%s\nf:1:notes\nd:0:=11\t+?\n\n" % old) == "F:1:notes\nd:1:=12\n\n"
    assert texts()["notes"] == "secret text?"


def test_refused_documents_keep_the_framing_of_the_others(guarded):
    """A refused document in the middle of a request: the other documents'
    blocks are exactly what they would be alone; a viewer that sends nothing
    new for a null document does not create it."""
    post, texts, keys = guarded
    n2, x = keys.mint("notes2", "edit", 60), keys.mint("x", "edit", 60)
    answer = post("u:m\nt:%s\nf:0:notes2\nd:0:\nt:\nf:0:notes\nd:0:+evil\nt:%s\nf:0:x\nd:0:\n\n" % (n2, x))
    assert answer == "x:none:notes\nF:1:notes2\nd:0:+other text\nF:1:x\nd:0:+x text\n\n"
    before = texts()
    view_new = keys.mint("fresh", "view", 60)
    assert post("u:v\nt:%s\nf:0:fresh\nd:0:\n\n" % view_new) == "x:view:fresh\nF:1:fresh\nd:0:\n\n"
    assert texts() == before and before.get("fresh") is None


def test_open_policy_and_unguarded_prefixes(tmp_path, request):
    settings = make_settings("memory", request, tmp_path, access="tokens", token_key=KEY, token_prefixes="private")
    client = create_app(settings).test_client()

    def post(text):
        return client.post("/scripts/q.py", data={"q": text}).get_data(as_text=True)

    assert post("u:a\nf:0:public\nd:0:+Hi\n\n") == "F:1:public\nd:0:=2\n\n"
    assert post("u:a\nf:0:privatex\nd:0:+Hi\n\n") == "F:1:privatex\nd:0:=2\n\n"
    assert post("u:a\nf:0:private\nd:0:+Hi\n\n") == "x:none:private\n\n"
    assert post("u:a\nf:0:private/p\nd:0:+Hi\n\n") == "x:none:private/p\n\n"
    view = TokenKeys(KEY).mint("private/p", "view", 60)
    assert post("u:a\nt:%s\nf:0:private/p\nd:0:\n\n" % view) == "x:view:private/p\nF:1:private/p\nd:0:\n\n"
    assert post("u:a\nt:%s\nf:1:private/p\nd:1:=0\n\n" % view) == "x:view:private/p\nF:2:private/p\nd:1:\n\n"


def test_tokens_policy_without_a_key_does_not_start(tmp_path, request):
    with pytest.raises(ValueError, match="MOBWRITE_TOKEN_KEY"):
        create_app(make_settings("memory", request, tmp_path, access="tokens"))
    with pytest.raises(ValueError, match="MOBWRITE_ACCESS"):
        create_app(make_settings("memory", request, tmp_path, access="closed", token_key=KEY))


def test_no_token_no_presence_of_a_private_document(guarded):
    """p: lines are read apart from edits: without a token a client must not
    see who is in a private document, nor appear in its list."""
    post, _, keys = guarded
    notes, x = keys.mint("notes", "edit", 60), keys.mint("x", "edit", 60)
    ann = urllib.parse.quote('{"name":"Ann"}')
    assert "w:" in post("u:ann\nt:%s\nf:0:notes\np:%s\nd:0:\n\n" % (notes, ann))  # a member, with a token
    # The intruder holds a token for x only; it asks about notes as well.
    answer = post("u:eve\nt:%s\nf:0:x\nd:0:\nf:0:notes\np:%s\n\n" % (x, urllib.parse.quote('{"name":"Eve"}')))
    assert "Ann" not in urllib.parse.unquote(answer), answer
    assert "Eve" not in urllib.parse.unquote(post("u:ann\nt:%s\nf:1:notes\np:%s\nd:1:=10\n\n" % (notes, ann)))

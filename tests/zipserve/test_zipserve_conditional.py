"""If-None-Match and If-Modified-Since answer 304."""

URL = "/static/lib/a.js"


def test_if_none_match_with_the_etag_is_304(client):
    etag = client.get(URL).headers["ETag"]
    response = client.get(URL, headers={"If-None-Match": etag})
    assert response.status_code == 304 and response.data == b""
    assert response.headers["ETag"] == etag
    assert response.headers["Cache-Control"] == "public, max-age=3600"
    assert response.headers["Vary"] == "Accept-Encoding"


def test_if_none_match_with_the_gzip_etag_is_304_for_gzip(client):
    etag = client.get(URL, headers={"Accept-Encoding": "gzip"}).headers["ETag"]
    response = client.get(URL, headers={"Accept-Encoding": "gzip", "If-None-Match": etag})
    assert response.status_code == 304 and response.headers["ETag"] == etag
    # The identity representation has another tag: a client asking for it
    # with the gzip tag gets the full body.
    assert client.get(URL, headers={"If-None-Match": etag}).status_code == 200


def test_if_none_match_list_weak_and_star(client):
    etag = client.get(URL).headers["ETag"]
    for value in (f'"nope", {etag}', f"W/{etag}", "*"):
        assert client.get(URL, headers={"If-None-Match": value}).status_code == 304, value


def test_if_none_match_other_tag_is_200(client):
    response = client.get(URL, headers={"If-None-Match": '"00000000-1"'})
    assert response.status_code == 200 and len(response.data) > 0


def test_if_modified_since_not_earlier_than_the_date_is_304(client):
    last_modified = client.get(URL).headers["Last-Modified"]
    assert client.get(URL, headers={"If-Modified-Since": last_modified}).status_code == 304
    later = "Fri, 05 Mar 2021 00:00:00 GMT"
    assert client.get(URL, headers={"If-Modified-Since": later}).status_code == 304


def test_if_modified_since_earlier_is_200(client):
    response = client.get(URL, headers={"If-Modified-Since": "Wed, 03 Mar 2021 23:59:59 GMT"})
    assert response.status_code == 200


def test_bad_if_modified_since_is_ignored(client):
    for value in ("yesterday", "", "Thu, 04 Mar 2021 05:06:08"):  # the last lacks GMT
        assert client.get(URL, headers={"If-Modified-Since": value}).status_code == 200, value


def test_if_none_match_wins_over_if_modified_since(client):
    last_modified = client.get(URL).headers["Last-Modified"]
    response = client.get(URL, headers={"If-None-Match": '"other"',
                                        "If-Modified-Since": last_modified})
    assert response.status_code == 200


def test_head_is_conditional_too(client):
    etag = client.head(URL).headers["ETag"]
    assert client.head(URL, headers={"If-None-Match": etag}).status_code == 304

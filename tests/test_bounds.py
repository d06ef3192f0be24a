"""Out-of-range numbers and dates are refused with a message on their field, never a 500.

The bounds live in ``webapp.services.limits``; the pages, the list parameters and the
JSON API (and its OpenAPI document) all apply the same ones.
"""

from __future__ import annotations

import re
import urllib.parse

import pytest

from tests.api_support import ApiClient, error_of, issue_token, make_blog, make_tag
from webapp.services.limits import DATE_PATTERN, MAX_DATE, MAX_ID, MAX_PAGE, MAX_VERSION, MIN_DATE
from webapp.views.api.common import ETAG_PATTERN

#: Display zones at both ends of the offsets: +14:00, and -11:00 (+12:37 before 1892).
ZONES = ["Pacific/Kiritimati", "Pacific/Pago_Pago"]
HUGE = "9" * 400  # past 1e308: WTForms' NumberRange turned it into a float and overflowed
LONG = "9" * 5000  # past the 4,300 digits int() reads
EDGE_MOMENTS = ["0001-01-01T00:00:00Z", "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59Z",
                "9999-12-31T23:59:59-14:00", "1899-12-31T23:59:59Z", "9999-01-01T00:00:00Z",
                "1899-12-31T23:59:59-14:00"]
#: Bounds as written: in UTC these are up to 14 hours outside MIN_DATE..MAX_DATE.
BOUND_MOMENTS = [MIN_DATE.isoformat(), MAX_DATE.isoformat(), "1900-01-01T00:00:00+14:00",
                 "9998-12-31T23:59:59-14:00"]


@pytest.fixture
def api(app, admin) -> ApiClient:
    return ApiClient(app, issue_token(app, admin), admin)


@pytest.fixture(params=ZONES)
def zoned(request, app):
    """The app, shown in a display time zone far from UTC."""
    app.config["BABEL_DEFAULT_TIMEZONE"] = request.param
    return app


def field_errors(response) -> str:
    """The page's text, for looking for a field's message (the form is shown again, not a 500)."""
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


# -- pages -----------------------------------------------------------------------------------

@pytest.mark.parametrize("value", [HUGE, LONG, "2147483648", "1e309", "inf", "nan", "-1"])
def test_tag_merge_form_refuses_an_id_out_of_range(app, as_admin, value):
    tag_id = make_tag(app, "python")
    make_tag(app, "flask")
    response = as_admin.post(f"/tags/{tag_id}/merge", data={"target": value})
    assert "Not a valid id." in field_errors(response) or "Invalid Choice" in response.text


@pytest.mark.parametrize("field", ["author_id", "publish_at"])
@pytest.mark.parametrize("value", [HUGE, LONG, "1e309", "inf", "nan"])
def test_blog_form_refuses_numbers_out_of_range(app, as_admin, field, value):
    response = as_admin.post("/blogs/new", data={"title": "Hello", "status": "draft", field: value})
    assert "Hello" in field_errors(response)  # the form again, with what was typed


@pytest.mark.parametrize("value", ["0001-01-01T00:00", "9999-12-31T23:59", "9999-12-31T23:59:59",
                                   "1899-12-31T12:00"])
def test_blog_form_refuses_a_publication_date_at_the_calendar_edges(zoned, as_admin, value):
    blog_id = make_blog(zoned, "Existing")
    for url in ("/blogs/new", f"/blogs/{blog_id}/edit"):
        response = as_admin.post(url, data={"title": "Hello", "status": "draft", "publish_at": value,
                                            "version": "1"})
        assert "Use a date from" in field_errors(response), url


@pytest.mark.parametrize("param", ["author", "tag"])
@pytest.mark.parametrize("value", [HUGE, LONG, "2147483648"])
def test_blog_list_reports_an_id_filter_out_of_range(as_admin, param, value):
    response = as_admin.get("/blogs/", query_string={param: value})
    assert "numeric id" in field_errors(response)


@pytest.mark.parametrize("value", ["0001-01-01", "9999-12-31", "1899-12-31"])
def test_list_date_filters_report_days_out_of_range(zoned, as_admin, value):
    for url in ("/blogs/", "/audit/"):
        response = as_admin.get(url, query_string={"since": value, "until": value})
        assert "Use a date between 1900-01-01 and 9998-12-31." in field_errors(response), url


@pytest.mark.parametrize("value", [LONG, HUGE, str(MAX_PAGE + 1)])
def test_list_pages_show_a_page_for_any_page_number(as_admin, value):
    for url in ("/blogs/", "/users/", "/tags/", "/audit/"):
        assert as_admin.get(url, query_string={"page": value, "per_page": value}).status_code == 200, url


# -- JSON API --------------------------------------------------------------------------------

@pytest.mark.parametrize("moment", EDGE_MOMENTS)
def test_api_refuses_publication_dates_out_of_range(app, api, moment):
    blog_id = make_blog(app, "Existing")
    created = api.post("/api/v1/blogs", json={"title": "Edge", "publish_at": moment})
    changed = api.patch(f"/api/v1/blogs/{blog_id}", json={"publish_at": moment})
    for response in (created, changed):
        assert response.status_code == 422
        assert list(error_of(response)["fields"]) == ["publish_at"]


def test_api_accepts_publication_dates_at_the_bounds(app, api, zoned, as_admin):
    for moment in BOUND_MOMENTS:
        response = api.post("/api/v1/blogs", json={"title": "Edge", "publish_at": moment})
        assert response.status_code == 201, response.get_json()
        blog_id = response.get_json()["id"]
        for url in (f"/blogs/{blog_id}", f"/blogs/{blog_id}/edit", "/blogs/", "/blogs/export.csv"):
            assert as_admin.get(url).status_code == 200, url


@pytest.mark.parametrize("moment", [*EDGE_MOMENTS, *BOUND_MOMENTS, "1900-06-01T12:00:00-05:00"])
def test_documented_date_pattern_matches_what_the_api_accepts(app, api, moment):
    response = api.post("/api/v1/blogs", json={"title": "Edge", "publish_at": moment})
    assert (response.status_code == 201) == bool(re.match(DATE_PATTERN, moment)), response.get_json()


@pytest.mark.parametrize("etag", ['"1"', 'W/"1"', "*", '"01"', '"0"', '"1000000000"', '""', "1", '"1'])
def test_documented_etag_pattern_matches_what_the_api_accepts(app, api, etag):
    tag_id = make_tag(app, "python")
    response = api.patch(f"/api/v1/tags/{tag_id}", json={"name": "py"}, headers={"If-Match": etag})
    assert response.status_code in (200, 400, 409)
    assert (response.status_code != 400) == bool(re.match(ETAG_PATTERN, etag)), response.get_json()


@pytest.mark.parametrize("literal", [LONG, "1e309", "-1e309", "NaN", "Infinity", str(MAX_VERSION + 1)])
@pytest.mark.parametrize("path,field", [("/api/v1/tags/{id}", "version"),
                                        ("/api/v1/blogs/{id}", "author_id")])
def test_api_bodies_refuse_numbers_out_of_range(app, api, literal, path, field):
    blog_id = make_blog(app, "Existing")
    tag_id = make_tag(app, "python")
    url = path.format(id=tag_id if "tags" in path else blog_id)
    response = api.patch(url, data=f'{{"{field}": {literal}}}', content_type="application/json")
    assert response.status_code in (400, 422)
    error = error_of(response)
    if response.status_code == 422:
        assert list(error["fields"]) == [field]


@pytest.mark.parametrize("param,value", [
    ("page", str(MAX_PAGE + 1)), ("page", LONG), ("page", "1e309"), ("per_page", "inf"),
    ("author", str(MAX_ID + 1)), ("author", HUGE), ("tag", "nan"), ("since", "0001-01-01"),
    ("until", "9999-12-31"), ("since", "10000-01-01"),
])
def test_api_list_parameters_out_of_range_are_400s_naming_the_parameter(api, param, value):
    response = api.get("/api/v1/blogs", query_string={param: value})
    assert response.status_code == 400
    assert list(error_of(response)["fields"]) == [param]


@pytest.mark.parametrize("etag", [f'"{MAX_VERSION + 1}"', '"99999999999999999999"', '"0"'])
def test_if_match_out_of_range_is_a_400_on_the_header(app, api, etag):
    tag_id = make_tag(app, "python")
    response = api.patch(f"/api/v1/tags/{tag_id}", json={"name": "py"}, headers={"If-Match": etag})
    assert response.status_code == 400
    assert list(error_of(response)["fields"]) == ["If-Match"]


@pytest.mark.parametrize("value", [HUGE, LONG, str(MAX_ID + 1), "0"])
def test_api_reassign_to_out_of_range_is_a_400(api, make_user, value):
    user = make_user("leaving", role="editor")
    response = api.delete(f"/api/v1/users/{user.id}",
                          query_string={"blogs": "reassign", "reassign_to": value})
    assert response.status_code == 400
    assert list(error_of(response)["fields"]) == ["reassign_to"]


def test_openapi_document_states_the_bounds(api):
    spec = api.get("/api/v1/openapi.json").get_json()
    params = {p["name"]: p["schema"] for p in spec["paths"]["/api/v1/blogs"]["get"]["parameters"]}
    assert (params["page"]["minimum"], params["page"]["maximum"]) == (1, MAX_PAGE)
    assert params["author"]["maximum"] == MAX_ID
    assert (params["since"]["x-minimum"], params["since"]["x-maximum"]) == ("1900-01-01", "9998-12-31")
    blog = spec["components"]["schemas"]["BlogUpdate"]["properties"]
    assert blog["version"]["maximum"] == MAX_VERSION and blog["author_id"]["maximum"] == MAX_ID
    assert blog["publish_at"]["x-minimum"] == "1900-01-01T00:00:00"
    assert blog["publish_at"]["x-maximum"] == "9998-12-31T23:59:59"
    assert blog["publish_at"]["pattern"] == params["since"]["pattern"] == DATE_PATTERN
    patch = spec["paths"]["/api/v1/blogs/{blog_id}"]["patch"]
    if_match = next(p for p in patch["parameters"] if p["name"] == "If-Match")
    assert if_match["schema"]["pattern"] == ETAG_PATTERN
    item = spec["paths"]["/api/v1/blogs/{blog_id}"]["parameters"][0]["schema"]
    assert item["maximum"] == MAX_ID


@pytest.mark.parametrize("raw,accepted", [("q=plain", True), ("q=a%00b", False), ("q=%ED%A0%80", True)])
def test_documented_search_pattern_matches_what_the_api_accepts(api, raw, accepted):
    """Only NUL is refused: an encoded lone surrogate is not UTF-8, and decodes to U+FFFD."""
    response = api.get(f"/api/v1/blogs?{raw}")
    assert (response.status_code == 200) == accepted, response.get_json()
    spec = api.get("/api/v1/openapi.json").get_json()
    q = next(p for p in spec["paths"]["/api/v1/blogs"]["get"]["parameters"] if p["name"] == "q")
    value = urllib.parse.unquote(raw[2:], errors="replace")
    assert bool(re.match(q["schema"]["pattern"], value)) == accepted

"""Bad input to the accounts endpoints: malformed JSON, missing and extra fields, wrong types,
overlong strings, invalid emails and phones, passwords outside 10..256 bytes, SQL-injection
strings. Each is a 400 VALIDATION_ERROR naming the field (or, for text that has the right
form, an ordinary refusal), never a 5xx."""

import json

import pytest

from accounts import PASSWORD, post, unique_email
from support import assert_problem

INJECTIONS = ["' OR '1'='1", "'; DROP TABLE pgfolio.users; --", "\" OR \"\"=\"",
              "admin'--", "1); SELECT pg_sleep(10); --", "$$; SELECT 1; $$"]


def register_body(**changes):
    body = {"email": unique_email("input"), "password": PASSWORD, "displayName": "Input Test"}
    body.update(changes)
    return {k: v for k, v in body.items() if v is not None}


def field_problem(response, field):
    problem = assert_problem(response, 400, "VALIDATION_ERROR")
    assert problem["details"].get("field") == field, problem
    return problem


@pytest.mark.parametrize("raw", [b"{", b"", b"{\"email\": }", b"[]", b"\"text\"", b"null",
                                 b"{\"email\": \"a@b.example\"} trailing", b"\xff\xfe"])
def test_malformed_json_is_400(client, raw):
    response = post(client, "/auth/register", raw)
    assert_problem(response, 400, "VALIDATION_ERROR")


@pytest.mark.parametrize("missing", ["email", "password", "displayName"])
def test_missing_field_is_named(client, missing):
    field_problem(post(client, "/auth/register", register_body(**{missing: None})), missing)


def test_extra_field_is_named(client):
    problem = field_problem(post(client, "/auth/register", register_body(role="admin")), "role")
    assert "not one this endpoint takes" in problem["detail"]


@pytest.mark.parametrize("field,value", [("email", 42), ("email", ["a@b.example"]),
                                         ("password", 1234567890123), ("password", None),
                                         ("displayName", {"first": "A"}), ("displayName", True)])
def test_wrong_type_is_named(client, field, value):
    body = register_body()
    body[field] = value
    field_problem(post(client, "/auth/register", body), field)


@pytest.mark.parametrize("email", ["plain", "a@b", "@example.com", "a b@example.com",
                                   "a@@example.com", "x" * 250 + "@e.example", "a@b.example\n",
                                   *INJECTIONS])
def test_invalid_email_is_400(client, email):
    field_problem(post(client, "/auth/register", register_body(email=email)), "email")
    field_problem(post(client, "/auth/login", {"email": email, "password": PASSWORD}), "email")


@pytest.mark.parametrize("password", ["short", "123456789", "é" * 9, "x" * 257, "é" * 129])
def test_password_length_is_checked(client, password):
    # 10 characters at least (é is one character, two bytes), 256 bytes at most.
    problem = field_problem(post(client, "/auth/register", register_body(password=password)),
                            "password")
    assert password not in problem["detail"]


def test_password_at_the_limits_is_accepted(client):
    for password in ("é" * 10, "x" * 256, "é" * 128):
        response = post(client, "/auth/register", register_body(password=password))
        assert response.status == 201, (len(password.encode()), response.body)


def test_login_with_an_overlong_password_is_400_and_a_short_one_401(client):
    field_problem(post(client, "/auth/login", {"email": unique_email(), "password": "x" * 257}),
                  "password")
    assert_problem(post(client, "/auth/login", {"email": unique_email(), "password": "x"}), 401,
                   "UNAUTHORIZED")


@pytest.mark.parametrize("name", ["", "x" * 101, "tab\there", "nul\u0000"])
def test_bad_display_name_is_400(client, name):
    field_problem(post(client, "/auth/register", register_body(displayName=name)),
                  "displayName")


@pytest.mark.parametrize("text", INJECTIONS)
def test_injection_strings_are_only_text(client, db, text):
    # Where any text is allowed they are stored as text; elsewhere they fail the form check.
    registered = post(client, "/auth/register", register_body(displayName=text))
    assert registered.status == 201, registered.body
    assert registered.json()["user"]["displayName"] == text
    assert_problem(post(client, "/auth/login", {"email": unique_email(), "password": text}), 401,
                   "UNAUTHORIZED")
    field_problem(post(client, "/auth/refresh", {"refreshToken": text}), "refreshToken")
    field_problem(post(client, "/auth/send-otp", {"phone": text}), "phone")
    with db.cursor() as cursor:
        cursor.execute("SELECT to_regclass('pgfolio.users') IS NOT NULL")
        assert cursor.fetchone()[0]


@pytest.mark.parametrize("path", ["/auth/register", "/auth/login", "/auth/refresh",
                                  "/auth/send-otp", "/auth/verify-otp", "/auth/verify-email",
                                  "/auth/password/forgot", "/auth/password/reset",
                                  "/auth/mfa/verify"])
def test_every_anonymous_route_needs_json(client, path):
    response = client.request("POST", "/api/v1" + path, {"Content-Type": "text/plain"},
                              json.dumps(register_body()).encode())
    assert_problem(response, 415, "UNSUPPORTED_MEDIA_TYPE")


def test_field_names_in_problems_are_bounded_and_printable(client):
    body = register_body()
    body["\u0001" + "k" * 500] = 1
    problem = assert_problem(post(client, "/auth/register", body), 400, "VALIDATION_ERROR")
    assert len(problem["details"]["field"]) <= 64
    assert "\u0001" not in problem["detail"]


# Refusals from the SQL functions name the argument they got (tokenHash, challengeHash,
# totpStep, …); the answer names the request's field it came from.
@pytest.mark.parametrize("path,body,field", [
    ("/auth/verify-email", {"token": "A" * 43}, "token"),
    ("/auth/password/reset", {"token": "A" * 43, "password": PASSWORD}, "token"),
    ("/auth/mfa/verify", {"challenge": "A" * 43, "code": "123456"}, "challenge"),
])
def test_refusals_name_the_request_field_not_the_hash(client, path, body, field):
    problem = assert_problem(post(client, path, body), 401, "UNAUTHORIZED")
    assert problem["details"] == {"field": field, "reason": "unknown"}, problem

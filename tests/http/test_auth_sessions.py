"""Email and password accounts end to end: register, login, refresh with rotation, reuse of a
rotated refresh token detected (the session is revoked: later refreshes and access tokens
refused), logout, the session list, and answers that fit their OpenAPI schemas."""

import pytest

from accounts import (PASSWORD, bearer, jwt_claims, login, post, register, unique_email)
from support import assert_problem, schema_problems


def tokens_fit(answer, schemas):
    # register() adds the credentials it used to the server's answer.
    answer = {k: v for k, v in answer.items() if k not in ("email", "password")}
    assert not schema_problems(answer, {"$ref": "#/components/schemas/Tokens"}, schemas), answer


def profile(client, access_token):
    return client.get("/api/v1/profile", bearer(access_token))


def test_register_login_refresh_reuse_logout(client, db, openapi_schemas):
    email = unique_email("flow")
    registered = register(client, email=email, display_name="Flow Person")
    tokens_fit(registered, openapi_schemas)
    user = registered["user"]
    assert (user["email"], user["displayName"], user["role"]) == (email, "Flow Person", "user")
    assert registered["expiresIn"] == 900
    claims = jwt_claims(registered["accessToken"])
    assert claims["sub"] == user["id"] and claims["role"] == "user"
    assert claims["exp"] - claims["iat"] == 900

    logged_in = login(client, email)
    assert logged_in.status == 200
    first = logged_in.json()
    tokens_fit(first, openapi_schemas)
    assert profile(client, first["accessToken"]).json()["email"] == email

    refreshed = post(client, "/auth/refresh", {"refreshToken": first["refreshToken"]})
    assert refreshed.status == 200, refreshed.body
    second = refreshed.json()
    tokens_fit(second, openapi_schemas)
    assert second["refreshToken"] != first["refreshToken"]
    # The user as the login answered it, from auth_refresh's one call.
    assert second["user"] == first["user"]
    assert jwt_claims(second["accessToken"])["sid"] == jwt_claims(first["accessToken"])["sid"]
    assert profile(client, second["accessToken"]).status == 200

    # The rotated token again: theft assumed, the whole session ends.
    reused = post(client, "/auth/refresh", {"refreshToken": first["refreshToken"]})
    problem = assert_problem(reused, 401, "UNAUTHORIZED")
    assert problem["details"] == {"reason": "refreshReuse"}
    assert reused.header("WWW-Authenticate").startswith("Bearer")
    assert_problem(post(client, "/auth/refresh", {"refreshToken": second["refreshToken"]}), 401,
                   "UNAUTHORIZED")
    assert_problem(profile(client, second["accessToken"]), 401, "UNAUTHORIZED")
    with db.cursor() as cursor:
        cursor.execute("""SELECT count(*) FROM pgfolio.audit_logs
                          WHERE action = 'refresh.reuse' AND actor_id = %s""", (user["id"],))
        assert cursor.fetchone()[0] == 1

    # Another login, then logout ends it; the registration's session is untouched.
    third = login(client, email).json()
    logged_out = client.request("POST", "/api/v1/auth/logout", bearer(third["accessToken"]),
                                b"")
    assert logged_out.status == 200 and logged_out.json() == {"success": True}
    assert_problem(profile(client, third["accessToken"]), 401, "UNAUTHORIZED")
    assert_problem(post(client, "/auth/refresh", {"refreshToken": third["refreshToken"]}), 401,
                   "UNAUTHORIZED")
    assert profile(client, registered["accessToken"]).status == 200


def test_unknown_email_and_wrong_password_get_identical_answers(client):
    person = register(client)
    wrong = login(client, person["email"], "not the password at all")
    unknown = login(client, unique_email("nobody"), "not the password at all")
    for response in (wrong, unknown):
        assert_problem(response, 401, "UNAUTHORIZED")
    assert wrong.json() == unknown.json()
    assert wrong.header("WWW-Authenticate") == unknown.header("WWW-Authenticate")


def test_email_is_case_insensitive_and_taken_once(client):
    email = unique_email("case")
    register(client, email=email)
    assert login(client, email.upper()).status == 200
    taken = post(client, "/auth/register",
                 {"email": email.upper(), "password": PASSWORD, "displayName": "Again"})
    assert assert_problem(taken, 409, "CONFLICT")["details"] == {"field": "email"}


def test_sessions_list_and_revoke_one(client, openapi_schemas):
    person = register(client)
    other = login(client, person["email"]).json()
    listed = client.get("/api/v1/auth/sessions", bearer(person["accessToken"]))
    assert listed.status == 200
    sessions = listed.json()
    assert not schema_problems(sessions, {"type": "array",
                                          "items": {"$ref": "#/components/schemas/Session"}},
                               openapi_schemas), sessions
    assert len(sessions) == 2
    current = [s for s in sessions if s["current"]]
    assert len(current) == 1 and current[0]["id"] == jwt_claims(person["accessToken"])["sid"]
    assert all(s["ip"] == "127.0.0.1" for s in sessions)

    other_sid = jwt_claims(other["accessToken"])["sid"]
    revoked = client.request("DELETE", f"/api/v1/auth/sessions/{other_sid}",
                             bearer(person["accessToken"]))
    assert revoked.status == 200 and revoked.json() == {"success": True}
    assert_problem(profile(client, other["accessToken"]), 401, "UNAUTHORIZED")
    assert profile(client, person["accessToken"]).status == 200
    # Revoking it again, or someone else's: not found.
    again = client.request("DELETE", f"/api/v1/auth/sessions/{other_sid}",
                           bearer(person["accessToken"]))
    assert_problem(again, 404, "NOT_FOUND")
    stranger = register(client)
    theirs = client.request("DELETE", f"/api/v1/auth/sessions/{jwt_claims(stranger['accessToken'])['sid']}",
                            bearer(person["accessToken"]))
    assert_problem(theirs, 404, "NOT_FOUND")
    assert profile(client, stranger["accessToken"]).status == 200


def test_malformed_session_id_is_400(client):
    person = register(client)
    response = client.request("DELETE", "/api/v1/auth/sessions/not-a-uuid",
                              bearer(person["accessToken"]))
    assert assert_problem(response, 400, "VALIDATION_ERROR")["details"]["parameter"] == "sessionId"


@pytest.mark.parametrize("token", ["", "short", "x" * 43, "A" * 42 + "=", "A" * 44])
def test_malformed_refresh_token_is_400_or_401(client, token):
    response = post(client, "/auth/refresh", {"refreshToken": token})
    # Not the form tokens have: 400 naming the field; the right form but unknown: 401.
    if response.status == 400:
        assert response.json()["details"]["field"] == "refreshToken"
    else:
        assert_problem(response, 401, "UNAUTHORIZED")


def test_demo_users_log_in_with_the_documented_password(client):
    # demo/demo.sql, README and the lines `make run` prints name this password.
    for email in ("asha@example.com", "meera@example.com"):
        answer = login(client, email, "pgfolio-demo-password")
        assert answer.status == 200, answer.body[:300]
        assert answer.json()["user"]["email"] == email

"""Every way an access token is refused (401 UNAUTHORIZED with WWW-Authenticate: Bearer):
the tokens are built here with hmac, so each breaks exactly one rule — alg none, an HMAC
algorithm other than the configured HS512, a bad signature, expired, issued in the future,
wrong issuer or audience, each claim missing, malformed claims — and, with a valid signature,
a revoked session and a suspended user. A token signed the same way with every rule kept is
accepted, which shows the refusals are for the rule broken."""

import time

import pytest

from accounts import (b64url, bearer, jwt_claims, make_jwt, register, server_jwt_settings,
                      set_role)
from support import assert_problem

PROFILE = "/api/v1/profile"


@pytest.fixture(scope="module")
def jwt_settings(settings):
    return server_jwt_settings(settings)


@pytest.fixture(scope="module")
def person(client):
    return register(client)


def claims_of(person, jwt_settings, **changes):
    now = int(time.time())
    claims = {"sub": person["user"]["id"], "role": "user",
              "sid": jwt_claims(person["accessToken"])["sid"], "iat": now, "exp": now + 600,
              "iss": jwt_settings["issuer"], "aud": jwt_settings["audience"]}
    for name, value in changes.items():
        if value is None:
            claims.pop(name, None)
        else:
            claims[name] = value
    return claims


def refused(client, token, reason=None):
    response = client.get(PROFILE, bearer(token))
    problem = assert_problem(response, 401, "UNAUTHORIZED")
    assert response.header("WWW-Authenticate").startswith("Bearer"), response.headers
    if reason:
        assert problem["details"]["reason"] == reason, problem
    return problem


def test_a_token_built_here_is_accepted(client, person, jwt_settings):
    token = make_jwt(claims_of(person, jwt_settings), jwt_settings["secret"])
    assert client.get(PROFILE, bearer(token)).status == 200


def test_alg_none_is_refused(client, person, jwt_settings):
    token = make_jwt(claims_of(person, jwt_settings), b"", alg="none")
    refused(client, token, "bad_alg")
    # Even with a signature attached.
    signed = make_jwt(claims_of(person, jwt_settings), jwt_settings["secret"])
    header = b64url(b'{"alg":"none","typ":"JWT"}')
    refused(client, header + signed[signed.index("."):], "bad_alg")


def test_hs256_with_the_right_secret_is_refused_when_hs512_is_configured(client, person,
                                                                          jwt_settings):
    token = make_jwt(claims_of(person, jwt_settings), jwt_settings["secret"], alg="HS256")
    refused(client, token, "bad_alg")


@pytest.mark.parametrize("alg", ["RS256", "hs512", "HS512 ", "ES256"])
def test_other_alg_names_are_refused(client, person, jwt_settings, alg):
    token = make_jwt(claims_of(person, jwt_settings), jwt_settings["secret"],
                     header={"alg": alg, "typ": "JWT"})
    refused(client, token)


def test_bad_signature_is_refused(client, person, jwt_settings):
    token = make_jwt(claims_of(person, jwt_settings), b"another secret of 32 bytes or more!!")
    refused(client, token, "bad_signature")
    # A real token with its payload changed (role admin) keeps its old signature.
    real = person["accessToken"]
    head, _, signature = real.split(".")
    forged_payload = b64url(str.encode(
        '{"aud":"%s","exp":%d,"iat":%d,"iss":"%s","role":"admin","sid":"%s","sub":"%s"}' % (
            jwt_settings["audience"], int(time.time()) + 600, int(time.time()),
            jwt_settings["issuer"], jwt_claims(real)["sid"], person["user"]["id"])))
    refused(client, f"{head}.{forged_payload}.{signature}", "bad_signature")
    refused(client, f"{head}.{real.split('.')[1]}.", "bad_signature")


def test_expired_token_is_refused(client, person, jwt_settings):
    now = int(time.time())
    token = make_jwt(claims_of(person, jwt_settings, iat=now - 1000, exp=now - 60),
                     jwt_settings["secret"])
    refused(client, token, "expired")


def test_token_issued_in_the_future_is_refused(client, person, jwt_settings):
    now = int(time.time())
    token = make_jwt(claims_of(person, jwt_settings, iat=now + 300, exp=now + 900),
                     jwt_settings["secret"])
    refused(client, token, "not_yet_valid")


def test_wrong_issuer_and_audience_are_refused(client, person, jwt_settings):
    secret = jwt_settings["secret"]
    refused(client, make_jwt(claims_of(person, jwt_settings, iss="someone-else"), secret),
            "bad_issuer")
    refused(client, make_jwt(claims_of(person, jwt_settings, aud="another-api"), secret),
            "bad_audience")


@pytest.mark.parametrize("claim", ["sub", "role", "sid", "iat", "exp", "iss", "aud"])
def test_each_missing_claim_is_refused(client, person, jwt_settings, claim):
    token = make_jwt(claims_of(person, jwt_settings, **{claim: None}), jwt_settings["secret"])
    refused(client, token, "missing_claim")


@pytest.mark.parametrize("changes", [{"exp": "9999999999"}, {"sub": "not-a-uuid"},
                                     {"sid": "42"}, {"role": "root"}, {"exp": 1.5e10}])
def test_malformed_claims_are_refused(client, person, jwt_settings, changes):
    token = make_jwt(claims_of(person, jwt_settings, **changes), jwt_settings["secret"])
    refused(client, token, "invalid_claim")


@pytest.mark.parametrize("authorization", ["Bearer", "Bearer ", "Token abc", "bearer x.y",
                                           "Bearer a.b.c.d", "Bearer " + "A" * 9000])
def test_malformed_authorization_is_refused(client, authorization):
    response = client.get(PROFILE, {"Authorization": authorization})
    assert_problem(response, 401, "UNAUTHORIZED")


def test_valid_signature_for_a_revoked_session_is_refused(client, jwt_settings):
    person = register(client)
    token = make_jwt(claims_of(person, jwt_settings), jwt_settings["secret"])
    assert client.get(PROFILE, bearer(token)).status == 200
    assert client.request("POST", "/api/v1/auth/logout", bearer(person["accessToken"]),
                          b"").status == 200
    refused(client, token)
    refused(client, person["accessToken"])


def test_valid_signature_for_another_users_session_is_refused(client, person, jwt_settings):
    stranger = register(client)
    token = make_jwt(claims_of(person, jwt_settings, sid=jwt_claims(stranger["accessToken"])["sid"]),
                     jwt_settings["secret"])
    refused(client, token)


def test_valid_token_of_a_suspended_user_is_refused(client, db, jwt_settings):
    person = register(client)
    with db.cursor() as cursor:
        cursor.execute("UPDATE pgfolio.users SET status = 'suspended' WHERE id = %s",
                       (person["user"]["id"],))
    try:
        refused(client, person["accessToken"])
    finally:
        with db.cursor() as cursor:
            cursor.execute("UPDATE pgfolio.users SET status = 'active' WHERE id = %s",
                           (person["user"]["id"],))
    # The session itself was not ended by the direct update: the user is back.
    assert client.get(PROFILE, bearer(person["accessToken"])).status == 200


def test_role_claim_admin_for_a_user_is_refused_by_the_database(client, person, jwt_settings):
    # A token that claims admin (as a leaked signing key could make) passes the HTTP check of
    # the role, but authenticate() answers the role the database holds.
    token = make_jwt(claims_of(person, jwt_settings, role="admin"), jwt_settings["secret"])
    response = client.get("/api/v1/admin/users", bearer(token))
    assert_problem(response, 403, "FORBIDDEN")


def test_user_token_on_an_admin_route_is_403(client, person):
    response = client.get("/api/v1/admin/users", bearer(person["accessToken"]))
    problem = assert_problem(response, 403, "FORBIDDEN")
    assert problem["details"] == {"requiredRole": "admin"}


def test_demoted_admin_loses_admin_routes_at_once(client, db):
    person = register(client)
    set_role(db, person["user"]["id"], "admin")
    from accounts import login
    admin_tokens = login(client, person["email"]).json()
    assert client.get("/api/v1/admin/users", bearer(admin_tokens["accessToken"])).status == 200
    set_role(db, person["user"]["id"], "user")
    assert_problem(client.get("/api/v1/admin/users", bearer(admin_tokens["accessToken"])), 403,
                   "FORBIDDEN")

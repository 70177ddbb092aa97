"""Optional TOTP MFA (RFC 6238, codes computed here): enrol, confirm with a code, log in with
password then challenge and code; a wrong code counts against the challenge (5 tries), an
expired challenge is refused, a challenge works once; disable needs a current code. The TOTP
secret is stored encrypted: the database row holds neither the secret nor its base32 form."""

import base64
import urllib.parse

import pytest

from accounts import (bearer, login, post, register, totp, unique_phone, wrong_totp)
from support import assert_problem, schema_problems

MFA = "/auth/mfa"


def enrol(client, access_token):
    response = client.request("POST", "/api/v1" + MFA + "/enrol", bearer(access_token), b"")
    assert response.status == 200, response.body
    return response.json()


def enrolled_person(client):
    """A registered person with MFA on; returns (tokens, base32 secret)."""
    person = register(client)
    secret = enrol(client, person["accessToken"])["secret"]
    confirmed = post(client, MFA + "/confirm", {"code": totp(secret)},
                     bearer(person["accessToken"]))
    assert confirmed.status == 200, confirmed.body
    return person, secret


def challenge_for(client, person):
    response = login(client, person["email"])
    assert response.status == 200
    answer = response.json()
    assert answer["mfaRequired"] is True
    return answer["challenge"]


def test_enrol_confirm_login_with_code(client, db, openapi_schemas):
    person = register(client)
    enrolment = enrol(client, person["accessToken"])
    assert not schema_problems(enrolment, {"$ref": "#/components/schemas/MfaEnrolment"},
                               openapi_schemas)
    secret = enrolment["secret"]
    assert len(base64.b32decode(secret + "=" * (-len(secret) % 8))) == 20
    uri = urllib.parse.urlsplit(enrolment["otpauthUri"])
    assert (uri.scheme, uri.netloc) == ("otpauth", "totp")
    query = urllib.parse.parse_qs(uri.query)
    assert query["secret"] == [secret] and query["issuer"] == ["pgfolio"]
    assert urllib.parse.unquote(uri.path) == "/pgfolio:" + person["email"]

    # Not yet in force: login still answers tokens.
    assert "accessToken" in login(client, person["email"]).json()

    wrong = post(client, MFA + "/confirm", {"code": wrong_totp(secret)},
                 bearer(person["accessToken"]))
    assert assert_problem(wrong, 400, "VALIDATION_ERROR")["details"] == {"field": "code"}
    confirmed = post(client, MFA + "/confirm", {"code": totp(secret)},
                     bearer(person["accessToken"]))
    assert confirmed.status == 200 and confirmed.json() == {"success": True}

    # The row holds ciphertext only.
    with db.cursor() as cursor:
        cursor.execute("SELECT totp_secret FROM pgfolio.users WHERE id = %s",
                       (person["user"]["id"],))
        stored = bytes(cursor.fetchone()[0])
    raw = base64.b32decode(secret + "=" * (-len(secret) % 8))
    assert raw not in stored and secret.encode() not in stored and len(stored) > len(raw)

    answer = login(client, person["email"])
    assert not schema_problems(answer.json(), {"$ref": "#/components/schemas/LoginResult"},
                               openapi_schemas)
    challenge = answer.json()["challenge"]
    assert "accessToken" not in answer.json()
    verified = post(client, MFA + "/verify", {"challenge": challenge, "code": totp(secret)})
    assert verified.status == 200, verified.body
    tokens = verified.json()
    assert not schema_problems(tokens, {"$ref": "#/components/schemas/Tokens"}, openapi_schemas)
    assert tokens["user"]["mfaEnabled"] is True
    assert client.get("/api/v1/profile", bearer(tokens["accessToken"])).status == 200
    # The challenge is used up.
    assert_problem(post(client, MFA + "/verify", {"challenge": challenge, "code": totp(secret)}),
                   401, "UNAUTHORIZED")


def test_codes_of_the_neighbouring_steps_are_accepted(client):
    person, secret = enrolled_person(client)
    for offset in (-1, 1):
        challenge = challenge_for(client, person)
        response = post(client, MFA + "/verify",
                        {"challenge": challenge, "code": totp(secret, step_offset=offset)})
        assert response.status == 200, (offset, response.body)


def test_wrong_codes_use_up_the_challenge(client, db):
    person, secret = enrolled_person(client)
    challenge = challenge_for(client, person)
    code = wrong_totp(secret)
    for attempts_left in (4, 3, 2, 1, 0):
        response = post(client, MFA + "/verify", {"challenge": challenge, "code": code})
        problem = assert_problem(response, 401, "UNAUTHORIZED")
        assert problem["details"] == {"field": "code", "attemptsLeft": attempts_left}
    exhausted = post(client, MFA + "/verify", {"challenge": challenge, "code": totp(secret)})
    assert assert_problem(exhausted, 401, "UNAUTHORIZED")["details"]["reason"] == \
        "attemptsExhausted"
    with db.cursor() as cursor:
        cursor.execute("""SELECT count(*) FROM pgfolio.audit_logs WHERE actor_id = %s
                          AND action = 'login.failure' AND details->>'reason' = 'mfa'""",
                       (person["user"]["id"],))
        assert cursor.fetchone()[0] == 5
    # A new login gives a new challenge that works.
    fresh = challenge_for(client, person)
    assert post(client, MFA + "/verify", {"challenge": fresh, "code": totp(secret)}).status == 200


def test_expired_challenge_is_refused(client, db):
    person, secret = enrolled_person(client)
    challenge = challenge_for(client, person)
    with db.cursor() as cursor:
        cursor.execute("""UPDATE pgfolio.one_time_tokens
                          SET created_at = created_at - interval '301 seconds',
                              expires_at = expires_at - interval '301 seconds'
                          WHERE user_id = %s AND purpose = 'mfa_challenge'""",
                       (person["user"]["id"],))
        assert cursor.rowcount == 1
    response = post(client, MFA + "/verify", {"challenge": challenge, "code": totp(secret)})
    assert assert_problem(response, 401, "UNAUTHORIZED")["details"]["reason"] == "expired"


def test_made_up_challenge_is_refused(client):
    response = post(client, MFA + "/verify", {"challenge": "A" * 43, "code": "123456"})
    assert_problem(response, 401, "UNAUTHORIZED")


def test_phone_login_with_mfa_needs_the_code_too(client, db, outbox):
    phone = unique_phone()
    mark = outbox.mark()
    post(client, "/auth/send-otp", {"phone": phone})
    code = outbox.wait_for(mark, phone, "otp")["payload"]["code"]
    tokens = post(client, "/auth/verify-otp", {"phone": phone, "code": code}).json()
    secret = enrol(client, tokens["accessToken"])["secret"]
    assert post(client, MFA + "/confirm", {"code": totp(secret)},
                bearer(tokens["accessToken"])).status == 200

    mark = outbox.mark()
    post(client, "/auth/send-otp", {"phone": phone})
    code = outbox.wait_for(mark, phone, "otp")["payload"]["code"]
    answer = post(client, "/auth/verify-otp", {"phone": phone, "code": code}).json()
    assert answer["mfaRequired"] is True and "accessToken" not in answer
    verified = post(client, MFA + "/verify", {"challenge": answer["challenge"],
                                              "code": totp(secret)})
    assert verified.status == 200 and verified.json()["user"]["phone"] == phone


def test_disable_needs_a_current_code(client):
    person, secret = enrolled_person(client)
    tokens = post(client, MFA + "/verify", {"challenge": challenge_for(client, person),
                                            "code": totp(secret)}).json()
    wrong = post(client, MFA + "/disable", {"code": wrong_totp(secret)},
                 bearer(tokens["accessToken"]))
    assert_problem(wrong, 400, "VALIDATION_ERROR")
    disabled = post(client, MFA + "/disable", {"code": totp(secret)},
                    bearer(tokens["accessToken"]))
    assert disabled.status == 200 and disabled.json() == {"success": True}
    assert "accessToken" in login(client, person["email"]).json()
    # Off already: nothing to disable.
    again = post(client, MFA + "/disable", {"code": totp(secret)}, bearer(tokens["accessToken"]))
    assert_problem(again, 409, "CONFLICT")


def test_confirm_without_enrolment_is_409(client):
    person = register(client)
    response = post(client, MFA + "/confirm", {"code": "123456"}, bearer(person["accessToken"]))
    assert_problem(response, 409, "CONFLICT")


def test_enrol_while_on_is_409(client):
    person, secret = enrolled_person(client)
    tokens = post(client, MFA + "/verify", {"challenge": challenge_for(client, person),
                                            "code": totp(secret)}).json()
    response = client.request("POST", "/api/v1" + MFA + "/enrol", bearer(tokens["accessToken"]),
                              b"")
    assert_problem(response, 409, "CONFLICT")


@pytest.mark.parametrize("body,field", [({"challenge": "A" * 43}, "code"),
                                        ({"code": "123456"}, "challenge"),
                                        ({"challenge": "A" * 43, "code": "12345"}, "code"),
                                        ({"challenge": "not base64url!", "code": "123456"},
                                         "challenge")])
def test_malformed_verify_body_is_400(client, body, field):
    problem = assert_problem(post(client, MFA + "/verify", body), 400, "VALIDATION_ERROR")
    assert problem["details"]["field"] == field

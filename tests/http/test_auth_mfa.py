"""Optional TOTP MFA (RFC 6238, codes computed here): enrol, confirm with a code, log in with
password then challenge and code; a wrong code counts against the challenge (5 tries), an
expired challenge is refused, a challenge works once; disable needs a current code. A code is
accepted once (RFC 6238 §5.2): only codes of later steps than the last accepted one count, so
the tests use the steps of the window in order (-1, 0, +1). The TOTP secret is stored
encrypted: the database row holds neither the secret nor its base32 form."""

import base64
import threading
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
    """A registered person with MFA on, confirmed with the previous step's code (so the
    current and the next step's codes are still unused); returns (tokens, base32 secret)."""
    person = register(client)
    secret = enrol(client, person["accessToken"])["secret"]
    confirmed = post(client, MFA + "/confirm", {"code": totp(secret, step_offset=-1)},
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
    confirmed = post(client, MFA + "/confirm", {"code": totp(secret, step_offset=-1)},
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
    used = post(client, MFA + "/verify", {"challenge": challenge, "code": totp(secret)})
    assert assert_problem(used, 401, "UNAUTHORIZED")["details"] == \
        {"field": "challenge", "reason": "used"}


def test_codes_of_the_neighbouring_steps_are_accepted(client):
    # enrolled_person confirmed with the previous step's code; the next step's logs in.
    person, secret = enrolled_person(client)
    response = post(client, MFA + "/verify", {"challenge": challenge_for(client, person),
                                              "code": totp(secret, step_offset=1)})
    assert response.status == 200, response.body
    # The current step's code is right, but older than the last one accepted.
    challenge = challenge_for(client, person)
    stale = post(client, MFA + "/verify", {"challenge": challenge, "code": totp(secret)})
    assert assert_problem(stale, 401, "UNAUTHORIZED")["details"] == \
        {"field": "code", "reason": "codeReused", "attemptsLeft": 4}


def test_a_code_logs_in_once(client, db):
    person, secret = enrolled_person(client)
    code = totp(secret)
    first, second = challenge_for(client, person), challenge_for(client, person)
    assert post(client, MFA + "/verify", {"challenge": first, "code": code}).status == 200
    # The same code within its window, for another login with the right password: refused,
    # the attempt counted and audited like a wrong code.
    replayed = post(client, MFA + "/verify", {"challenge": second, "code": code})
    problem = assert_problem(replayed, 401, "UNAUTHORIZED")
    assert problem["details"] == {"field": "code", "reason": "codeReused", "attemptsLeft": 4}
    with db.cursor() as cursor:
        cursor.execute("""SELECT count(*) FROM pgfolio.audit_logs WHERE actor_id = %s
                          AND action = 'login.failure' AND details->>'reason' = 'mfa'""",
                       (person["user"]["id"],))
        assert cursor.fetchone()[0] == 1
        cursor.execute("SELECT totp_last_step FROM pgfolio.users WHERE id = %s",
                       (person["user"]["id"],))
        last_step = cursor.fetchone()[0]
    # The next code still works on that challenge.
    later = post(client, MFA + "/verify",
                 {"challenge": second, "code": totp(secret, step_offset=1)})
    assert later.status == 200, later.body
    with db.cursor() as cursor:
        cursor.execute("SELECT totp_last_step FROM pgfolio.users WHERE id = %s",
                       (person["user"]["id"],))
        assert cursor.fetchone()[0] > last_step


def test_two_logins_racing_with_one_code_get_one_session(client):
    # Both requests may read the last step before either records its own: the database's
    # compare-and-set decides, so exactly one wins whatever the interleaving.
    for _ in range(3):
        person, secret = enrolled_person(client)
        code = totp(secret)
        challenges = [challenge_for(client, person) for _ in range(2)]
        answers = []
        barrier = threading.Barrier(2)

        def verify(challenge):
            barrier.wait()
            answers.append(post(client, MFA + "/verify", {"challenge": challenge, "code": code}))
        threads = [threading.Thread(target=verify, args=(c,)) for c in challenges]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(answer.status for answer in answers) == [200, 401]
        # Refused by pgfolio-http (it saw the step recorded) or by the database's
        # compare-and-set (which names its argument totpStep): either way the answer names
        # the request's field.
        refused = next(answer for answer in answers if answer.status == 401).json()
        assert refused["details"] == {"field": "code", "reason": "codeReused", "attemptsLeft": 4}


def test_the_confirming_code_cannot_log_in(client):
    person = register(client)
    secret = enrol(client, person["accessToken"])["secret"]
    code = totp(secret)
    assert post(client, MFA + "/confirm", {"code": code},
                bearer(person["accessToken"])).status == 200
    replayed = post(client, MFA + "/verify",
                    {"challenge": challenge_for(client, person), "code": code})
    assert assert_problem(replayed, 401, "UNAUTHORIZED")["details"]["reason"] == "codeReused"


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
    assert assert_problem(response, 401, "UNAUTHORIZED")["details"] == \
        {"field": "challenge", "reason": "expired"}


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
    assert post(client, MFA + "/confirm", {"code": totp(secret, step_offset=-1)},
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
    assert assert_problem(wrong, 400, "VALIDATION_ERROR")["details"] == {"field": "code"}
    # The code that just logged in does not turn MFA off too.
    replayed = post(client, MFA + "/disable", {"code": totp(secret)},
                    bearer(tokens["accessToken"]))
    assert assert_problem(replayed, 400, "VALIDATION_ERROR")["details"] == \
        {"field": "code", "reason": "codeReused"}
    disabled = post(client, MFA + "/disable", {"code": totp(secret, step_offset=1)},
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

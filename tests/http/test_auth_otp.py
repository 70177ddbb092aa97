"""Phone login with one-time codes: the code travels only through the outbox (read here from
the development sender's file), is single use, dies after 120 s or 3 wrong tries, and at most
3 are sent per phone in 5 minutes (429 with Retry-After, counted in the database). Also the
email flows that go through the outbox: verification and password reset."""

import pytest

from accounts import (PASSWORD, bearer, login, post, register, unique_email, unique_phone)
from support import assert_problem, schema_problems, wait_until


def send_code(client, outbox, phone):
    mark = outbox.mark()
    response = post(client, "/auth/send-otp", {"phone": phone})
    assert response.status == 200, response.body
    assert response.json() == {"success": True, "expiresIn": 120}
    return outbox.wait_for(mark, phone, "otp")["payload"]["code"]


def verify(client, phone, code):
    return post(client, "/auth/verify-otp", {"phone": phone, "code": code})


def test_first_verification_creates_the_account_then_logs_in(client, db, outbox,
                                                             openapi_schemas):
    phone = unique_phone()
    code = send_code(client, outbox, phone)
    assert len(code) == 6 and code.isdigit()
    first = verify(client, phone, code)
    assert first.status == 200, first.body
    answer = first.json()
    assert not schema_problems(answer, {"$ref": "#/components/schemas/Tokens"}, openapi_schemas)
    assert answer["created"] is True
    assert answer["user"]["phone"] == phone and answer["user"]["email"] is None
    assert client.get("/api/v1/profile", bearer(answer["accessToken"])).status == 200

    # Single use: the same code again is refused.
    assert_problem(verify(client, phone, code), 401, "UNAUTHORIZED")

    again = verify(client, phone, send_code(client, outbox, phone))
    assert again.status == 200 and again.json()["created"] is False
    assert again.json()["user"]["id"] == answer["user"]["id"]

    # Once sent, the code is erased from the message in the database.
    with db.cursor() as cursor:
        cursor.execute("""SELECT status, payload FROM pgfolio.outbox
                          WHERE recipient = %s ORDER BY id""", (phone,))
        rows = cursor.fetchall()
    assert len(rows) == 2
    for status, payload in rows:
        assert status == "sent" and "code" not in payload, (status, payload)


def test_three_wrong_codes_kill_the_challenge(client, outbox):
    phone = unique_phone()
    code = send_code(client, outbox, phone)
    wrong = f"{(int(code) + 1) % 10 ** 6:06d}"
    for attempts_left in (2, 1, 0):
        problem = assert_problem(verify(client, phone, wrong), 401, "UNAUTHORIZED")
        assert problem["details"] == {"field": "code", "attemptsLeft": attempts_left}
    # The right code no longer helps.
    problem = assert_problem(verify(client, phone, code), 401, "UNAUTHORIZED")
    assert problem["details"]["reason"] == "attemptsExhausted"


def test_expired_code_is_refused(client, db, outbox):
    phone = unique_phone()
    code = send_code(client, outbox, phone)
    with db.cursor() as cursor:  # 120 s later, without waiting for them
        cursor.execute("""UPDATE pgfolio.otp_challenges
                          SET created_at = created_at - interval '121 seconds',
                              expires_at = expires_at - interval '121 seconds'
                          WHERE phone = %s""", (phone,))
    problem = assert_problem(verify(client, phone, code), 401, "UNAUTHORIZED")
    assert problem["details"]["reason"] == "expired"


def test_only_the_latest_code_counts(client, outbox):
    phone = unique_phone()
    old = send_code(client, outbox, phone)
    new = send_code(client, outbox, phone)
    if old != new:
        assert_problem(verify(client, phone, old), 401, "UNAUTHORIZED")
    assert verify(client, phone, new).status == 200


def test_fourth_send_in_five_minutes_is_429_with_retry_after(client, outbox):
    phone = unique_phone()
    for _ in range(3):
        send_code(client, outbox, phone)
    mark = outbox.mark()
    response = post(client, "/auth/send-otp", {"phone": phone})
    problem = assert_problem(response, 429, "RATE_LIMITED")
    retry_after = int(response.header("Retry-After"))
    assert 1 <= retry_after <= 300
    assert problem["details"]["retryAfter"] == retry_after
    # Nothing was queued for the refused send.
    assert not [m for m in outbox.messages_since(mark) if m["recipient"] == phone]
    # Another phone is not affected.
    send_code(client, outbox, unique_phone())


def test_code_for_one_phone_is_useless_for_another(client, outbox):
    phone, other = unique_phone(), unique_phone()
    code = send_code(client, outbox, phone)
    other_code = send_code(client, outbox, other)
    if other_code == code:
        pytest.skip("the two random codes are equal (one chance in a million)")
    assert_problem(verify(client, other, code), 401, "UNAUTHORIZED")
    assert verify(client, phone, code).status == 200


@pytest.mark.parametrize("phone", ["919812345678", "+0123456789", "+1 555 0100", "+12",
                                   "+1234567890123456", "", "'; DROP TABLE users; --"])
def test_invalid_phone_is_400(client, phone):
    problem = assert_problem(post(client, "/auth/send-otp", {"phone": phone}), 400,
                             "VALIDATION_ERROR")
    assert problem["details"]["field"] == "phone"


@pytest.mark.parametrize("code", ["12345", "1234567", "12345a", "", " 12345", 123456])
def test_malformed_code_is_400(client, code):
    problem = assert_problem(post(client, "/auth/verify-otp",
                                  {"phone": unique_phone(), "code": code}), 400,
                             "VALIDATION_ERROR")
    assert problem["details"]["field"] == "code"


def test_email_verification_through_the_outbox(client, outbox):
    email = unique_email("verify")
    mark = outbox.mark()
    person = register(client, email=email)
    assert person["user"]["emailVerified"] is False
    token = outbox.wait_for(mark, email, "email-verify")["payload"]["token"]
    verified = post(client, "/auth/verify-email", {"token": token})
    assert verified.status == 200 and verified.json() == {"verified": True}
    profile = client.get("/api/v1/profile", bearer(person["accessToken"])).json()
    assert profile["emailVerified"] is True
    assert_problem(post(client, "/auth/verify-email", {"token": token}), 401, "UNAUTHORIZED")


def test_password_reset_through_the_outbox_revokes_every_session(client, outbox):
    person = register(client)
    other_session = login(client, person["email"]).json()
    mark = outbox.mark()
    forgot = post(client, "/auth/password/forgot", {"email": person["email"]})
    assert forgot.status == 200 and forgot.json() == {"success": True}
    # An unknown address gets the same answer and no message.
    unknown = unique_email("nobody")
    assert post(client, "/auth/password/forgot", {"email": unknown}).json() == {"success": True}
    token = outbox.wait_for(mark, person["email"], "password-reset")["payload"]["token"]
    assert not [m for m in outbox.messages_since(mark) if m["recipient"] == unknown]

    too_short = post(client, "/auth/password/reset", {"token": token, "password": "short"})
    assert assert_problem(too_short, 400, "VALIDATION_ERROR")["details"]["field"] == "password"
    new_password = "a brand new passphrase"
    reset = post(client, "/auth/password/reset", {"token": token, "password": new_password})
    assert reset.status == 200 and reset.json() == {"success": True}
    for tokens in (person, other_session):
        assert_problem(client.get("/api/v1/profile", bearer(tokens["accessToken"])), 401,
                       "UNAUTHORIZED")
    assert_problem(login(client, person["email"], PASSWORD), 401, "UNAUTHORIZED")
    assert login(client, person["email"], new_password).status == 200
    # The link is single use.
    assert_problem(post(client, "/auth/password/reset",
                        {"token": token, "password": "yet another passphrase"}), 401,
                   "UNAUTHORIZED")


def test_messages_leave_the_outbox_promptly(client, outbox):
    # The sender LISTENs: a message is in the file well before the poll interval would fetch it.
    phone = unique_phone()
    mark = outbox.mark()
    post(client, "/auth/send-otp", {"phone": phone})
    wait_until(lambda: [m for m in outbox.messages_since(mark) if m["recipient"] == phone],
               timeout=2, what="the OTP message")

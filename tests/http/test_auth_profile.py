"""The caller's own account: profile, settings, onboarding consent, export, and deletion
(GDPR erasure: sessions end at once, personal data gone, the email free again)."""

import pytest

from accounts import (bearer, login, post, register)
from support import assert_problem, schema_problems

PROFILE = "/api/v1/profile"


def put_settings(client, token, body):
    import json
    return client.request("PUT", PROFILE + "/settings",
                          {"Content-Type": "application/json", **bearer(token)},
                          json.dumps(body).encode())


def test_profile_fits_its_schema(client, openapi_schemas):
    person = register(client, display_name="Schema Person")
    profile = client.get(PROFILE, bearer(person["accessToken"])).json()
    assert not schema_problems(profile, {"$ref": "#/components/schemas/Profile"},
                               openapi_schemas), profile
    assert profile["displayName"] == "Schema Person" and profile["notificationTokenSet"] is False


def test_settings_change_what_is_sent_and_keep_the_rest(client, openapi_schemas):
    person = register(client, display_name="Before")
    token = person["accessToken"]
    changed = put_settings(client, token, {"displayName": "After",
                                           "avatarUrl": "https://img.example/a.png",
                                           "notificationToken": "device-token-123",
                                           "biometricEnabled": True})
    assert changed.status == 200, changed.body
    profile = changed.json()
    assert not schema_problems(profile, {"$ref": "#/components/schemas/Profile"},
                               openapi_schemas)
    assert (profile["displayName"], profile["avatarUrl"], profile["notificationTokenSet"],
            profile["biometricEnabled"]) == ("After", "https://img.example/a.png", True, True)
    assert "device-token-123" not in changed.body.decode()  # never shown back
    cleared = put_settings(client, token, {"avatarUrl": None}).json()
    assert cleared["avatarUrl"] is None and cleared["displayName"] == "After"
    assert put_settings(client, token, {}).json()["displayName"] == "After"


@pytest.mark.parametrize("body,field", [
    ({"displayName": ""}, "displayName"),
    ({"displayName": "x" * 101}, "displayName"),
    ({"displayName": 42}, "displayName"),
    ({"displayName": None}, "displayName"),
    ({"avatarUrl": "http://insecure.example/a.png"}, "avatarUrl"),
    ({"avatarUrl": "javascript:alert(1)"}, "avatarUrl"),
    ({"biometricEnabled": "yes"}, "biometricEnabled"),
    ({"role": "admin"}, "role"),
    ({"email": "new@example.com"}, "email"),
])
def test_bad_settings_are_400_naming_the_field(client, body, field):
    person = register(client)
    problem = assert_problem(put_settings(client, person["accessToken"], body), 400,
                             "VALIDATION_ERROR")
    assert problem["details"]["field"] == field
    assert client.get(PROFILE, bearer(person["accessToken"])).json()["role"] == "user"


def test_consent_records_all_three(client, openapi_schemas):
    person = register(client)
    token = person["accessToken"]
    refused = post(client, "/onboarding/consent", {"risk": True, "loss": False,
                                                   "noGuarantee": True}, bearer(token))
    assert assert_problem(refused, 400, "VALIDATION_ERROR")["details"]["field"] == "loss"
    missing = post(client, "/onboarding/consent", {"risk": True, "loss": True}, bearer(token))
    assert assert_problem(missing, 400, "VALIDATION_ERROR")["details"]["field"] == "noGuarantee"
    accepted = post(client, "/onboarding/consent", {"risk": True, "loss": True,
                                                    "noGuarantee": True}, bearer(token))
    assert accepted.status == 200, accepted.body
    assert not schema_problems(accepted.json(), {"$ref": "#/components/schemas/Consent"},
                               openapi_schemas)
    consents = client.get(PROFILE, bearer(token)).json()["consents"]
    assert all(consents[name] for name in ("risk", "loss", "noGuarantee"))


def test_export_holds_the_account_and_its_history(client, openapi_schemas):
    person = register(client)
    login(client, person["email"])
    exported = client.get(PROFILE + "/export", bearer(person["accessToken"]))
    assert exported.status == 200
    data = exported.json()
    assert not schema_problems(data, {"$ref": "#/components/schemas/ProfileExport"},
                               openapi_schemas), data
    assert data["profile"]["email"] == person["email"]
    assert len(data["sessions"]) == 2
    assert "user.register" in [entry["action"] for entry in data["auditLog"]]
    body = exported.body.decode()
    assert "$argon2id$" not in body and person["refreshToken"] not in body


def test_deletion_ends_everything_and_erases_personal_data(client, db):
    person = register(client, display_name="Erase Me")
    other = login(client, person["email"]).json()
    deleted = client.request("DELETE", PROFILE, bearer(person["accessToken"]))
    assert deleted.status == 200 and deleted.json() == {"success": True}
    for tokens in (person, other):
        assert_problem(client.get(PROFILE, bearer(tokens["accessToken"])), 401, "UNAUTHORIZED")
        assert_problem(post(client, "/auth/refresh", {"refreshToken": tokens["refreshToken"]}),
                       401, "UNAUTHORIZED")
    assert_problem(login(client, person["email"]), 401, "UNAUTHORIZED")
    with db.cursor() as cursor:
        cursor.execute("""SELECT status, email, display_name, password_hash FROM pgfolio.users
                          WHERE id = %s""", (person["user"]["id"],))
        assert cursor.fetchone() == ("deleted", None, None, None)
    # The address may sign up again, as a new account.
    again = register(client, email=person["email"])
    assert again["user"]["id"] != person["user"]["id"]

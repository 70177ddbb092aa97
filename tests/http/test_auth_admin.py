"""Administration: the user list (paginated, admins only), suspension that stops a user's
tokens at once, reactivation, and the market-data loaders open to admins and to `service`
machine accounts but not to users."""

import json

from accounts import (admin, bearer, login, post, register, set_role)
from conftest import TEST_PRICES
from support import assert_problem, schema_problems

ADMIN = "/api/v1/admin"


def test_user_list_pages_through_everyone(client, db, openapi_schemas):
    boss = admin(client, db)
    seen, cursor, pages = [], None, 0
    while True:
        path = ADMIN + "/users?pageSize=2" + (f"&cursor={cursor}" if cursor else "")
        response = client.get(path, bearer(boss["accessToken"]))
        assert response.status == 200, response.body
        page = response.json()
        assert not schema_problems(page, {"$ref": "#/components/schemas/UserPage"},
                                   openapi_schemas), page
        assert len(page["users"]) <= 2
        seen += [user["id"] for user in page["users"]]
        pages += 1
        cursor = page["nextCursor"]
        if cursor is None or pages > 10000:
            break
    assert len(seen) == len(set(seen)) and boss["user"]["id"] in seen
    with db.cursor() as cursor_:
        cursor_.execute("SELECT count(*) FROM pgfolio.users")
        assert len(seen) == cursor_.fetchone()[0]
    newest = client.get(ADMIN + "/users", bearer(boss["accessToken"])).json()["users"]
    assert newest[0]["id"] == boss["user"]["id"]  # newest first: the admin just registered


def test_user_list_refuses_bad_paging(client, db):
    boss = admin(client, db)
    for query, parameter in (("pageSize=0", "pageSize"), ("pageSize=101", "pageSize"),
                             ("pageSize=ten", "pageSize"), ("cursor=%21%21", "cursor"),
                             ("cursor=bm90LWEtY3Vyc29y", "cursor")):
        response = client.get(ADMIN + "/users?" + query, bearer(boss["accessToken"]))
        problem = assert_problem(response, 400, "VALIDATION_ERROR")
        assert parameter in (problem["details"].get("parameter"), problem["details"].get("field"))


def test_suspension_stops_tokens_at_once_and_reactivation_restores_login(client, db):
    boss = admin(client, db)
    person = register(client)
    refresh_token = person["refreshToken"]
    assert client.get("/api/v1/profile", bearer(person["accessToken"])).status == 200

    suspended = client.request("POST", f"{ADMIN}/users/{person['user']['id']}/suspend",
                               bearer(boss["accessToken"]), b"")
    assert suspended.status == 200, suspended.body
    assert suspended.json()["status"] == "suspended"
    # The access token has not expired, yet it stops working now.
    assert_problem(client.get("/api/v1/profile", bearer(person["accessToken"])), 401,
                   "UNAUTHORIZED")
    assert_problem(post(client, "/auth/refresh", {"refreshToken": refresh_token}), 401,
                   "UNAUTHORIZED")
    # The right password tells the person why; a wrong one tells nothing.
    refused = login(client, person["email"])
    assert assert_problem(refused, 403, "FORBIDDEN")["details"] == {"status": "suspended"}
    assert_problem(login(client, person["email"], "a wrong password"), 401, "UNAUTHORIZED")

    reactivated = client.request("POST", f"{ADMIN}/users/{person['user']['id']}/reactivate",
                                 bearer(boss["accessToken"]), b"")
    assert reactivated.status == 200 and reactivated.json()["status"] == "active"
    assert login(client, person["email"]).status == 200
    with db.cursor() as cursor:
        cursor.execute("""SELECT action FROM pgfolio.audit_logs WHERE actor_id = %s
                          AND action IN ('user.suspend', 'user.reactivate') ORDER BY id""",
                       (boss["user"]["id"],))
        assert [row[0] for row in cursor.fetchall()] == ["user.suspend", "user.reactivate"]


def test_suspend_unknown_user_is_404_and_self_is_409(client, db):
    boss = admin(client, db)
    unknown = client.request("POST", f"{ADMIN}/users/00000000-0000-4000-8000-000000000000/suspend",
                             bearer(boss["accessToken"]), b"")
    assert_problem(unknown, 404, "NOT_FOUND")
    itself = client.request("POST", f"{ADMIN}/users/{boss['user']['id']}/suspend",
                            bearer(boss["accessToken"]), b"")
    assert_problem(itself, 409, "CONFLICT")


def test_users_cannot_suspend(client):
    person, victim = register(client), register(client)
    response = client.request("POST", f"{ADMIN}/users/{victim['user']['id']}/suspend",
                              bearer(person["accessToken"]), b"")
    assert_problem(response, 403, "FORBIDDEN")
    assert client.get("/api/v1/profile", bearer(victim["accessToken"])).status == 200


# The very row conftest loads, so that the other tests' expectations of HT-ALPHA still hold.
PRICE_BATCH = [row for row in TEST_PRICES if row["assetId"] == "HT-ALPHA"]
FX_BATCH = [{"base": "USD", "quote": "INR", "rate": "83.1234", "source": "http-test",
             "asOf": "2020-01-01T00:00:00Z"}]


def load(client, what, batch, token):
    return client.request("POST", f"{ADMIN}/{what}",
                          {"Content-Type": "application/json", **bearer(token)},
                          json.dumps(batch).encode())


def test_market_data_loaders_for_admin_and_service_not_user(client, db, market_data,
                                                            openapi_schemas):
    boss = admin(client, db)
    feeder = register(client)
    set_role(db, feeder["user"]["id"], "service")
    feeder_token = login(client, feeder["email"]).json()["accessToken"]
    person = register(client)
    for token in (boss["accessToken"], feeder_token):
        loaded = load(client, "prices", PRICE_BATCH, token)
        assert loaded.status == 200, loaded.body
        assert loaded.json() == {"rows": 1}
        assert not schema_problems(loaded.json(), {"$ref": "#/components/schemas/Rows"},
                                   openapi_schemas)
    assert client.get("/api/v1/prices/HT-ALPHA").json()["price"] == "1234.56"
    assert_problem(load(client, "prices", PRICE_BATCH, person["accessToken"]), 403, "FORBIDDEN")
    # A service account acts on no person's data.
    assert_problem(client.get(ADMIN + "/users", bearer(feeder_token)), 403, "FORBIDDEN")


def test_fx_rates_loader(client, db):
    boss = admin(client, db)
    with db.cursor() as cursor:
        cursor.execute("""SELECT rate::text FROM pgfolio.fx_rates
                          WHERE base = 'USD' AND quote = 'INR'""")
        before = cursor.fetchone()
    # An old asOf: the loader keeps the newer rate, so the demo data stay as they are.
    loaded = load(client, "fx-rates", FX_BATCH, boss["accessToken"])
    assert loaded.status == 200, loaded.body
    assert loaded.json() == {"rows": 1}
    with db.cursor() as cursor:
        cursor.execute("""SELECT rate::text FROM pgfolio.fx_rates
                          WHERE base = 'USD' AND quote = 'INR'""")
        assert cursor.fetchone() == before
    bad = load(client, "fx-rates", [{"base": "USD"}], boss["accessToken"])
    assert_problem(bad, 400, "VALIDATION_ERROR")

"""Cash in and out over HTTP (docs/http.md, "Funds"): POST /portfolios/{portfolioId}/add-funds
and /withdraw, and the default portfolio's /portfolio/add-funds and /portfolio/withdraw. Amounts
go in and come back as exact decimal strings; every movement is a ledger entry and a
transaction; a withdrawal beyond the cash is 422 INSUFFICIENT_CASH; every bad amount is 400
naming `amount` and writes nothing; another user's portfolio is 404 like an unknown one.
Portfolios are made as the superuser: no endpoint creates one yet."""

import uuid

import pytest

from accounts import bearer, post, register
from support import assert_problem, schema_problems

BY_ID = ("/portfolios/{}/add-funds", "/portfolios/{}/withdraw")
DEFAULT = ("/portfolio/add-funds", "/portfolio/withdraw")


class Person:
    """A registered user; portfolios are inserted as the superuser."""

    def __init__(self, client, db):
        answer = register(client)
        self.client, self.db = client, db
        self.id = answer["user"]["id"]
        self.headers = bearer(answer["accessToken"])

    def portfolio(self, name="Main", default=False, status="active"):
        with self.db.cursor() as cursor:
            cursor.execute("INSERT INTO pgfolio.portfolios (owner_id, name, is_default, status) "
                           "VALUES (%s, %s, %s, %s) RETURNING id",
                           (self.id, name, default, status))
            return str(cursor.fetchone()[0])

    def post(self, path, body):
        return post(self.client, path, body, self.headers)

    def add(self, portfolio, amount):
        return self.post(BY_ID[0].format(portfolio), {"amount": amount})

    def withdraw(self, portfolio, amount):
        return self.post(BY_ID[1].format(portfolio), {"amount": amount})


@pytest.fixture
def person(client, db):
    return Person(client, db)


def cash(db, portfolio):
    with db.cursor() as cursor:
        cursor.execute("SELECT cash_balance::text FROM pgfolio.portfolios WHERE id = %s",
                       (portfolio,))
        return cursor.fetchone()[0]


def ledger(db, portfolio):
    """(seq, type, amount, id, message) of the portfolio's entries, in order."""
    with db.cursor() as cursor:
        cursor.execute("""SELECT seq, entry_type, trim_scale(amount)::text, id::text, message
                          FROM pgfolio.ledger WHERE portfolio_id = %s ORDER BY seq""",
                       (portfolio,))
        return cursor.fetchall()


def transactions(db, portfolio):
    with db.cursor() as cursor:
        cursor.execute("""SELECT id::text, kind, trim_scale(amount)::text, ledger_id::text
                          FROM pgfolio.transactions WHERE portfolio_id = %s
                          ORDER BY created_at, id""", (portfolio,))
        return cursor.fetchall()


def movement(response, openapi_schemas):
    assert response.status == 200, response.body[:300]
    assert response.media_type == "application/json"
    body = response.json()
    assert not schema_problems(body, {"$ref": "#/components/schemas/FundsMovement"},
                               openapi_schemas), body
    return body


def test_add_and_withdraw_move_exact_amounts_each_with_a_ledger_entry(person, db,
                                                                      openapi_schemas):
    portfolio = person.portfolio()
    first = movement(person.add(portfolio, "100.50"), openapi_schemas)
    assert (first["portfolioId"], first["kind"], first["amount"], first["cash"]) == (
        portfolio, "DEPOSIT", "100.5", "100.5")
    second = movement(person.add(portfolio, "0.25"), openapi_schemas)
    assert (second["amount"], second["cash"]) == ("0.25", "100.75")
    # Large and exact: 999999999999.99 + 100.75 would lose cents in a double.
    third = movement(person.add(portfolio, "999999999999.99"), openapi_schemas)
    assert third["cash"] == "1000000000100.74"
    out = movement(person.withdraw(portfolio, "999999999960.04"), openapi_schemas)
    assert (out["portfolioId"], out["kind"], out["amount"], out["cash"]) == (
        portfolio, "WITHDRAWAL", "999999999960.04", "140.7")
    assert cash(db, portfolio) == "140.70000000"

    moves = [first, second, third, out]
    assert ledger(db, portfolio) == [
        (1, "ADD_FUNDS", "100.5", first["ledgerEntryId"], "Added INR 100.5"),
        (2, "ADD_FUNDS", "0.25", second["ledgerEntryId"], "Added INR 0.25"),
        (3, "ADD_FUNDS", "999999999999.99", third["ledgerEntryId"], "Added INR 999999999999.99"),
        (4, "WITHDRAW_FUNDS", "999999999960.04", out["ledgerEntryId"],
         "Withdrew INR 999999999960.04"),
    ]
    assert sorted(transactions(db, portfolio)) == sorted(
        (m["transactionId"], m["kind"], m["amount"], m["ledgerEntryId"]) for m in moves)
    with db.cursor() as cursor:
        cursor.execute("SELECT ok, entries_checked FROM pgfolio.ledger_verify(%s)", (portfolio,))
        assert cursor.fetchone() == (True, 4)


def test_withdrawing_everything_leaves_zero(person, openapi_schemas):
    portfolio = person.portfolio()
    movement(person.add(portfolio, "12.34"), openapi_schemas)
    assert movement(person.withdraw(portfolio, "12.34"), openapi_schemas)["cash"] == "0"


def test_withdrawing_more_than_the_cash_is_insufficient_cash_and_writes_nothing(person, db,
                                                                                 openapi_schemas):
    portfolio = person.portfolio()
    movement(person.add(portfolio, "60.05"), openapi_schemas)
    problem = assert_problem(person.withdraw(portfolio, "60.06"), 422, "INSUFFICIENT_CASH")
    assert problem["details"] == {"required": "60.06", "available": "60.05"}
    empty = person.portfolio("Empty")
    problem = assert_problem(person.withdraw(empty, "0.01"), 422, "INSUFFICIENT_CASH")
    assert problem["details"] == {"required": "0.01", "available": "0"}
    assert cash(db, portfolio) == "60.05000000" and cash(db, empty) == "0.00000000"
    assert len(ledger(db, portfolio)) == 1 and ledger(db, empty) == []
    assert len(transactions(db, portfolio)) == 1 and transactions(db, empty) == []


BAD_AMOUNTS = [
    pytest.param({"amount": 100}, id="json-integer"),
    pytest.param({"amount": 100.5}, id="json-float"),
    pytest.param(b'{"amount": 1e2}', id="json-exponent"),
    pytest.param({"amount": True}, id="boolean"),
    pytest.param({"amount": None}, id="null"),
    pytest.param({"amount": ["1"]}, id="array"),
    pytest.param({"amount": "-5"}, id="negative"),
    pytest.param({"amount": "-0.01"}, id="negative-cent"),
    pytest.param({"amount": "0"}, id="zero"),
    pytest.param({"amount": "0.00"}, id="zero-with-decimals"),
    pytest.param({"amount": "abc"}, id="letters"),
    pytest.param({"amount": ""}, id="empty"),
    pytest.param({"amount": " 1"}, id="space"),
    pytest.param({"amount": "1e3"}, id="exponent-string"),
    pytest.param({"amount": "NaN"}, id="nan"),
    pytest.param({"amount": "Infinity"}, id="infinity"),
    pytest.param({"amount": "+1"}, id="plus-sign"),
    pytest.param({"amount": "1."}, id="trailing-point"),
    pytest.param({"amount": ".5"}, id="leading-point"),
    pytest.param({"amount": "1,5"}, id="comma"),
    pytest.param({"amount": "1.001"}, id="finer-than-paise"),
    pytest.param({"amount": "1000000000000.01"}, id="over-10^12"),
    pytest.param({"amount": "99999999999999999999999999999999999999"}, id="huge"),
    pytest.param({"amount": "9" * 41}, id="longer-than-40"),
    pytest.param({"amount": "1" + "0" * 10000}, id="extra-huge"),
    pytest.param({}, id="missing"),
]


@pytest.fixture(scope="module")
def validating(client, db):
    """One person with a default portfolio holding cash (so that a withdrawal could only fail
    on its amount) for the hundred bad-amount requests: no registration each."""
    person = Person(client, db)
    portfolio = person.portfolio(default=True)
    with db.cursor() as cursor:
        cursor.execute("UPDATE pgfolio.portfolios SET cash_balance = 5000 WHERE id = %s",
                       (portfolio,))
    return person, portfolio


@pytest.mark.parametrize("body", BAD_AMOUNTS)
@pytest.mark.parametrize("route", ["add", "withdraw", "default-add", "default-withdraw"])
def test_every_bad_amount_is_400_naming_amount_and_writes_nothing(validating, db, route, body):
    person, portfolio = validating
    path = {"add": BY_ID[0].format(portfolio), "withdraw": BY_ID[1].format(portfolio),
            "default-add": DEFAULT[0], "default-withdraw": DEFAULT[1]}[route]
    problem = assert_problem(person.post(path, body), 400, "VALIDATION_ERROR")
    assert problem["details"]["field"] == "amount", problem
    assert cash(db, portfolio) == "5000.00000000"
    assert ledger(db, portfolio) == [] and transactions(db, portfolio) == []


def test_a_field_besides_amount_is_refused_by_name(person, db):
    portfolio = person.portfolio()
    problem = assert_problem(person.post(BY_ID[0].format(portfolio),
                                         {"amount": "1", "portfolioId": portfolio}),
                             400, "VALIDATION_ERROR")
    assert problem["details"]["field"] == "portfolioId"
    assert ledger(db, portfolio) == []


@pytest.mark.parametrize("body", [b'{"amount": "1"', b"", b"amount=1", b'["1"]', b'"1"',
                                  b'{"amount": "1"} {}'])
def test_a_body_that_is_not_a_json_object_is_400(person, db, body):
    portfolio = person.portfolio()
    for path in (BY_ID[0].format(portfolio), DEFAULT[1]):
        assert_problem(person.post(path, body), 400, "VALIDATION_ERROR")
    assert ledger(db, portfolio) == []


def test_another_users_portfolio_is_404_like_an_unknown_one(client, db, person):
    other = Person(client, db)
    theirs = other.portfolio(default=True)
    assert other.add(theirs, "50").status == 200
    closed = person.portfolio("Closed", status="closed")
    for portfolio in (theirs, str(uuid.uuid4()), closed):
        for path in BY_ID:
            problem = assert_problem(person.post(path.format(portfolio), {"amount": "1"}), 404,
                                     "NOT_FOUND")
            assert problem["details"] == {"portfolioId": portfolio}
            assert problem["detail"] == f"portfolio {portfolio} not found"
    assert cash(db, theirs) == "50.00000000" and len(ledger(db, theirs)) == 1
    assert ledger(db, closed) == []


@pytest.mark.parametrize("bad", ["not-a-uuid", "00000000-0000-4000-8000-00000000000",
                                 "00000000-0000-4000-8000-0000000000000", "%zz",
                                 "00000000-0000-4000-8000-00000000000g"])
def test_a_malformed_portfolio_id_is_400_naming_it(person, bad):
    for path in BY_ID:
        problem = assert_problem(person.post(path.format(bad), {"amount": "1"}), 400,
                                 "VALIDATION_ERROR")
        assert problem["details"]["parameter"] == "portfolioId"
        assert problem["details"]["in"] == "path"


def test_no_or_a_bad_token_is_401(client, person, db):
    portfolio = person.portfolio(default=True)
    for path in (BY_ID[0].format(portfolio), BY_ID[1].format(portfolio)) + DEFAULT:
        for headers in ({}, bearer("not.a.token")):
            response = post(client, path, {"amount": "1"}, headers)
            assert_problem(response, 401, "UNAUTHORIZED")
            assert response.header("WWW-Authenticate").startswith("Bearer")
    assert ledger(db, portfolio) == []


def test_the_default_portfolio_routes(client, db, openapi_schemas):
    person = Person(client, db)
    # No default portfolio (only another one): 404 for both.
    other = person.portfolio("Other")
    for path in DEFAULT:
        problem = assert_problem(person.post(path, {"amount": "1"}), 404, "NOT_FOUND")
        assert problem["details"] == {"portfolioId": None}
    default = person.portfolio("Default", default=True)
    added = movement(person.post(DEFAULT[0], {"amount": "250.10"}), openapi_schemas)
    assert (added["portfolioId"], added["kind"], added["cash"]) == (default, "DEPOSIT", "250.1")
    taken = movement(person.post(DEFAULT[1], {"amount": "50.05"}), openapi_schemas)
    assert (taken["portfolioId"], taken["kind"], taken["cash"]) == (default, "WITHDRAWAL",
                                                                     "200.05")
    problem = assert_problem(person.post(DEFAULT[1], {"amount": "200.06"}), 422,
                             "INSUFFICIENT_CASH")
    assert problem["details"] == {"required": "200.06", "available": "200.05"}
    assert [row[1:3] for row in ledger(db, default)] == [("ADD_FUNDS", "250.1"),
                                                          ("WITHDRAW_FUNDS", "50.05")]
    assert ledger(db, other) == [] and cash(db, other) == "0.00000000"
    # Someone else's default portfolio is never the caller's.
    stranger = Person(client, db)
    assert_problem(stranger.post(DEFAULT[0], {"amount": "1"}), 404, "NOT_FOUND")
    assert cash(db, default) == "200.05000000"


def test_the_routes_are_documented_with_their_body_and_answer(client):
    document = client.get("/api/v1/openapi.json").json()
    for path in ("/api/v1/portfolios/{portfolioId}/add-funds",
                 "/api/v1/portfolios/{portfolioId}/withdraw", "/api/v1/portfolio/add-funds",
                 "/api/v1/portfolio/withdraw"):
        operation = document["paths"][path]["post"]
        body = operation["requestBody"]["content"]["application/json"]["schema"]
        assert body["required"] == ["amount"] and set(body["properties"]) == {"amount"}
        assert body["properties"]["amount"]["type"] == "string"
        assert operation["responses"]["200"]["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/FundsMovement"}
        names = [p["name"] for p in operation.get("parameters", [])]
        # The default portfolio's NULL is no request parameter.
        assert names == (["portfolioId"] if "{portfolioId}" in path else []), path
    # Two rows call each function: each operation still has an id of its own (OpenAPI 3.0).
    ids = [operation["operationId"] for item in document["paths"].values()
           for operation in item.values()]
    assert len(ids) == len(set(ids)), sorted(ids)

"""The route table (`pgfolio-http --routes`), the served OpenAPI document and the live
server agree: every row is documented with its method and response schema, every documented
operation is a row, every row is routed (answers something other than 404/405 for its
method), and what the routes answer fits their documented schema."""

import json
import re
import subprocess

import pytest

from support import schema_problems

# A value per path parameter that names something that exists (the HT- test data), so a
# routed request cannot be mistaken for an unrouted one by its 404. A new path parameter
# needs an entry here.
PATH_EXAMPLES = {"assetId": "HT-ALPHA", "sessionId": "00000000-0000-4000-8000-000000000000",
                 "userId": "00000000-0000-4000-8000-000000000000",
                 "entryId": "00000000-0000-4000-8000-000000000000",
                 "portfolioId": "00000000-0000-4000-8000-000000000000"}
# A body that passes the shape checks, per body shape.
BODY_EXAMPLES = {"array": b"[]", "object": b"{}"}


@pytest.fixture(scope="module")
def routes(settings):
    # No database and no configuration: the table is static, so tooling can read it anywhere.
    result = subprocess.run([str(settings.binary), "--routes"], capture_output=True,
                            timeout=10, env={"PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr
    table = json.loads(result.stdout)
    assert isinstance(table, list) and table
    return table


@pytest.fixture(scope="module")
def openapi(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status == 200
    return response.json()


def operations(document):
    for path, item in document["paths"].items():
        for method, operation in item.items():
            yield path, method.upper(), operation


def test_table_rows_are_complete(routes):
    seen = set()
    for row in routes:
        key = (row["method"], row["path"])
        assert key not in seen, key
        seen.add(key)
        assert row["path"].startswith("/")
        assert (row["sqlFunction"] is None) != (row["builtin"] is None), row
        if row["sqlFunction"]:
            assert re.fullmatch(r"pgfolio\.[a-z_][a-z0-9_]*", row["sqlFunction"])
        assert row["auth"] in ("none", "user", "admin", "service-or-admin")
        params = set(re.findall(r"\{([^}]+)\}", row["path"]))
        assert params == {a["name"] for a in row["args"] if a["in"] == "path"}, row
        # A body is read by the function (whole), by its fields as arguments, or by a flow.
        reads_body = (any(a["in"] in ("body", "bodyField") for a in row["args"])
                      or (row["flow"] is not None and "bodySchema" in row))
        assert (row["body"] != "none") == reads_body, row
        if row["flow"]:
            assert row["sqlFunction"] and not row["args"], row
        for arg in row["args"]:
            if arg["in"] == "bodyField":
                assert arg["name"] in row["bodySchema"]["properties"], row
        assert row["path"].startswith("/api/v1/") or row["path"] in ("/healthz", "/readyz",
                                                                    "/metrics")


def test_every_route_is_in_openapi(routes, openapi):
    for row in routes:
        path_item = openapi["paths"].get(row["path"])
        assert path_item is not None, f"{row['path']} missing from openapi.json"
        operation = path_item.get(row["method"].lower())
        assert operation is not None, f"{row['method']} {row['path']} missing from openapi.json"
        assert operation["x-pgfolio-auth"] == row["auth"]
        assert operation.get("x-pgfolio-sql-function") == row["sqlFunction"]
        assert str(row["successStatus"]) in operation["responses"]
        success = operation["responses"][str(row["successStatus"])]
        assert success["content"] == {row["responseMediaType"]:
                                      {"schema": row["responseSchema"]}}, row["path"]
        for ref in re.findall(r"#/components/schemas/(\w+)", json.dumps(row["responseSchema"])):
            assert ref in openapi["components"]["schemas"], ref
        if row["body"] != "none":
            assert operation["requestBody"]["required"] is True
            body_schema = operation["requestBody"]["content"]["application/json"]["schema"]
            assert body_schema == row.get("bodySchema", {"type": row["body"]}), row["path"]
        assert operation.get("x-pgfolio-flow") == row["flow"]
        documented = {(p["name"], p["in"]): p for p in operation.get("parameters", [])}
        for arg in row["args"]:
            if arg["in"] not in ("path", "query"):
                continue
            parameter = documented.pop((arg["name"], arg["in"]))
            assert parameter["required"] == arg["required"]
            assert parameter["schema"]["maxLength"] == arg["maxLength"]
            assert parameter["schema"].get("pattern") == arg.get("pattern")
        assert not documented, f"undocumented-in-table parameters {documented}"
        if row["auth"] != "none":
            assert "401" in operation["responses"] and operation.get("security")
            assert "429" in operation["responses"]
        else:
            assert "security" not in operation
        if row["limitedPerIp"]:
            assert "429" in operation["responses"]


def test_every_openapi_operation_is_a_route(routes, openapi):
    table = {(row["method"], row["path"]) for row in routes}
    for path, method, _ in operations(openapi):
        assert (method, path) in table, f"openapi.json documents {method} {path}, not routed"


def test_every_route_is_live(routes, openapi, client, market_data):
    for row in routes:
        path = row["path"]
        for name in re.findall(r"\{([^}]+)\}", path):
            assert name in PATH_EXAMPLES, f"add an example value for path parameter {name}"
            path = path.replace("{" + name + "}", PATH_EXAMPLES[name])
        headers, body = {}, None
        if row["body"] != "none":
            headers["Content-Type"] = "application/json"
            body = BODY_EXAMPLES[row["body"]]
        elif row["method"] in ("POST", "PUT", "PATCH"):
            body = b""
        response = client.request(row["method"], path, headers=headers, body=body)
        assert response.status not in (404, 405), (row["method"], path, response.body[:200])
        required = row.get("bodySchema", {}).get("required")
        if required:
            # Routed, and its body checked (before authentication: the shape is public): {}
            # lacks the first required field. Their successes are the subject of test_auth*.
            assert response.status == 400, (path, response.body[:200])
            assert response.json()["details"] == {"field": required[0]}
        elif row["auth"] == "none":
            assert response.status == row["successStatus"], (row["method"], path)
            media_type = row["responseMediaType"].split(";")[0]
            assert response.media_type == media_type
            body = response.json() if media_type == "application/json" else response.body.decode()
            assert not schema_problems(body, row["responseSchema"],
                                       openapi["components"]["schemas"]), (path, body)
        else:
            assert response.status == 401


def test_routes_option_needs_no_configuration(settings):
    # A bad variable would stop the server, but not the table dump.
    result = subprocess.run([str(settings.binary), "--routes"], capture_output=True, timeout=10,
                            env={"PGFOLIO_HTTP_PORT": "abc"})
    assert result.returncode == 0
    json.loads(result.stdout)


def test_unknown_option_is_refused(settings):
    result = subprocess.run([str(settings.binary), "--no-such-option"], capture_output=True,
                            timeout=10)
    assert result.returncode != 0
    assert b"--no-such-option" in result.stderr


def test_every_route_has_a_response_schema(routes, openapi):
    schemas = openapi["components"]["schemas"]
    for row in routes:
        schema = row["responseSchema"]
        if "$ref" in schema:
            schema = schemas[schema["$ref"].rsplit("/", 1)[-1]]
        assert schema.get("type") in ("object", "array", "string", "integer") or \
            "oneOf" in schema, row
        if row["sqlFunction"] and schema.get("type") == "array":
            assert "$ref" in schema["items"] or "type" in schema["items"], row


@pytest.mark.parametrize("schema,field", [("Price", "price"), ("Price", "change24hPercent"),
                                          ("Asset", "minTradeAmount")])
def test_money_is_documented_as_a_decimal_string(openapi, schema, field):
    prop = openapi["components"]["schemas"][schema]["properties"][field]
    assert prop["type"] == "string"
    pattern = re.compile(prop["pattern"].replace("$", r"\Z"))
    for decimal in ("0", "7", "1234.56", "-1.25", "12345678901234567890.123456789"):
        assert pattern.search(decimal), decimal
    for not_decimal in ("1e3", "1,5", "1.", ".5", "+1", "NaN", "Infinity", " 1", "1.2.3"):
        assert not pattern.search(not_decimal), not_decimal


def test_sql_answers_fit_their_schema(client, routes, openapi, market_data):
    """The documented schemas are what the SQL functions really return, including the test
    data's nulls (no 24h change; assets without exchange, ISIN or sector) and a price of 29
    significant digits."""
    schemas = openapi["components"]["schemas"]
    by_path = {row["path"]: row["responseSchema"] for row in routes if row["method"] == "GET"}
    for path, template in [("/api/v1/prices", "/api/v1/prices"),
                           ("/api/v1/prices/HT-ALPHA", "/api/v1/prices/{assetId}"),
                           ("/api/v1/prices/HT-BETA", "/api/v1/prices/{assetId}"),
                           ("/api/v1/assets?q=HTTP%20Test", "/api/v1/assets"),
                           ("/api/v1/assets", "/api/v1/assets")]:
        response = client.get(path)
        assert response.status == 200, path
        body = response.json()
        assert body, path  # an empty answer would prove nothing
        assert not schema_problems(body, by_path[template], schemas), (path, body)


def test_schema_check_catches_a_float_price(openapi):
    # The check above can fail: a price sent as a JSON number breaks the Price schema.
    schemas = openapi["components"]["schemas"]
    price = {"assetId": "X", "symbol": "X", "name": "X", "layer": "GROWTH", "price": 1234.56,
             "currency": "INR", "source": "s", "asOf": "2026-01-02T03:04:05Z",
             "change24hPercent": None}
    problems = schema_problems(price, {"$ref": "#/components/schemas/Price"}, schemas)
    assert problems == ["$.price: expected string, got float 1234.56"]
    price["price"] = "1234.56"
    assert not schema_problems(price, {"$ref": "#/components/schemas/Price"}, schemas)
    price["extra"] = "1"
    assert schema_problems(price, {"$ref": "#/components/schemas/Price"}, schemas)

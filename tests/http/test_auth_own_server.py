"""Tests that need a pgfolio-http of their own, on the outage cluster (never the main one):
rate limits low enough to reach (the main server's are set out of the suite's way), and the
rule that no password, token or secret reaches a log or a table — run with
log_statement = 'all', then the PostgreSQL log, pgfolio-http's log and every table of
schema pgfolio are searched for the secrets the flows used."""

import json
import subprocess
import time

import pytest

import accounts
from accounts import (bearer, login, post, register, totp, unique_email, unique_phone)
from support import ServerProcess, assert_problem, free_port, wait_until


def start_server(settings, outage_cluster, tmp_path, **env):
    tmp_path.mkdir(parents=True, exist_ok=True)
    outbox_file = tmp_path / "outbox.jsonl"
    server = ServerProcess(settings.binary, free_port(), outage_cluster.database_url,
                           tmp_path / "pgfolio-http.log",
                           {"PGFOLIO_SENDER_DATABASE_URL":
                            f"postgresql://pgfolio_sender@127.0.0.1:{outage_cluster.port}/pgfolio",
                            "PGFOLIO_OUTBOX_FILE": str(outbox_file), **env})
    server.wait_ready()
    server.outbox = accounts.Outbox(outbox_file)
    return server


@pytest.fixture
def own_server(settings, outage_cluster, tmp_path):
    servers = []

    def start(**env):
        server = start_server(settings, outage_cluster, tmp_path / str(len(servers)), **env)
        servers.append(server)
        return server
    try:
        yield start
    finally:
        for server in servers:
            assert server.stop() == 0, server.log_text()[-2000:]


def test_login_like_routes_share_a_per_ip_bucket(own_server):
    server = own_server(PGFOLIO_RATE_LOGIN_PER_MINUTE="5")
    client = server.client
    for _ in range(5):
        assert_problem(login(client, unique_email(), "not the password"), 401, "UNAUTHORIZED")
    limited = login(client, unique_email(), "not the password")
    problem = assert_problem(limited, 429, "RATE_LIMITED")
    retry_after = int(limited.header("Retry-After"))
    assert 1 <= retry_after <= 12  # one token per 12 s at 5 per minute
    assert problem["details"] == {"retryAfter": retry_after}
    # Other login-like routes draw on the same bucket, malformed requests included; the rest
    # of the API does not.
    assert_problem(post(client, "/auth/send-otp", {"phone": unique_phone()}), 429, "RATE_LIMITED")
    assert_problem(post(client, "/auth/register", b"{"), 429, "RATE_LIMITED")
    assert client.get("/api/v1/assets").status == 200


def test_authenticated_routes_have_a_bucket_per_user(own_server):
    server = own_server(PGFOLIO_RATE_USER_PER_MINUTE="3")
    client = server.client
    first, second = register(client), register(client)
    for _ in range(3):
        assert client.get("/api/v1/profile", bearer(first["accessToken"])).status == 200
    limited = client.get("/api/v1/profile", bearer(first["accessToken"]))
    assert_problem(limited, 429, "RATE_LIMITED")
    assert 1 <= int(limited.header("Retry-After")) <= 20
    assert client.get("/api/v1/profile", bearer(second["accessToken"])).status == 200


def test_bucket_refills_with_time(own_server):
    server = own_server(PGFOLIO_RATE_LOGIN_PER_MINUTE="30")  # one token every 2 s
    client = server.client
    # Malformed bodies: counted like any attempt, and answered in no time (no hashing).
    statuses = [post(client, "/auth/login", b"{").status for _ in range(31)]
    assert statuses[:30] == [400] * 30 and statuses[30] == 429
    time.sleep(2.2)
    assert post(client, "/auth/login", b"{").status == 400
    assert post(client, "/auth/login", b"{").status == 429


def test_the_sender_stops_cleanly_on_sigterm(own_server):
    server = own_server()
    phone = unique_phone()
    mark = server.outbox.mark()
    assert post(server.client, "/auth/send-otp", {"phone": phone}).status == 200
    server.outbox.wait_for(mark, phone, "otp")
    started = time.monotonic()
    assert server.stop() == 0
    assert time.monotonic() - started < 5
    assert "outbox sender started" in server.log_text()


def stored_hash(outage_cluster, user_id: str) -> str:
    connection = outage_cluster.connect()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT password_hash FROM pgfolio.users WHERE id = %s", (user_id,))
            return cursor.fetchone()[0]
    finally:
        connection.close()


def rehash_audits(outage_cluster, user_id: str) -> int:
    connection = outage_cluster.connect()
    try:
        with connection.cursor() as cursor:
            cursor.execute("""SELECT count(*) FROM pgfolio.audit_logs
                              WHERE actor_id = %s AND action = 'login.success'
                                AND details->>'passwordRehashed' = 'true'""", (user_id,))
            return cursor.fetchone()[0]
    finally:
        connection.close()


def test_login_rehashes_a_password_hashed_with_older_parameters(own_server, outage_cluster):
    before = own_server()
    person = register(before.client)
    user_id = person["user"]["id"]
    old_hash = stored_hash(outage_cluster, user_id)
    assert old_hash.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    mfa_person = register(before.client)
    secret = before.client.request("POST", "/api/v1/auth/mfa/enrol",
                                   bearer(mfa_person["accessToken"]), b"").json()["secret"]
    assert post(before.client, "/auth/mfa/confirm", {"code": totp(secret)},
                bearer(mfa_person["accessToken"])).status == 200
    mfa_old_hash = stored_hash(outage_cluster, mfa_person["user"]["id"])

    # The parameters raised by configuration (t=3): a wrong password changes nothing, a right
    # one logs in with the old hash and leaves a new one with the new parameters.
    raised = own_server(PGFOLIO_ARGON2_ITERATIONS="3")
    assert_problem(login(raised.client, person["email"], "not the password at all"), 401,
                   "UNAUTHORIZED")
    assert stored_hash(outage_cluster, user_id) == old_hash
    answer = login(raised.client, person["email"])
    assert answer.status == 200 and "accessToken" in answer.json()
    new_hash = stored_hash(outage_cluster, user_id)
    assert new_hash.startswith("$argon2id$v=19$m=19456,t=3,p=1$") and new_hash != old_hash
    assert rehash_audits(outage_cluster, user_id) == 1
    # The new hash verifies, and is left alone now that it has the configured parameters.
    assert login(raised.client, person["email"]).status == 200
    assert stored_hash(outage_cluster, user_id) == new_hash
    assert rehash_audits(outage_cluster, user_id) == 1

    # With MFA on, the right password is enough to replace the hash (the login goes on with the
    # challenge).
    challenge = login(raised.client, mfa_person["email"]).json()
    assert challenge["mfaRequired"] is True
    mfa_new_hash = stored_hash(outage_cluster, mfa_person["user"]["id"])
    assert mfa_new_hash.startswith("$argon2id$v=19$m=19456,t=3,p=1$")
    assert mfa_new_hash != mfa_old_hash


@pytest.fixture
def statement_logging(outage_cluster):
    """log_statement = 'all' on the outage cluster for the duration of a test."""
    connection = outage_cluster.connect()
    with connection.cursor() as cursor:
        cursor.execute("ALTER SYSTEM SET log_statement = 'all'")
        cursor.execute("SELECT pg_reload_conf()")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("ALTER SYSTEM RESET log_statement")
            cursor.execute("SELECT pg_reload_conf()")
        connection.close()


def every_table_as_text(outage_cluster) -> str:
    connection = outage_cluster.connect()
    try:
        with connection.cursor() as cursor:
            cursor.execute("""SELECT format('%I.%I', schemaname, tablename) FROM pg_tables
                              WHERE schemaname IN ('pgfolio', 'cron')""")
            tables = [row[0] for row in cursor.fetchall()]
            text = []
            for table in tables:
                cursor.execute(f"SELECT t::text FROM {table} t")
                text += [row[0] for row in cursor.fetchall()]
            return "\n".join(text)
    finally:
        connection.close()


def test_no_secret_reaches_a_log_or_a_table(own_server, outage_cluster, statement_logging):
    # Login-like requests here outnumber the default 10 a minute per address.
    server = own_server(PGFOLIO_RATE_LOGIN_PER_MINUTE="100")
    client = server.client
    password = "SENTINEL-password-" + unique_email().split("@")[0]
    new_password = "SENTINEL-new-password-" + unique_email().split("@")[0]
    secrets = [password, new_password]

    # Password account: register, login, refresh, email verification, reset.
    email = unique_email("sentinel")
    mark = server.outbox.mark()
    person = register(client, email=email, password=password)
    secrets += [person["accessToken"], person["refreshToken"]]
    verify_token = server.outbox.wait_for(mark, email, "email-verify")["payload"]["token"]
    secrets.append(verify_token)
    assert post(client, "/auth/verify-email", {"token": verify_token}).status == 200
    refreshed = post(client, "/auth/refresh", {"refreshToken": person["refreshToken"]}).json()
    secrets += [refreshed["accessToken"], refreshed["refreshToken"]]
    assert_problem(login(client, email, "SENTINEL-wrong-password"), 401, "UNAUTHORIZED")
    secrets.append("SENTINEL-wrong-password")

    # MFA: enrol, confirm, log in with the challenge.
    enrolment = client.request("POST", "/api/v1/auth/mfa/enrol",
                               bearer(refreshed["accessToken"]), b"").json()
    secrets.append(enrolment["secret"])
    # The previous step's code confirms, so the current one is still unused for the login.
    assert post(client, "/auth/mfa/confirm", {"code": totp(enrolment["secret"], step_offset=-1)},
                bearer(refreshed["accessToken"])).status == 200
    challenge = login(client, email, password).json()["challenge"]
    secrets.append(challenge)
    tokens = post(client, "/auth/mfa/verify",
                  {"challenge": challenge, "code": totp(enrolment["secret"])}).json()
    secrets += [tokens["accessToken"], tokens["refreshToken"]]

    mark = server.outbox.mark()
    assert post(client, "/auth/password/forgot", {"email": email}).status == 200
    reset_token = server.outbox.wait_for(mark, email, "password-reset")["payload"]["token"]
    secrets.append(reset_token)
    assert post(client, "/auth/password/reset",
                {"token": reset_token, "password": new_password}).status == 200

    # Phone account.
    phone = unique_phone()
    mark = server.outbox.mark()
    assert post(client, "/auth/send-otp", {"phone": phone}).status == 200
    code = server.outbox.wait_for(mark, phone, "otp")["payload"]["code"]
    # A wrong try first: a refused code must not be written down either.
    wrong_code = f"{(int(code) + 1) % 10 ** 6:06d}"
    assert_problem(post(client, "/auth/verify-otp", {"phone": phone, "code": wrong_code}), 401,
                   "UNAUTHORIZED")
    otp_tokens = post(client, "/auth/verify-otp", {"phone": phone, "code": code}).json()
    secrets += [otp_tokens["accessToken"], otp_tokens["refreshToken"]]

    # Let the sender report the deliveries (it erases the payloads' secrets).
    connection = outage_cluster.connect()
    with connection.cursor() as cursor:
        def delivered():
            cursor.execute("""SELECT count(*) FROM pgfolio.outbox
                              WHERE status NOT IN ('sent', 'failed', 'expired')""")
            return cursor.fetchone()[0] == 0
        wait_until(delivered, timeout=10, what="every outbox message to be sent")
    connection.close()

    assert server.stop() == 0
    places = {"pgfolio-http's log": server.log_text(),
              "the PostgreSQL log": open(outage_cluster.log_path, errors="replace").read(),
              "the tables": every_table_as_text(outage_cluster)}
    # The statement log did record the flows (so searching it means something).
    assert "auth_register" in places["the PostgreSQL log"]
    for where, text in places.items():
        for secret in secrets:
            assert secret not in text, f"a secret ({secret[:12]}…) is in {where}"
        # A 6-digit code is too short to search for in logs full of numbers; in the tables it
        # would sit in a JSON payload.
        for tried in (code, wrong_code):
            assert f'"code": "{tried}"' not in text and f'"code":"{tried}"' not in text, where
        # Access tokens are among the secrets, so no Authorization header was written either.


def test_benchmark_setting_acts_as_one_user_without_a_token(own_server):
    # What make bench compares against: authentication switched off. Checked here so that
    # the setting does what it says and no more (user routes only, tokens still honoured).
    plain = own_server()
    person = register(plain.client)
    assert plain.client.get("/api/v1/profile").status == 401
    sid = accounts.jwt_claims(person["accessToken"])["sid"]
    server = own_server(PGFOLIO_BENCHMARK_ONLY_ACT_AS=f"{person['user']['id']},{sid}")
    assert "PGFOLIO_BENCHMARK_ONLY_ACT_AS is set" in server.log_text()
    unchecked = server.client.get("/api/v1/profile")
    assert unchecked.status == 200 and unchecked.json()["id"] == person["user"]["id"]
    assert_problem(server.client.get("/api/v1/admin/users"), 401, "UNAUTHORIZED")
    other = register(server.client)
    mine = server.client.get("/api/v1/profile", bearer(other["accessToken"]))
    assert mine.json()["id"] == other["user"]["id"]


@pytest.fixture
def rsa_keys(tmp_path):
    private, public = tmp_path / "jwt.key", tmp_path / "jwt.pub"
    subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048",
                    "-out", str(private)], check=True, capture_output=True)
    subprocess.run(["openssl", "pkey", "-in", str(private), "-pubout", "-out", str(public)],
                   check=True, capture_output=True)
    return private, public


def test_rs256_configuration_and_the_key_confusion_trick(own_server, rsa_keys):
    private, public = rsa_keys
    server = own_server(PGFOLIO_JWT_ALGORITHM="RS256", PGFOLIO_JWT_PRIVATE_KEY_FILE=str(private),
                        PGFOLIO_JWT_PUBLIC_KEY_FILE=str(public), PGFOLIO_JWT_SECRET="")
    client = server.client
    person = register(client)
    header = json.loads(accounts.b64url_decode(person["accessToken"].split(".")[0]))
    assert header["alg"] == "RS256"
    assert client.get("/api/v1/profile", bearer(person["accessToken"])).status == 200
    # An HS256 token whose HMAC key is the public key (which anyone may have) is refused.
    claims = accounts.jwt_claims(person["accessToken"])
    forged = accounts.make_jwt(claims, public.read_bytes(), alg="HS256")
    problem = assert_problem(client.get("/api/v1/profile", bearer(forged)), 401, "UNAUTHORIZED")
    assert problem["details"]["reason"] == "bad_alg"


def test_rs256_public_key_must_match_the_private_one(settings, rsa_keys, tmp_path):
    private, _ = rsa_keys
    other = tmp_path / "other.key"
    subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048",
                    "-out", str(other)], check=True, capture_output=True)
    other_public = tmp_path / "other.pub"
    subprocess.run(["openssl", "pkey", "-in", str(other), "-pubout", "-out", str(other_public)],
                   check=True, capture_output=True)
    env = {"PATH": "/usr/bin:/bin", "PGFOLIO_DATABASE_URL": "postgresql://x@127.0.0.1:1/x",
           "PGFOLIO_HTTP_PORT": str(free_port()), "PGFOLIO_TOTP_KEY":
           "dGhyb3dhd2F5LXRlc3Qtc2VydmVyLXRvdHAta2V5ISE=", "PGFOLIO_JWT_ALGORITHM": "RS256",
           "PGFOLIO_JWT_PRIVATE_KEY_FILE": str(private),
           "PGFOLIO_JWT_PUBLIC_KEY_FILE": str(other_public)}
    result = subprocess.run([str(settings.binary)], env=env, capture_output=True, timeout=10,
                            stdin=subprocess.DEVNULL)
    assert result.returncode == 2
    assert "PGFOLIO_JWT_PUBLIC_KEY_FILE" in result.stderr.decode()


def test_a_failed_delivery_is_reported_for_retry_and_logged_without_the_code(
        own_server, outage_cluster, tmp_path):
    # The outbox "file" is a directory: every delivery fails.
    server = own_server(PGFOLIO_OUTBOX_FILE=str(tmp_path))
    phone = unique_phone()
    assert post(server.client, "/auth/send-otp", {"phone": phone}).status == 200
    connection = outage_cluster.connect()
    try:
        with connection.cursor() as cursor:
            def reported():
                cursor.execute("""SELECT status, attempts, last_error, payload->>'code'
                                  FROM pgfolio.outbox WHERE recipient = %s""", (phone,))
                row = cursor.fetchone()
                # Claiming counts the attempt already; the report is what sets last_error.
                return row if row and row[2] is not None else None
            status, attempts, last_error, code = wait_until(reported, timeout=10,
                                                            what="the failure to be reported")
    finally:
        connection.close()
    assert (status, attempts) == ("pending", 1)
    assert "cannot open the outbox file" in last_error and code not in last_error
    log = server.log_text()
    assert "failed: cannot open the outbox file" in log and code not in log

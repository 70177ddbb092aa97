"""The ledger witness (docs/witness.md) end to end: checkpoints signed, kept in the witness's
file and recorded in the database, served by GET /ledger/checkpoints/latest and verifiable
with GET /ledger/public-key's key (checked with openssl, not pgfolio's code); the alarm when
a history is rewritten from genesis so that ledger_verify alone finds nothing (an error log
line, an audit entry, the counter in /metrics, and nothing signed for that portfolio); the
other alarms; restarts; and the configurations and files that stop a start.

The witnessing servers are the tests' own, on the outage cluster (conftest), never the main
ones: the tampering here would alarm a witness watching the main database. The tests' own
portfolios are removed from the outage cluster at the end."""

import json
import signal
import subprocess

import pytest

import accounts
from accounts import bearer
# cluster_db and made are fixtures, imported so that pytest finds them here.
from ledger_witness_support import cluster_db, made  # noqa: F401
from ledger_witness_support import (Witness, append, check_public_key_answer, completed_rounds,
                                    delete_entries, file_checkpoints, ledger_verify, metrics,
                                    new_portfolio, new_seed, new_user, openssl_verifies,
                                    public_key_of_seed, rebuild_from_genesis, restore_rows,
                                    saved_rows, signed_bytes, stored_checkpoints, tree_head,
                                    wait_for_checkpoint, wait_rounds, witness_audits,
                                    witness_env)
from support import (TEST_SERVER_SECRETS, ServerProcess, assert_problem, free_port, metric,
                     wait_until)

ALARMS = "pgfolio_witness_alarms_total"
ALARMING = "pgfolio_witness_portfolios_alarming"
SIGNED = "pgfolio_witness_checkpoints_total"


@pytest.fixture(scope="module")
def seed():
    return new_seed()


@pytest.fixture(scope="module")
def witness(settings, outage_cluster, tmp_path_factory, seed, made):
    """One witnessing server for the module: its memory carries from test to test. (It
    depends on `made` so that it stops before the portfolios are removed.)"""
    witness = Witness(settings, outage_cluster, tmp_path_factory.mktemp("witness"), seed)
    try:
        wait_rounds(witness, 1)
        yield witness
    finally:
        assert witness.stop() == 0, witness.log_text()[-3000:]


def witness_alarm_lines(server, wanted):
    """The server's ledger_witness_alarm log lines for which wanted(line) holds."""
    lines = []
    for raw in server.log_text().splitlines():
        try:
            line = json.loads(raw)
        except ValueError:
            continue
        if line.get("event") == "ledger_witness_alarm" and wanted(line):
            lines.append(line)
    return lines


def alarm_lines(server, portfolio_id):
    return witness_alarm_lines(server, lambda line: line.get("portfolio_id") == portfolio_id)


def owned_portfolio(cluster_db, made, owner=None, default=False, entries=3):
    owner = owner or new_user(cluster_db)
    portfolio_id = new_portfolio(cluster_db, owner, default)
    made.append(portfolio_id)
    append(cluster_db, portfolio_id, entries)
    return portfolio_id


# --- the key ---------------------------------------------------------------------------------

def test_the_main_server_publishes_its_witness_key(client):
    # make run and make test give pgfolio-http a development key (scripts/lib.sh).
    response = client.get("/api/v1/ledger/public-key")
    assert response.status == 200, response.body[:300]
    assert response.media_type == "application/json"
    check_public_key_answer(response.json())


def test_the_published_key_is_the_configured_one(witness, seed):
    answer = witness.client.get("/api/v1/ledger/public-key").json()
    check_public_key_answer(answer)
    expected = public_key_of_seed(seed)  # derived by openssl from the seed
    assert (answer["publicKey"], answer["keyId"]) == (expected["hex"], expected["keyId"])
    assert answer["pem"].strip() == expected["pem"].strip()


def test_no_key_no_public_key(settings, outage_cluster, tmp_path):
    server = ServerProcess(settings.binary, free_port(), outage_cluster.database_url,
                           tmp_path / "pgfolio-http.log")
    try:
        server.wait_ready()
        assert_problem(server.client.get("/api/v1/ledger/public-key"), 404, "NOT_FOUND")
        assert metric(metrics(server), "pgfolio_witness_enabled") == 0
        assert "ledger witness off" in server.log_text()
    finally:
        assert server.stop() == 0


def test_an_instance_may_publish_the_key_without_holding_it(settings, outage_cluster, tmp_path):
    # Front instances publish the public key; only the witness's instance has the private one.
    key = public_key_of_seed(new_seed())
    server = ServerProcess(settings.binary, free_port(), outage_cluster.database_url,
                           tmp_path / "pgfolio-http.log", {"PGFOLIO_WITNESS_PUBLIC_KEY": key["pem"]})
    try:
        server.wait_ready()
        answer = server.client.get("/api/v1/ledger/public-key").json()
        assert answer["keyId"] == key["keyId"]
        assert metric(metrics(server), "pgfolio_witness_enabled") == 0
    finally:
        assert server.stop() == 0


# --- signing -----------------------------------------------------------------------------------

def test_checkpoints_are_signed_kept_recorded_and_served(witness, cluster_db, made):
    person = accounts.register(witness.client)
    token = person["accessToken"]
    user_id = person["user"]["id"]
    portfolio_id = owned_portfolio(cluster_db, made, owner=user_id, default=True, entries=3)
    other_id = owned_portfolio(cluster_db, made, owner=user_id, entries=1)

    first = wait_for_checkpoint(witness.witness_file, portfolio_id, 3)
    size, root = tree_head(cluster_db, portfolio_id)
    assert (first["treeSize"], first["rootHash"]) == (size, root) == (3, root)
    assert set(first) == {"format", "portfolioId", "treeSize", "rootHash", "signedAt", "keyId",
                          "signature"}
    assert first["format"] == "pgfolio-checkpoint/1"

    # The signature verifies with the published key, over bytes computed here; a changed
    # member does not.
    key = witness.client.get("/api/v1/ledger/public-key").json()
    assert first["keyId"] == key["keyId"]
    signature = bytes.fromhex(first["signature"])
    assert openssl_verifies(key["pem"], signed_bytes(first), signature)
    assert not openssl_verifies(key["pem"], signed_bytes(dict(first, treeSize=2)), signature)

    # The database holds the same checkpoint, and the API serves it to the owner.
    wait_until(lambda: stored_checkpoints(cluster_db, portfolio_id) == [first], 10,
               what="the checkpoint in the database")
    latest = witness.client.get("/api/v1/ledger/checkpoints/latest", bearer(token))
    assert latest.status == 200, latest.body[:300]
    assert latest.json() == first
    by_id = witness.client.get(f"/api/v1/ledger/checkpoints/latest?portfolioId={portfolio_id}",
                               bearer(token))
    assert by_id.json() == first

    # The log grows: the next checkpoint extends this one (the witness checked the proof).
    before = metric(metrics(witness), SIGNED)
    append(cluster_db, portfolio_id, 2)
    second = wait_for_checkpoint(witness.witness_file, portfolio_id, 5)
    assert second["rootHash"] == tree_head(cluster_db, portfolio_id)[1]
    assert second["signedAt"] > first["signedAt"]
    assert openssl_verifies(key["pem"], signed_bytes(second), bytes.fromhex(second["signature"]))
    wait_until(lambda: witness.client.get("/api/v1/ledger/checkpoints/latest",
                                          bearer(token)).json() == second, 10,
               what="the latest checkpoint served")
    assert metric(metrics(witness), SIGNED) >= before + 1
    # Nothing is signed again while nothing changes.
    wait_rounds(witness, 2)
    assert [c["treeSize"] for c in file_checkpoints(witness.witness_file, portfolio_id)] == [3, 5]
    assert ledger_verify(cluster_db, portfolio_id) == (5, True, None, None)

    # The other portfolio by its id; someone else's, a malformed id, no token.
    other = wait_for_checkpoint(witness.witness_file, other_id, 1)
    wait_until(lambda: witness.client.get(f"/api/v1/ledger/checkpoints/latest?portfolioId={other_id}",
                                          bearer(token)).status == 200, 10,
               what="the second portfolio's checkpoint served")
    assert witness.client.get(f"/api/v1/ledger/checkpoints/latest?portfolioId={other_id}",
                              bearer(token)).json() == other
    stranger = accounts.register(witness.client)
    problem = assert_problem(
        witness.client.get(f"/api/v1/ledger/checkpoints/latest?portfolioId={portfolio_id}",
                           bearer(stranger["accessToken"])), 404, "NOT_FOUND")
    assert problem["details"] == {"portfolioId": portfolio_id}
    assert_problem(witness.client.get("/api/v1/ledger/checkpoints/latest",
                                      bearer(stranger["accessToken"])), 404, "NOT_FOUND")
    problem = assert_problem(witness.client.get(
        "/api/v1/ledger/checkpoints/latest?portfolioId=not-a-uuid", bearer(token)),
        400, "VALIDATION_ERROR")
    assert problem["details"]["parameter"] == "portfolioId"
    assert_problem(witness.client.get("/api/v1/ledger/checkpoints/latest"), 401, "UNAUTHORIZED")


def test_a_portfolio_not_signed_yet_has_no_latest_checkpoint(witness, cluster_db, made):
    person = accounts.register(witness.client)
    empty = new_portfolio(cluster_db, person["user"]["id"], default=True)
    made.append(empty)
    wait_rounds(witness, 1)
    assert_problem(witness.client.get("/api/v1/ledger/checkpoints/latest",
                                      bearer(person["accessToken"])), 404, "NOT_FOUND")


# --- alarms --------------------------------------------------------------------------------------

def test_a_history_rebuilt_from_genesis_raises_the_alarm(witness, cluster_db, made):
    victim = owned_portfolio(cluster_db, made, entries=4)
    bystander = owned_portfolio(cluster_db, made, entries=1)
    signed = wait_for_checkpoint(witness.witness_file, victim, 4)
    wait_for_checkpoint(witness.witness_file, bystander, 1)
    wait_until(lambda: len(stored_checkpoints(cluster_db, victim)) == 1, 10,
               what="the victim's checkpoint in the database")
    before = metrics(witness)

    # The owner of the database rewrites the second entry, recomputes every hash from the
    # first, removes the stored checkpoint and carries on appending: the chain verifies.
    rebuild_from_genesis(cluster_db, victim, seq=2, amount="1000000")
    append(cluster_db, victim, 1)
    assert ledger_verify(cluster_db, victim) == (5, True, None, None)
    assert tree_head(cluster_db, victim, 4)[1] != signed["rootHash"]

    # The witness's consistency check, from its own old root, fails.
    wait_until(lambda: metric(metrics(witness), ALARMS) >= metric(before, ALARMS) + 1, 20,
               what="the alarm counter")
    audits = wait_until(lambda: witness_audits(cluster_db, victim), 10, what="the audit entry")
    assert len(audits) == 1
    details = audits[0]["details"]
    assert audits[0]["actor_id"] is None and audits[0]["resource_type"] == "portfolio"
    assert details["reason"].startswith("the consistency proof fails")
    assert (details["witnessedSize"], details["witnessedRoot"]) == (4, signed["rootHash"])
    assert (details["reportedSize"], details["reportedRoot"]) == tree_head(cluster_db, victim)
    assert details["witness"] == signed["keyId"]
    lines = alarm_lines(witness, victim)
    assert len(lines) == 1 and lines[0]["level"] == "error", lines
    assert lines[0]["details"] == details and victim in lines[0]["message"]
    assert metric(metrics(witness), ALARMING) >= 1

    # Nothing is signed or recorded for it any more, round after round, and the alarm is not
    # repeated; the other portfolios are still witnessed.
    append(cluster_db, bystander, 1)
    append(cluster_db, victim, 1)
    wait_for_checkpoint(witness.witness_file, bystander, 2)
    wait_rounds(witness, 3)
    assert [c["treeSize"] for c in file_checkpoints(witness.witness_file, victim)] == [4]
    assert stored_checkpoints(cluster_db, victim) == []
    assert len(witness_audits(cluster_db, victim)) == 1
    assert len(alarm_lines(witness, victim)) == 1


def test_a_history_rewritten_at_its_signed_size_alarms_until_restored(witness, cluster_db, made):
    victim = owned_portfolio(cluster_db, made, entries=3)
    signed = wait_for_checkpoint(witness.witness_file, victim, 3)
    original = saved_rows(cluster_db, victim)
    before = metrics(witness)

    rebuild_from_genesis(cluster_db, victim, seq=1, amount="0.01")
    assert ledger_verify(cluster_db, victim) == (3, True, None, None)
    audits = wait_until(lambda: witness_audits(cluster_db, victim), 20, what="the audit entry")
    assert audits[0]["details"]["reason"] == "the root changed at the size the witness signed"
    assert metric(metrics(witness), ALARMS) == metric(before, ALARMS) + 1
    assert metric(metrics(witness), ALARMING) == metric(before, ALARMING) + 1

    # Restored from a backup: the ledger extends what the witness signed again, so it leaves
    # the alarm and signs the next head.
    restore_rows(cluster_db, original)
    wait_until(lambda: metric(metrics(witness), ALARMING) == metric(before, ALARMING), 20,
               what="the alarm to settle")
    assert "extends the tree the witness signed again" in witness.log_text()
    append(cluster_db, victim, 1)
    wait_for_checkpoint(witness.witness_file, victim, 4)
    assert [c["treeSize"] for c in file_checkpoints(witness.witness_file, victim)] == [3, 4]
    assert file_checkpoints(witness.witness_file, victim)[0] == signed


@pytest.mark.parametrize("damage,condition,reason", [
    ("the newest entries deleted", "seq > 2", "the ledger is shorter than the tree the witness signed"),
    ("a middle entry deleted", "seq = 2", "the database cannot build the ledger's tree"),
    ("every entry deleted", "true", "the portfolio's ledger is gone"),
])
def test_other_damage_raises_the_alarm(witness, cluster_db, made, damage, condition, reason):
    victim = owned_portfolio(cluster_db, made, entries=4)
    wait_for_checkpoint(witness.witness_file, victim, 4)
    delete_entries(cluster_db, victim, condition)
    audits = wait_until(lambda: witness_audits(cluster_db, victim), 20,
                        what=f"the alarm for {damage}")
    assert [audit["details"]["reason"] for audit in audits] == [reason]
    assert len(alarm_lines(witness, victim)) == 1
    wait_rounds(witness, 2)
    assert [c["treeSize"] for c in file_checkpoints(witness.witness_file, victim)] == [4]


# --- the database's paging ---------------------------------------------------------------------

PAGING_ROLE = "pgfolio_witness_paging_login"

# ledger_witness_heads replaced for the paging test: to every session but PAGING_ROLE's (the
# module's witness among them) it answers as the real one, renamed; to PAGING_ROLE it pages
# through witness_paging_test.heads as witness_paging_test.mode says, rightly or wrongly. It
# returns portfolio_id as text so that it can also return what no uuid column could.
FAKE_HEADS = f"""
CREATE FUNCTION pgfolio.ledger_witness_heads(after_portfolio uuid DEFAULT NULL,
                                             max_rows integer DEFAULT 100)
RETURNS TABLE (portfolio_id text, tree_size bigint, root_hash bytea, problem text)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pgfolio, pg_temp
AS $$
DECLARE
  m text := (SELECT mode FROM witness_paging_test.mode);
BEGIN
  IF session_user <> '{PAGING_ROLE}' THEN
    RETURN QUERY SELECT r.portfolio_id::text, r.tree_size, r.root_hash, r.problem
                 FROM pgfolio.ledger_witness_heads_real(after_portfolio, max_rows) r;
  ELSIF m = 'stuck' THEN  -- the first page again and again, whatever comes after
    RETURN QUERY SELECT h.* FROM witness_paging_test.heads h
                 ORDER BY h.portfolio_id LIMIT max_rows;
  ELSIF m = 'descending' THEN
    RETURN QUERY SELECT h.* FROM witness_paging_test.heads h
                 WHERE after_portfolio IS NULL OR h.portfolio_id::uuid > after_portfolio
                 ORDER BY h.portfolio_id DESC LIMIT max_rows;
  ELSIF m = 'uppercase' THEN
    RETURN QUERY SELECT upper(h.portfolio_id), h.tree_size, h.root_hash, h.problem
                 FROM witness_paging_test.heads h
                 WHERE after_portfolio IS NULL OR h.portfolio_id::uuid > after_portfolio
                 ORDER BY h.portfolio_id LIMIT max_rows;
  ELSE  -- 'ordered': as the real one pages
    RETURN QUERY SELECT h.* FROM witness_paging_test.heads h
                 WHERE after_portfolio IS NULL OR h.portfolio_id::uuid > after_portfolio
                 ORDER BY h.portfolio_id LIMIT max_rows;
  END IF;
END
$$;
GRANT EXECUTE ON FUNCTION pgfolio.ledger_witness_heads(uuid, integer) TO pgfolio_witness;
"""


def synthetic_id(i):
    """The 100 heads' ids (and a 101st): lowercase hex letters, so that upper() changes them."""
    return f"aaaaaaaa-0000-4000-8000-{i:012d}"


@pytest.fixture
def paging(cluster_db, witness):
    """The replaced ledger_witness_heads and its table of 100 heads (a full page: the witness
    asks for 100), undone at the end. Swapped in one transaction, so that the module's
    witness never finds the function missing."""
    cluster_db.autocommit = False
    try:
        with cluster_db.cursor() as cursor:
            cursor.execute(f"CREATE ROLE {PAGING_ROLE} LOGIN IN ROLE pgfolio_witness")
            cursor.execute("CREATE SCHEMA witness_paging_test")
            cursor.execute("CREATE TABLE witness_paging_test.mode (mode text NOT NULL)")
            cursor.execute("INSERT INTO witness_paging_test.mode VALUES ('ordered')")
            cursor.execute("""CREATE TABLE witness_paging_test.heads (portfolio_id text PRIMARY KEY,
                                tree_size bigint, root_hash bytea, problem text)""")
            cursor.execute("""INSERT INTO witness_paging_test.heads
                              SELECT 'aaaaaaaa-0000-4000-8000-' || lpad(i::text, 12, '0'), 1,
                                     sha256(i::text::bytea), NULL
                              FROM generate_series(1, 100) i""")
            cursor.execute("ALTER FUNCTION pgfolio.ledger_witness_heads(uuid, integer) "
                           "RENAME TO ledger_witness_heads_real")
            cursor.execute(FAKE_HEADS)
        cluster_db.commit()
    finally:
        cluster_db.autocommit = True

    def set_mode(mode):
        with cluster_db.cursor() as cursor:
            cursor.execute("UPDATE witness_paging_test.mode SET mode = %s", (mode,))

    try:
        yield set_mode
    finally:
        cluster_db.autocommit = False
        try:
            with cluster_db.cursor() as cursor:
                cursor.execute("DROP FUNCTION IF EXISTS pgfolio.ledger_witness_heads(uuid, integer)")
                cursor.execute("ALTER FUNCTION pgfolio.ledger_witness_heads_real(uuid, integer) "
                               "RENAME TO ledger_witness_heads")
                cursor.execute("DROP SCHEMA witness_paging_test CASCADE")
                cursor.execute(f"DROP ROLE {PAGING_ROLE}")
            cluster_db.commit()
        finally:
            cluster_db.autocommit = True


def round_alarm_lines(server):
    """The witness's alarms about a round: alarm lines that name no portfolio."""
    return witness_alarm_lines(server, lambda line: "portfolio_id" not in line)


def test_paging_the_witness_cannot_trust_raises_an_alarm_and_stops_the_round(
        settings, outage_cluster, cluster_db, witness, paging, tmp_path):
    env = witness_env(outage_cluster, tmp_path / "witness.jsonl", new_seed())
    env["PGFOLIO_WITNESS_DATABASE_URL"] = (
        f"postgresql://{PAGING_ROLE}@127.0.0.1:{outage_cluster.port}/pgfolio")
    server = ServerProcess(settings.binary, free_port(), outage_cluster.database_url,
                           tmp_path / "pgfolio-http.log", env)
    witness_file = tmp_path / "witness.jsonl"
    try:
        server.wait_ready()
        # Rightly paged: a full page, then an empty one; all 100 signed (trust on first use;
        # the database refuses to record checkpoints of portfolios it does not have).
        wait_until(lambda: len(file_checkpoints(witness_file)) == 100, 20,
                   what="the 100 heads signed")
        wait_rounds(server, 1)
        assert metric(metrics(server), ALARMS) == 0

        # The same full page whatever `after` says: without the check the round would never
        # end. The round stops with one alarm, and the next rounds (same fault, same
        # incident) do not repeat it.
        paging("stuck")
        alarm = wait_until(lambda: round_alarm_lines(server), 20, what="the paging alarm")[0]
        assert alarm["level"] == "error"
        details = alarm["details"]
        assert details["reason"] == ("the database listed portfolios out of order "
                                     "(ids must strictly increase)")
        assert details["afterPortfolio"] == synthetic_id(100)
        assert details["reportedPortfolio"] == synthetic_id(1)
        assert details["rowInPage"] == 1 and details["pageRows"] == 100
        assert "the round stops here" in alarm["message"]
        failed = metric(metrics(server), "pgfolio_witness_rounds_total", result="failed")
        completed = completed_rounds(server)
        last = metric(metrics(server), "pgfolio_witness_last_completed_round_timestamp_seconds")
        wait_until(lambda: metric(metrics(server), "pgfolio_witness_rounds_total",
                                  result="failed") >= failed + 2, 20,
                   what="more rounds, each stopped")
        after = metrics(server)
        assert completed_rounds(server) == completed
        assert metric(after, "pgfolio_witness_last_completed_round_timestamp_seconds") == last
        assert metric(after, ALARMS) == 1 and metric(after, ALARMING) == 0
        assert len(round_alarm_lines(server)) == 1
        # A round that stopped is no proof that portfolios went missing: no such alarm.
        assert '"portfolio_id"' not in "".join(
            line for line in server.log_text().splitlines() if "ledger_witness_alarm" in line)

        # Paged rightly again: the rounds complete and the incident is over.
        paging("ordered")
        wait_rounds(server, 1)
        assert "lists the portfolios in order again" in server.log_text()

        # An id that is not a lowercase UUID: a new incident, before anything of the page is
        # judged.
        paging("uppercase")
        wait_until(lambda: len(round_alarm_lines(server)) == 2, 20, what="the second alarm")
        details = round_alarm_lines(server)[1]["details"]
        assert details["reason"] == ("the database listed a portfolio id that is not a "
                                     "lowercase UUID")
        assert details["reportedPortfolio"] == synthetic_id(1).upper()
        assert details["afterPortfolio"] is None and details["rowInPage"] == 1

        # Ids decreasing within a page, whose first row is a portfolio never seen: nothing
        # of the page is signed.
        with cluster_db.cursor() as cursor:
            cursor.execute("""INSERT INTO witness_paging_test.heads
                              VALUES (%s, 1, sha256('new'::bytea), NULL)""", (synthetic_id(101),))
        paging("descending")
        wait_until(lambda: len(round_alarm_lines(server)) == 3, 20, what="the third alarm")
        details = round_alarm_lines(server)[2]["details"]
        assert details["reason"].startswith("the database listed portfolios out of order")
        assert (details["previousPortfolio"], details["reportedPortfolio"]) == (
            synthetic_id(101), synthetic_id(100))
        assert details["rowInPage"] == 2
        failed = metric(metrics(server), "pgfolio_witness_rounds_total", result="failed")
        wait_until(lambda: metric(metrics(server), "pgfolio_witness_rounds_total",
                                  result="failed") >= failed + 2, 20,
                   what="more rounds, each stopped")
        assert file_checkpoints(witness_file, synthetic_id(101)) == []
        assert len(file_checkpoints(witness_file)) == 100
        assert metric(metrics(server), ALARMS) == 3
    finally:
        assert server.stop() == 0


# --- restarts and the file --------------------------------------------------------------------

def test_a_restarted_witness_remembers_and_restores_the_evidence(witness, cluster_db, made):
    victim = owned_portfolio(cluster_db, made, entries=2)
    signed = wait_for_checkpoint(witness.witness_file, victim, 2)
    wait_until(lambda: stored_checkpoints(cluster_db, victim) == [signed], 10,
               what="the checkpoint in the database")
    remembered = len({c["portfolioId"] for c in file_checkpoints(witness.witness_file)})
    assert witness.stop() == 0
    # While it is down, the history is rewritten and the checkpoint removed.
    rebuild_from_genesis(cluster_db, victim, seq=1, amount="7")
    assert stored_checkpoints(cluster_db, victim) == []

    witness.start()
    assert f"{remembered} portfolio(s) remembered from" in witness.log_text()
    audits = wait_until(lambda: witness_audits(cluster_db, victim), 20, what="the alarm")
    assert audits[0]["details"]["witnessedRoot"] == signed["rootHash"]
    # The file's checkpoint went back into the database, where ledger_verify now shows the
    # rewrite too.
    assert stored_checkpoints(cluster_db, victim) == [signed]
    entries, ok, first_bad, problem = ledger_verify(cluster_db, victim)
    assert (ok, problem) == (False, "checkpoint mismatch")


def run_server(settings, outage_cluster, **env):
    """Starts pgfolio-http for a start that must fail; returns (exit status, stderr)."""
    base = {"PATH": "/usr/bin:/bin", "PGFOLIO_DATABASE_URL": outage_cluster.database_url,
            "PGFOLIO_HTTP_ADDRESS": "127.0.0.1", "PGFOLIO_HTTP_PORT": str(free_port()),
            **TEST_SERVER_SECRETS, **env}
    try:
        result = subprocess.run([str(settings.binary)], env=base, capture_output=True,
                                timeout=10, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as error:
        raise AssertionError(f"pgfolio-http started: {error.stderr!r}")
    return result.returncode, result.stderr.decode()


def test_two_witnesses_never_share_a_file(settings, outage_cluster, witness, seed):
    status, message = run_server(settings, outage_cluster,
                                 **witness_env(outage_cluster, witness.witness_file, seed))
    assert status == 2 and "in use by another witness" in message, message


@pytest.mark.parametrize("damage", ["flipped signature", "torn last line", "other key",
                                    "same size, other root"])
def test_a_file_the_witness_cannot_trust_stops_the_start(settings, outage_cluster, witness, seed,
                                                         tmp_path, damage):
    lines = witness.witness_file.read_text().splitlines()
    assert lines, "the module's witness has signed something by now"
    first = json.loads(lines[0])
    if damage == "flipped signature":
        signature = bytearray(bytes.fromhex(first["signature"]))
        signature[5] ^= 1
        lines[0] = json.dumps(dict(first, signature=signature.hex()))
        text, expected = "\n".join(lines) + "\n", "line 1: the signature does not verify"
    elif damage == "torn last line":
        text, expected = "\n".join(lines) + "\n" + lines[0][:40], "does not end in a newline"
    elif damage == "other key":
        text, expected = "\n".join(lines) + "\n", "a new key starts a new file"
        seed = new_seed()
    else:
        # Signed by the right key, but contradicting an earlier line (made with openssl).
        key = public_key_of_seed(seed)
        forged = dict(first, rootHash="00" * 32)
        key_file = tmp_path / "key.pem"
        key_file.write_text(key["private_pem"])
        message = tmp_path / "message"
        message.write_bytes(signed_bytes(forged))
        signature = subprocess.run(["openssl", "pkeyutl", "-sign", "-inkey", str(key_file),
                                    "-rawin", "-in", str(message)], capture_output=True,
                                   check=True).stdout
        forged["signature"] = signature.hex()
        text = "\n".join(lines) + "\n" + json.dumps(forged) + "\n"
        expected = "signs another root for a tree size signed before"
    damaged = tmp_path / "witness.jsonl"
    damaged.write_text(text)
    status, message = run_server(settings, outage_cluster,
                                 **witness_env(outage_cluster, damaged, seed))
    assert status == 2, message
    assert "ledger witness" in message and expected in message, message
    assert seed not in message


@pytest.mark.parametrize("env,variable", [
    ({"PGFOLIO_WITNESS_KEY": "not a key"}, "PGFOLIO_WITNESS_KEY"),
    ({"PGFOLIO_WITNESS_KEY": "ab" * 31}, "PGFOLIO_WITNESS_KEY"),
    ({"PGFOLIO_WITNESS_KEY_FILE": "/nonexistent/witness.pem"}, "PGFOLIO_WITNESS_KEY_FILE"),
    ({"PGFOLIO_WITNESS_KEY": "ab" * 32, "PGFOLIO_WITNESS_KEY_FILE": "/etc/hostname"},
     "PGFOLIO_WITNESS_KEY_FILE"),
    ({"PGFOLIO_WITNESS_KEY": "ab" * 32, "PGFOLIO_WITNESS_PUBLIC_KEY": "cd" * 32},
     "PGFOLIO_WITNESS_PUBLIC_KEY"),
    ({"PGFOLIO_WITNESS_PUBLIC_KEY": "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----"},
     "PGFOLIO_WITNESS_PUBLIC_KEY"),
    ({"PGFOLIO_WITNESS_DATABASE_URL": "postgresql://w@127.0.0.1:1/pgfolio",
      "PGFOLIO_WITNESS_FILE": "/tmp/w.jsonl"}, "PGFOLIO_WITNESS_DATABASE_URL"),
    ({"PGFOLIO_WITNESS_KEY": "ab" * 32,
      "PGFOLIO_WITNESS_DATABASE_URL": "postgresql://w@127.0.0.1:1/pgfolio"},
     "PGFOLIO_WITNESS_FILE"),
    ({"PGFOLIO_WITNESS_FILE": "/tmp/w.jsonl"}, "PGFOLIO_WITNESS_FILE"),
    ({"PGFOLIO_WITNESS_KEY": "ab" * 32, "PGFOLIO_WITNESS_DATABASE_URL": "postgresql://[oops",
      "PGFOLIO_WITNESS_FILE": "/tmp/w.jsonl"}, "PGFOLIO_WITNESS_DATABASE_URL"),
    ({"PGFOLIO_WITNESS_INTERVAL_SECONDS": "0"}, "PGFOLIO_WITNESS_INTERVAL_SECONDS"),
    ({"PGFOLIO_WITNESS_INTERVAL_SECONDS": "1m"}, "PGFOLIO_WITNESS_INTERVAL_SECONDS"),
])
def test_bad_witness_configuration_exits_naming_the_variable(settings, outage_cluster, env,
                                                             variable):
    status, message = run_server(settings, outage_cluster, **env)
    assert status == 2, message
    assert "invalid configuration" in message and variable in message, message
    key = env.get("PGFOLIO_WITNESS_KEY")
    if key and key != "ab" * 32:
        assert key not in message  # a private key, even a bad one, is never printed


def test_a_key_file_in_either_form_is_read(settings, outage_cluster, tmp_path):
    seed = new_seed()
    key = public_key_of_seed(seed)
    for name, text in (("seed.hex", seed + "\n"), ("key.pem", key["private_pem"])):
        key_file = tmp_path / name
        key_file.write_text(text)
        server = ServerProcess(settings.binary, free_port(), outage_cluster.database_url,
                               tmp_path / f"{name}.log", {"PGFOLIO_WITNESS_KEY_FILE": str(key_file)})
        try:
            server.wait_ready()
            assert server.client.get("/api/v1/ledger/public-key").json()["keyId"] == key["keyId"]
        finally:
            assert server.stop() == 0


def test_an_unreachable_database_is_no_alarm(settings, outage_cluster, tmp_path):
    env = witness_env(outage_cluster, tmp_path / "witness.jsonl", new_seed())
    env["PGFOLIO_WITNESS_DATABASE_URL"] = f"postgresql://pgfolio_witness_login@127.0.0.1:{free_port()}/pgfolio"
    server = ServerProcess(settings.binary, free_port(), outage_cluster.database_url,
                           tmp_path / "pgfolio-http.log", env)
    try:
        server.wait_ready()
        wait_until(lambda: metric(metrics(server), "pgfolio_witness_rounds_total",
                                  result="failed") >= 1, 15, what="a failed round")
        assert metric(metrics(server), ALARMS) == 0
        assert completed_rounds(server) == 0
        assert "database unreachable" in server.log_text()
        assert '"level":"error"' not in server.log_text()
    finally:
        assert server.stop(signal.SIGTERM) == 0


def test_a_role_without_the_witness_grants_fails_its_rounds_without_alarm(settings, outage_cluster,
                                                                          tmp_path):
    # pgfolio_http (pgfolio_api) may not call the witness's functions: every round fails with
    # an error line, and nothing is signed or alarmed.
    env = witness_env(outage_cluster, tmp_path / "witness.jsonl", new_seed())
    env["PGFOLIO_WITNESS_DATABASE_URL"] = outage_cluster.database_url
    server = ServerProcess(settings.binary, free_port(), outage_cluster.database_url,
                           tmp_path / "pgfolio-http.log", env)
    try:
        server.wait_ready()
        wait_until(lambda: metric(metrics(server), "pgfolio_witness_rounds_total",
                                  result="failed") >= 1, 15, what="a failed round")
        failures = [json.loads(line) for line in server.log_text().splitlines()
                    if '"ledger_witness_round_failed"' in line]
        assert failures and failures[0]["level"] == "error", server.log_text()[-2000:]
        assert "permission denied" in failures[0]["message"]
        assert metric(metrics(server), ALARMS) == 0 and metric(metrics(server), SIGNED) == 0
        assert (tmp_path / "witness.jsonl").read_text() == ""
    finally:
        assert server.stop() == 0

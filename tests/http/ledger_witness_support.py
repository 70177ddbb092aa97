"""Helpers of the ledger tests (test_ledger_witness.py, test_ledger_verify_cli.py,
test_ledger_history.py): witness servers of the tests' own on the outage cluster, portfolios
with ledger entries made as the superuser (the suite's one `append`), the tampering a
database owner could do (with triggers off), and checks made independently of pgfolio's C++:
signed bytes by Python's json (which is RFC 8785 for the checkpoint's ASCII strings and small
integers) and Ed25519 by the openssl command."""

import base64
import hashlib
import json
import os
import subprocess
import tempfile
import uuid
from pathlib import Path
from typing import Dict, List, Optional

import pytest

import support


def new_seed() -> str:
    """A fresh witness key: the 32-byte Ed25519 seed as 64 hex digits."""
    return os.urandom(32).hex()


def witness_env(cluster, witness_file: Path, seed: Optional[str], interval: int = 1) -> dict:
    env = {"PGFOLIO_WITNESS_DATABASE_URL":
           f"postgresql://pgfolio_witness_login@127.0.0.1:{cluster.port}/pgfolio",
           "PGFOLIO_WITNESS_FILE": str(witness_file),
           "PGFOLIO_WITNESS_INTERVAL_SECONDS": str(interval)}
    if seed is not None:
        env["PGFOLIO_WITNESS_KEY"] = seed
    return env


def start_witness_server(settings, cluster, directory: Path, seed: str,
                         witness_file: Optional[Path] = None, **extra) -> support.ServerProcess:
    directory.mkdir(parents=True, exist_ok=True)
    witness_file = witness_file or directory / "witness.jsonl"
    server = support.ServerProcess(settings.binary, support.free_port(), cluster.database_url,
                                   directory / "pgfolio-http.log",
                                   {**witness_env(cluster, witness_file, seed), **extra})
    server.wait_ready()
    server.witness_file = witness_file
    return server


class Witness:
    """A witnessing pgfolio-http that can be stopped and started again on the same file and
    key; quacks like the ServerProcess it runs (client, log_text) for the helpers here."""

    def __init__(self, settings, cluster, directory: Path, seed: str):
        self.settings, self.cluster, self.directory, self.seed = settings, cluster, directory, seed
        self.witness_file = directory / "witness.jsonl"
        self.runs = 0
        self.server = None
        self.start()

    def start(self):
        self.runs += 1
        self.server = start_witness_server(self.settings, self.cluster,
                                           self.directory / f"run-{self.runs}", self.seed,
                                           self.witness_file)

    def stop(self) -> int:
        return self.server.stop()

    @property
    def client(self):
        return self.server.client

    def log_text(self) -> str:
        return self.server.log_text()


def metrics(server) -> dict:
    return support.parse_metrics(server.client.get("/metrics").body.decode())


def completed_rounds(server) -> float:
    return support.metric(metrics(server), "pgfolio_witness_rounds_total", result="completed")


def wait_rounds(server, rounds: int = 2, timeout: float = 20):
    """Returns once the witness has finished `rounds` more whole rounds: whatever it was to
    see of the database as it is now, it has seen."""
    target = completed_rounds(server) + rounds
    support.wait_until(lambda: completed_rounds(server) >= target, timeout, interval=0.1,
                       what=f"{rounds} more witness rounds")


def file_checkpoints(path: Path, portfolio_id: Optional[str] = None) -> List[dict]:
    if not path.exists():
        return []
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    return [line for line in lines if portfolio_id is None or line["portfolioId"] == portfolio_id]


def wait_for_checkpoint(path: Path, portfolio_id: str, tree_size: int, timeout: float = 20) -> dict:
    def found():
        for checkpoint in file_checkpoints(path, portfolio_id):
            if checkpoint["treeSize"] == tree_size:
                return checkpoint
        return None
    return support.wait_until(found, timeout, interval=0.1,
                              what=f"a checkpoint of {portfolio_id} at size {tree_size}")


# --- portfolios and their ledgers, as the superuser -------------------------------------

def new_user(db) -> str:
    user_id = str(uuid.uuid4())
    with db.cursor() as cursor:
        cursor.execute("INSERT INTO pgfolio.users (id, email, display_name) VALUES (%s, %s, %s)",
                       (user_id, f"witness-{user_id[:8]}@witness.test.example", "Witness Test"))
    return user_id


def new_portfolio(db, owner_id: str, default: bool = False) -> str:
    portfolio_id = str(uuid.uuid4())
    with db.cursor() as cursor:
        cursor.execute("""INSERT INTO pgfolio.portfolios (id, owner_id, name, is_default)
                          VALUES (%s, %s, 'Witnessed', %s)""", (portfolio_id, owner_id, default))
    return portfolio_id


def append(db, portfolio_id: str, count: int = 1, entry_type: str = "ADD_FUNDS",
           message: Optional[str] = "Added {n}", amount: str = "{n}.50", **columns) -> List[str]:
    """Appends `count` entries to the portfolio with pgfolio.ledger_append, as the superuser,
    in one statement: they commit together, so a witness sees all of them or none and never
    signs a size in between. "{n}" in `message` and `amount` is the entry's number (1 to
    `count`); other ledger_append arguments go by name (asset_id="HT-ALPHA"). Returns the new
    entries' ids in seq order."""
    extra = "".join(f", {name} => %({name})s" for name in columns)
    with db.cursor() as cursor:
        cursor.execute(
            f"""SELECT (pgfolio.ledger_append(
                          %(p)s, %(type)s, pgfolio.ledger_snapshot(%(p)s),
                          pgfolio.ledger_snapshot(%(p)s),
                          amount => replace(%(amount)s, '{{n}}', g::text)::numeric,
                          message => replace(%(message)s, '{{n}}', g::text){extra})).id
                FROM generate_series(1, %(count)s) g ORDER BY g""",
            dict(columns, p=portfolio_id, type=entry_type, amount=amount, message=message,
                 count=count))
        return [str(row[0]) for row in cursor.fetchall()]


def tree_head(db, portfolio_id: str, size: Optional[int] = None):
    with db.cursor() as cursor:
        cursor.execute("SELECT tree_size, encode(root_hash, 'hex') FROM pgfolio.ledger_tree_head(%s, %s)",
                       (portfolio_id, size))
        return cursor.fetchone()


def ledger_verify(db, portfolio_id: str):
    with db.cursor() as cursor:
        cursor.execute("""SELECT entries_checked, ok, first_bad_seq, problem
                          FROM pgfolio.ledger_verify(%s)""", (portfolio_id,))
        return cursor.fetchone()


def rebuild_from_genesis(db, portfolio_id: str, seq: int, amount: str,
                         drop_checkpoints: bool = True):
    """What whoever controls the database can do: with the append-only triggers off, change
    entry `seq`'s amount and recompute every hash and link from the first entry on, so that
    the chain verifies again; and delete the stored checkpoints that would give it away."""
    with db.cursor() as cursor:
        cursor.execute("""
          BEGIN;
          SET LOCAL session_replication_role = replica;
          DO $$
          DECLARE
            r pgfolio.ledger;
            prev bytea := decode(repeat('00', 32), 'hex');
          BEGIN
            FOR r IN SELECT * FROM pgfolio.ledger WHERE portfolio_id = %(p)s ORDER BY seq LOOP
              IF r.seq = %(seq)s THEN r.amount := %(amount)s::numeric; END IF;
              r.prev_hash := prev;
              r.entry_hash := pgfolio.ledger_entry_hash(r);
              UPDATE pgfolio.ledger SET amount = r.amount, prev_hash = r.prev_hash,
                                        entry_hash = r.entry_hash
              WHERE id = r.id;
              prev := r.entry_hash;
            END LOOP;
          END $$;
          DELETE FROM pgfolio.ledger_checkpoints WHERE portfolio_id = %(p)s AND %(drop)s;
          COMMIT;""", {"p": portfolio_id, "seq": seq, "amount": amount, "drop": drop_checkpoints})


def saved_rows(db, portfolio_id: str) -> list:
    with db.cursor() as cursor:
        cursor.execute("""SELECT id, amount, prev_hash, entry_hash FROM pgfolio.ledger
                          WHERE portfolio_id = %s ORDER BY seq""", (portfolio_id,))
        return cursor.fetchall()


def restore_rows(db, rows: list):
    """Puts saved (id, amount, prev_hash, entry_hash) back, as a restore from backup would."""
    with db.cursor() as cursor:
        cursor.execute("BEGIN; SET LOCAL session_replication_role = replica;")
        for row_id, amount, prev_hash, entry_hash in rows:
            cursor.execute("""UPDATE pgfolio.ledger SET amount = %s, prev_hash = %s,
                                                     entry_hash = %s WHERE id = %s""",
                           (amount, prev_hash, entry_hash, row_id))
        cursor.execute("COMMIT")


def delete_entries(db, portfolio_id: str, condition: str):
    """Deletes entries of the portfolio (triggers off); condition is SQL over seq."""
    with db.cursor() as cursor:
        cursor.execute(f"""BEGIN; SET LOCAL session_replication_role = replica;
                           DELETE FROM pgfolio.action_log WHERE ledger_id IN (
                             SELECT id FROM pgfolio.ledger WHERE portfolio_id = %(p)s AND ({condition}));
                           DELETE FROM pgfolio.ledger WHERE portfolio_id = %(p)s AND ({condition});
                           COMMIT;""", {"p": portfolio_id})


def remove_portfolios(db, portfolio_ids: List[str]):
    """Takes the tests' portfolios out of the outage cluster again, so that a later witness
    there (with a memory of its own) is not shown them."""
    if not portfolio_ids:
        return
    with db.cursor() as cursor:
        cursor.execute("""BEGIN; SET LOCAL session_replication_role = replica;
                          DELETE FROM pgfolio.action_log WHERE portfolio_id = ANY(%(p)s::uuid[]);
                          DELETE FROM pgfolio.ledger WHERE portfolio_id = ANY(%(p)s::uuid[]);
                          DELETE FROM pgfolio.ledger_checkpoints WHERE portfolio_id = ANY(%(p)s::uuid[]);
                          DELETE FROM pgfolio.portfolios WHERE id = ANY(%(p)s::uuid[]);
                          COMMIT;""", {"p": portfolio_ids})


def witness_audits(db, portfolio_id: str) -> List[dict]:
    with db.cursor() as cursor:
        cursor.execute("""SELECT actor_id, resource_type, details FROM pgfolio.audit_logs
                          WHERE action = 'ledger.witness_alarm' AND resource_id = %s
                          ORDER BY id""", (portfolio_id,))
        return [{"actor_id": actor, "resource_type": kind, "details": details}
                for actor, kind, details in cursor.fetchall()]


def stored_checkpoints(db, portfolio_id: str) -> List[dict]:
    with db.cursor() as cursor:
        cursor.execute("""SELECT pgfolio.ledger_checkpoint_json(c) FROM pgfolio.ledger_checkpoints c
                          WHERE portfolio_id = %s ORDER BY tree_size""", (portfolio_id,))
        return [row[0] for row in cursor.fetchall()]


def export_lines(db, portfolio_id: str) -> List[str]:
    with db.cursor() as cursor:
        cursor.execute("""SELECT pgfolio.ledger_export_line(l) FROM pgfolio.ledger l
                          WHERE portfolio_id = %s ORDER BY seq""", (portfolio_id,))
        return [row[0] for row in cursor.fetchall()]


# --- independent checks ------------------------------------------------------------------

SIGNED_MEMBERS = ("format", "portfolioId", "rootHash", "signedAt", "treeSize")


def signed_bytes(checkpoint: dict) -> bytes:
    """docs/ledger-format.md §3.2: the JCS of the five signed members. For these (ASCII
    strings and an integer below 2^53) JCS is sorted keys and no whitespace."""
    signed = {name: checkpoint[name] for name in SIGNED_MEMBERS}
    return json.dumps(signed, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def openssl_verifies(public_pem: str, message: bytes, signature: bytes) -> bool:
    """Ed25519 verification by the openssl command (pure Ed25519 needs -rawin)."""
    with tempfile.TemporaryDirectory() as directory:
        paths = {name: Path(directory) / name for name in ("key.pem", "message", "signature")}
        paths["key.pem"].write_text(public_pem)
        paths["message"].write_bytes(message)
        paths["signature"].write_bytes(signature)
        result = subprocess.run(["openssl", "pkeyutl", "-verify", "-pubin", "-inkey",
                                 str(paths["key.pem"]), "-rawin", "-in", str(paths["message"]),
                                 "-sigfile", str(paths["signature"])],
                                capture_output=True, timeout=10)
        return result.returncode == 0


def raw_public_key_of_pem(pem: str) -> bytes:
    """The 32 key bytes of an Ed25519 SubjectPublicKeyInfo (RFC 8410: a fixed 12-byte prefix)."""
    body = "".join(line for line in pem.strip().splitlines() if not line.startswith("-----"))
    der = base64.b64decode(body)
    assert der[:12] == bytes.fromhex("302a300506032b6570032100"), der.hex()
    return der[12:]


def check_public_key_answer(answer: dict) -> bytes:
    """Checks GET /api/v1/ledger/public-key's body and returns the raw key."""
    assert set(answer) == {"algorithm", "keyId", "publicKey", "pem"}, answer
    assert answer["algorithm"] == "Ed25519"
    raw = bytes.fromhex(answer["publicKey"])
    assert len(raw) == 32 and answer["publicKey"] == raw.hex()
    assert answer["keyId"] == hashlib.sha256(raw).hexdigest()
    assert raw_public_key_of_pem(answer["pem"]) == raw
    return raw


def public_key_of_seed(seed_hex: str) -> Dict[str, str]:
    """The public key of a seed, by the openssl command: {"pem", "hex", "keyId"}."""
    # PKCS#8 of an Ed25519 seed (RFC 8410): a fixed 16-byte prefix, then the seed.
    der = bytes.fromhex("302e020100300506032b657004220420") + bytes.fromhex(seed_hex)
    private_pem = ("-----BEGIN PRIVATE KEY-----\n" + base64.b64encode(der).decode() +
                   "\n-----END PRIVATE KEY-----\n")
    result = subprocess.run(["openssl", "pkey", "-pubout"], input=private_pem.encode(),
                            capture_output=True, timeout=10, check=True)
    pem = result.stdout.decode()
    raw = raw_public_key_of_pem(pem)
    return {"pem": pem, "hex": raw.hex(), "keyId": hashlib.sha256(raw).hexdigest(),
            "private_pem": private_pem}


# Fixtures of the suites that run a witness on the outage cluster (test_ledger_witness.py,
# test_ledger_verify_cli.py), which import them by name.
@pytest.fixture(scope="module")
def cluster_db(outage_cluster):
    connection = outage_cluster.connect()
    yield connection
    connection.close()


@pytest.fixture(scope="module")
def made(cluster_db):
    """Portfolios the tests create; removed at the end."""
    portfolios = []
    yield portfolios
    remove_portfolios(cluster_db, portfolios)

"""pgfolio-verify (docs/verify.md) on what a client really gets: the JSON Lines export of a
portfolio's ledger, the checkpoints the witness signed (from GET /ledger/checkpoints/latest
and from the witness's file) and the key from GET /ledger/public-key. It exits 0 on the good
export, and 1 naming the entry on a changed amount, a deleted line, or a history rebuilt
from genesis (which verifies on its own) checked against a checkpoint signed before.

The export is GET /history/export?format=jsonl of the owner (checked to be
pgfolio.ledger_export_line's lines). Runs against a witnessing server of its own on the
outage cluster (the rebuild must not touch the main database); its portfolios are removed at
the end."""

import json
import subprocess

import pytest

import accounts
from accounts import bearer
# cluster_db and made are fixtures, imported so that pytest finds them here.
from ledger_witness_support import cluster_db, made  # noqa: F401
from ledger_witness_support import (Witness, append, export_lines, file_checkpoints,
                                    new_portfolio, new_seed, public_key_of_seed,
                                    rebuild_from_genesis, wait_for_checkpoint)
from support import wait_until


@pytest.fixture(scope="module")
def witness(settings, outage_cluster, tmp_path_factory, made):
    witness = Witness(settings, outage_cluster, tmp_path_factory.mktemp("verify-witness"),
                      new_seed())
    try:
        yield witness
    finally:
        assert witness.stop() == 0, witness.log_text()[-3000:]


@pytest.fixture(scope="module")
def signed(witness, cluster_db, made, tmp_path_factory):
    """A portfolio of 5 entries signed at sizes 3 and 5, with its owner's token, and the
    witness's public key in a file (PEM) as the API publishes it."""
    person = accounts.register(witness.client)
    portfolio_id = new_portfolio(cluster_db, person["user"]["id"], default=True)
    made.append(portfolio_id)
    append(cluster_db, portfolio_id, 3, amount="250.75")
    wait_for_checkpoint(witness.witness_file, portfolio_id, 3)
    append(cluster_db, portfolio_id, 2, amount="0.000001")
    wait_for_checkpoint(witness.witness_file, portfolio_id, 5)
    directory = tmp_path_factory.mktemp("verify")
    key = witness.client.get("/api/v1/ledger/public-key").json()
    (directory / "key.pem").write_text(key["pem"])
    (directory / "key.hex").write_text(key["publicKey"] + "\n")
    token = person["accessToken"]
    latest = wait_until(
        lambda: (lambda r: r.status == 200 and r.json()["treeSize"] == 5 and r.json())(
            witness.client.get("/api/v1/ledger/checkpoints/latest", bearer(token))),
        10, what="the latest checkpoint served")
    (directory / "latest.json").write_text(json.dumps(latest))
    with open(directory / "witness-lines.jsonl", "w") as lines:
        for checkpoint in file_checkpoints(witness.witness_file, portfolio_id):
            lines.write(json.dumps(checkpoint) + "\n")
    return {"portfolio": portfolio_id, "dir": directory, "token": token,
            "lines": api_export(witness, token, portfolio_id)}


def api_export(witness, token, portfolio_id):
    """The owner's JSON Lines export of one portfolio, as a client downloads it."""
    response = witness.client.get(
        f"/api/v1/history/export?format=jsonl&portfolioId={portfolio_id}", bearer(token))
    assert response.status == 200, response.body[:300]
    return response.body.decode().splitlines()


def verify(settings, export_lines_, directory, key="key.pem", checkpoint="latest.json", *extra):
    """Runs pgfolio-verify; `checkpoint` is a file name in `directory`, a list of them, or
    None for no --checkpoint at all."""
    export = directory / "export.jsonl"
    export.write_text("".join(line + "\n" for line in export_lines_))
    checkpoints = [] if checkpoint is None else [checkpoint] if isinstance(checkpoint, str) \
        else checkpoint
    command = [str(settings.root / "build" / "pgfolio-verify"), "--export", str(export),
               "--public-key", str(directory / key)]
    for name in checkpoints:
        command += ["--checkpoint", str(directory / name)]
    result = subprocess.run(command + list(extra), capture_output=True, timeout=30)
    return result.returncode, result.stdout.decode() + result.stderr.decode()


def test_the_export_is_what_the_database_holds(signed, cluster_db):
    assert signed["lines"] == export_lines(cluster_db, signed["portfolio"])
    assert [json.loads(line)["seq"] for line in signed["lines"]] == [1, 2, 3, 4, 5]


def test_the_good_export_verifies(settings, signed):
    status, output = verify(settings, signed["lines"], signed["dir"])
    assert status == 0, output
    assert f"ok {signed['portfolio']} 5 entries, checkpoint size 5" in output
    # Both checkpoints from the witness's file (the first older than the export's end), and
    # the key as hex digits.
    status, output = verify(settings, signed["lines"], signed["dir"], key="key.hex",
                            checkpoint="witness-lines.jsonl")
    assert status == 0, output
    assert "2 of 2 checkpoints verified" in output


def test_a_changed_amount_is_named(settings, signed):
    lines = list(signed["lines"])
    entry = json.loads(lines[2])
    assert entry["seq"] == 3
    entry["amount"] = "250.76"  # the entry's hash left as it was
    lines[2] = json.dumps(entry)
    status, output = verify(settings, lines, signed["dir"])
    assert status == 1, output
    assert f"FAILED {signed['portfolio']} seq 3: hash mismatch" in output


def test_a_deleted_line_is_named(settings, signed):
    lines = signed["lines"][:3] + signed["lines"][4:]
    status, output = verify(settings, lines, signed["dir"])
    assert status == 1, output
    assert f"FAILED {signed['portfolio']} seq 4: gap" in output


def test_checkpoints_under_another_key_fail(settings, signed):
    other = public_key_of_seed(new_seed())
    (signed["dir"] / "other.hex").write_text(other["hex"])
    status, output = verify(settings, signed["lines"], signed["dir"], key="other.hex")
    assert status == 1, output
    # Named as such (not a bad signature: the checkpoint is fine, the key is not the
    # witness's), with both key ids, so the user can tell which key to fetch.
    witness_key_id = json.loads((signed["dir"] / "latest.json").read_text())["keyId"]
    assert (f"FAILED {signed['portfolio']} checkpoint treeSize 5: signed by another key "
            f"(keyId {witness_key_id}, key given {other['keyId']})") in output, output
    assert "0 of 1 checkpoints verified, 1 failed" in output


def test_a_portfolio_without_a_checkpoint_fails_unless_allowed(settings, signed, witness,
                                                               cluster_db, made):
    # The owner's second portfolio: the whole-user export holds both, while the latest
    # checkpoint without portfolioId is the default portfolio's only.
    with cluster_db.cursor() as cursor:
        cursor.execute("SELECT owner_id::text FROM pgfolio.portfolios WHERE id = %s",
                       (signed["portfolio"],))
        owner = cursor.fetchone()[0]
    second = new_portfolio(cluster_db, owner)
    made.append(second)
    append(cluster_db, second, 2, amount="3.5")
    wait_for_checkpoint(witness.witness_file, second, 2)
    response = witness.client.get("/api/v1/history/export?format=jsonl", bearer(signed["token"]))
    assert response.status == 200, response.body[:300]
    everything = response.body.decode().splitlines()
    assert {json.loads(line)["portfolioId"] for line in everything} == {signed["portfolio"],
                                                                         second}

    # The documented workflow with the default portfolio's checkpoint alone: the second
    # portfolio's chain holds, but nothing anchors it.
    status, output = verify(settings, everything, signed["dir"])
    assert status == 1, output
    assert f"ok {signed['portfolio']} 5 entries, checkpoint size 5" in output
    assert f"FAILED {second}: no checkpoint (its chain of 2 entries is consistent" in output
    assert "1 portfolio with no checkpoint" in output and "--allow-unanchored" in output

    # Opted out: the chain alone is accepted, and said to be unanchored.
    status, output = verify(settings, everything, signed["dir"], "key.pem", "latest.json",
                            "--allow-unanchored")
    assert status == 0, output
    assert f"ok {second} 2 entries, no checkpoint" in output
    assert "1 portfolio with no checkpoint, so nothing proves its chain was not rebuilt" in output

    # With the second portfolio's own checkpoint, both are anchored.
    # (The file is written before the database: wait for the checkpoint to be served.)
    latest = wait_until(
        lambda: (lambda r: r.status == 200 and r)(witness.client.get(
            f"/api/v1/ledger/checkpoints/latest?portfolioId={second}", bearer(signed["token"]))),
        10, what="the second portfolio's checkpoint served")
    (signed["dir"] / "second.json").write_text(latest.body.decode())
    status, output = verify(settings, everything, signed["dir"], "key.pem",
                            ["latest.json", "second.json"])
    assert status == 0, output
    assert f"ok {second} 2 entries, checkpoint size 2" in output
    assert "no checkpoint" not in output

    # No checkpoint at all: every portfolio fails, unless chain-only checking is asked for.
    status, output = verify(settings, everything, signed["dir"], "key.pem", None)
    assert status == 1, output
    assert output.count(": no checkpoint (") == 2, output
    assert "no checkpoint given, so nothing proves the chains were not rebuilt" in output
    status, output = verify(settings, everything, signed["dir"], "key.pem", None,
                            "--allow-unanchored")
    assert status == 0, output
    assert "FAILED" not in output


def test_a_history_rebuilt_from_genesis_fails_against_the_old_checkpoint(settings, signed,
                                                                         cluster_db, witness):
    rebuild_from_genesis(cluster_db, signed["portfolio"], seq=4, amount="1")
    rebuilt = api_export(witness, signed["token"], signed["portfolio"])
    assert rebuilt != signed["lines"]
    # The rebuilt chain is consistent in itself: its entries' hashes and links all hold...
    status, output = verify(settings, rebuilt, signed["dir"])
    assert status == 1, output
    assert "hash mismatch" not in output and "link mismatch" not in output
    # ...but its root at size 5 is not the one the witness signed.
    assert f"FAILED {signed['portfolio']} checkpoint treeSize 5: checkpoint mismatch" in output
    # The checkpoint of size 3 still holds: the rewrite is after entry 3.
    status, output = verify(settings, rebuilt, signed["dir"], checkpoint="witness-lines.jsonl")
    assert status == 1, output
    assert "1 of 2 checkpoints verified" in output, output

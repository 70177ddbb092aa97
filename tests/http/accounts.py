"""Helpers of the accounts tests: people made through the API, tokens built by hand (RFC 7519
over hmac, to present every kind of bad token), TOTP codes (RFC 6238, computed here
independently of the server's code), and the development outbox file the server's sender
writes. Standard library only."""

import base64
import hashlib
import hmac
import json
import os
import struct
import time
import uuid
from pathlib import Path
from typing import Dict, List, Optional

import support

API = "/api/v1"
JSON = {"Content-Type": "application/json"}
PASSWORD = "correct horse battery staple"


def unique_email(prefix: str = "user") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}@accounts.test.example"


def unique_phone() -> str:
    # +99 is no country's code; 12 digits in all, random enough for one run.
    return "+99" + str(uuid.uuid4().int)[:10]


def post(client, path: str, body, headers: Optional[Dict[str, str]] = None):
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return client.request("POST", API + path, dict(JSON, **(headers or {})), data)


def bearer(token: str) -> Dict[str, str]:
    return {"Authorization": "Bearer " + token}


def register(client, email: Optional[str] = None, password: str = PASSWORD,
             display_name: str = "Test Person") -> dict:
    """A new account; returns the tokens answer with the email and password added."""
    email = email or unique_email()
    response = post(client, "/auth/register",
                    {"email": email, "password": password, "displayName": display_name})
    assert response.status == 201, response.body[:300]
    answer = response.json()
    answer["email"], answer["password"] = email, password
    return answer


def login(client, email: str, password: str = PASSWORD):
    return post(client, "/auth/login", {"email": email, "password": password})


def set_role(db, user_id: str, role: str):
    """Promotes (or demotes) an account directly in the database, as an operator would."""
    with db.cursor() as cursor:
        cursor.execute("UPDATE pgfolio.users SET role = %s WHERE id = %s", (role, user_id))
        assert cursor.rowcount == 1


def admin(client, db) -> dict:
    """A fresh administrator: registered, promoted, logged in again for a token that says so."""
    person = register(client)
    set_role(db, person["user"]["id"], "admin")
    answer = login(client, person["email"]).json()
    assert answer["user"]["role"] == "admin"
    answer["email"] = person["email"]
    return answer


# --- tokens -------------------------------------------------------------------------------

def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def jwt_claims(token: str) -> dict:
    return json.loads(b64url_decode(token.split(".")[1]))


def make_jwt(claims: dict, key: bytes, alg: str = "HS512", header: Optional[dict] = None) -> str:
    """A compact JWS signed with HMAC (alg HS256/HS512), or unsigned for alg none."""
    head = header if header is not None else {"alg": alg, "typ": "JWT"}
    signing_input = (b64url(json.dumps(head, separators=(",", ":")).encode()) + "." +
                     b64url(json.dumps(claims, separators=(",", ":")).encode()))
    if alg == "none":
        return signing_input + "."
    digest = {"HS256": hashlib.sha256, "HS512": hashlib.sha512}[alg]
    return signing_input + "." + b64url(hmac.new(key, signing_input.encode(), digest).digest())


def server_jwt_settings(settings) -> dict:
    """The main server's JWT secret, issuer and audience: from the environment when it sets
    them, else the development secret scripts/lib.sh generated beside the data directory."""
    values = {}
    secrets_file = Path(f"{settings.data}.secrets")
    if secrets_file.exists():
        for line in secrets_file.read_text().splitlines():
            name, _, value = line.partition("=")
            values[name] = value
    values.update({k: v for k, v in os.environ.items() if k.startswith("PGFOLIO_JWT_")})
    return {"secret": values["PGFOLIO_JWT_SECRET"].encode(),
            "issuer": values.get("PGFOLIO_JWT_ISSUER", "pgfolio"),
            "audience": values.get("PGFOLIO_JWT_AUDIENCE", "pgfolio-api")}


# --- TOTP (RFC 6238 with HMAC-SHA-1, 6 digits, 30 s steps) ------------------------------------

def totp(secret_base32: str, at: Optional[float] = None, step_offset: int = 0) -> str:
    secret = base64.b32decode(secret_base32 + "=" * (-len(secret_base32) % 8))
    counter = int((time.time() if at is None else at) // 30) + step_offset
    mac = hmac.new(secret, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    value = (struct.unpack(">I", mac[offset:offset + 4])[0] & 0x7FFFFFFF) % 10 ** 6
    return f"{value:06d}"


def wrong_totp(secret_base32: str) -> str:
    """A code that matches none of the accepted steps (now, one before, one after)."""
    accepted = {totp(secret_base32, step_offset=k) for k in (-2, -1, 0, 1, 2)}
    return next(code for code in (f"{n:06d}" for n in range(0, 10 ** 6, 7919))
                if code not in accepted)


# --- the development outbox ---------------------------------------------------------------

class Outbox:
    """The file the development sender appends one JSON line per message to. A test notes the
    end of the file before it acts and reads only what came after."""

    def __init__(self, path: Path):
        self.path = path

    def mark(self) -> int:
        return self.path.stat().st_size if self.path.exists() else 0

    def messages_since(self, mark: int) -> List[dict]:
        if not self.path.exists():
            return []
        with open(self.path, "rb") as stream:
            stream.seek(mark)
            return [json.loads(line) for line in stream.read().splitlines() if line.strip()]

    def wait_for(self, mark: int, recipient: str, template: str, timeout: float = 10) -> dict:
        def found():
            for message in self.messages_since(mark):
                if message["recipient"] == recipient and message["template"] == template:
                    return message
            return None
        return support.wait_until(found, timeout, interval=0.05,
                                  what=f"a {template} message to {recipient} in {self.path}")


def outbox_path(settings) -> Path:
    return Path(os.environ.get("PGFOLIO_OUTBOX_FILE") or f"{settings.data}.outbox.jsonl")

"""Password hashing (argon2id, through argon2-cffi) and the random secrets of sessions and keys.

Passwords are low-entropy and chosen by people, so they are stored with a slow, salted,
memory-hard hash (argon2id with the library's current recommended parameters). A stored hash
made with weaker parameters is upgraded at the next successful login (``needs_rehash``).

Session tokens and API key secrets are different: they are 256 random bits made here, so nobody
can guess them and a slow hash adds nothing but latency on every request. They are stored as
their SHA-256: the database alone (a backup, a read replica) gives nothing that can be presented
back, and a lookup stays one indexed read.

An API key is presented as ``rk_<id>_<secret>`` (``recoup.domain.identity.key_token``): the
id (hex) finds the row, the secret is compared in constant time with the stored digest.
"""

from __future__ import annotations

import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError


class Argon2Credentials:
    """The :class:`recoup.domain.identity.Credentials` of a real deployment."""

    def __init__(self, hasher: PasswordHasher | None = None) -> None:
        self._hasher = hasher or PasswordHasher()

    def hash_password(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify_password(self, stored: str, password: str) -> bool:
        try:
            return self._hasher.verify(stored, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, stored: str) -> bool:
        try:
            return self._hasher.check_needs_rehash(stored)
        except InvalidHashError:
            return True

    def new_secret(self) -> str:
        return secrets.token_urlsafe(32)

    def new_key_id(self) -> str:
        return secrets.token_hex(6)

    def digest(self, secret: str) -> str:
        # SHA-256 is enough here and only here: the input is a 256-bit random secret, not a
        # password, so there is nothing to brute-force and no dictionary to precompute.
        return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def fast_credentials() -> Argon2Credentials:
    """Argon2id with minimal cost: for tests only, where hundreds of hashes would otherwise
    take seconds. Never use it for stored passwords."""
    return Argon2Credentials(PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))

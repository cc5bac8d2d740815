"""Password hashing with argon2id at OWASP's recommended minimum cost."""

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# OWASP Password Storage Cheat Sheet: argon2id, 19 MiB, 2 iterations, 1 lane.
hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)

# Verified when a login names an unknown account, so that answering takes as
# long as a wrong password for a real one (no user enumeration by timing). A
# constant, because hashing it at import cost every worker's boot 19 MiB and
# tens of milliseconds; its parameters must stay those of ``hasher`` (a test
# checks), or unknown names would answer at a different speed.
DUMMY_HASH = (
    "$argon2id$v=19$m=19456,t=2,p=1$kTVsLnFc9btGcQ/hmZc1zA"
    "$SHIDMjeUZTGJuZWMn91ifoAMINxVxic3EDDxL5wKOxg"
)


def hash_password(password: str) -> str:
    """Return a salted argon2id hash of ``password``."""
    return hasher.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    """True when ``password`` matches ``stored_hash``; takes the same time if None."""
    try:
        return hasher.verify(stored_hash or DUMMY_HASH, password) and bool(stored_hash)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    """True when the hash was made with weaker parameters than today's."""
    return hasher.check_needs_rehash(stored_hash)

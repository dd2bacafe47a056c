"""Who is calling: the Authorization header's key, resolved to its marketplace and kind."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from api.config import Settings
from api.key_cache import KeyCache
from api.keys import Caller, key_digest, require_secret, resolve
from api.web.threads import in_thread


class Callers:
    """Resolves a presented key from the cache (api.key_cache) or else the stack's
    database, in a worker thread; 401 for a key this stack does not know."""

    def __init__(self, settings: Settings, sessions: sessionmaker[Session], keys: KeyCache):
        self._secret = settings.key_hash_secret.get_secret_value()
        self._mode = settings.mode
        self._sessions = sessions
        self.keys = keys

    async def resolve(self, authorization: str | None, *, secret: bool = True) -> Caller:
        """The caller; with `secret`, only a secret key is accepted (403 for another)."""
        digest = key_digest(self._secret, self._mode, authorization)
        known = self.keys.get(digest)
        who = known.valid() if known is not None else await in_thread(self._lookup, digest)
        if secret:
            require_secret(who)
        return who

    def _lookup(self, digest: str) -> Caller:
        with self._sessions() as session:
            return resolve(session, digest, self.keys)

"""Secrets at rest (a tenant's SMTP password): Fernet, keyed from settings."""

import base64
import hashlib
import hmac

from cryptography.fernet import Fernet, InvalidToken


class SecretBox:
    def __init__(self, key_material: str) -> None:
        # Any string works as key material; Fernet needs 32 url-safe base64 bytes.
        self._material = key_material.encode()
        digest = hashlib.sha256(self._material).digest()
        self._fernet = Fernet(base64.urlsafe_b64encode(digest))

    def seal(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode()

    def open(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken as exc:
            raise ValueError("secret cannot be decrypted with this key") from exc

    def derive(self, purpose: str) -> str:
        """A stable secret for one purpose (a callback URL token), from the same key."""
        return hmac.new(self._material, purpose.encode(), hashlib.sha256).hexdigest()[:40]

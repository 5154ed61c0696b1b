"""Signed JWTs like the API's access tokens (HS256, `exp` claim), so a client can read their expiry."""

from __future__ import annotations

import base64
import hashlib
import hmac

import orjson


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


class JwtSigner:
    """Signs tokens for one simulated user with one secret."""

    def __init__(self, secret: bytes, *, subject: str) -> None:
        self._secret = secret
        self._subject = subject

    def sign(self, ws: str, org: str, iat: int, exp: int, jti: str | None = None) -> str:
        header = _b64(orjson.dumps({"alg": "HS256", "typ": "JWT"}))
        claims: dict[str, object] = {
            "sub": self._subject,
            "ws": ws,
            "org": org,
            "iat": iat,
            "exp": exp,
        }
        if jti is not None:
            claims["jti"] = jti
        payload = _b64(orjson.dumps(claims))
        signing_input = f"{header}.{payload}".encode("ascii")
        signature = _b64(hmac.new(self._secret, signing_input, hashlib.sha256).digest())
        return f"{header}.{payload}.{signature}"

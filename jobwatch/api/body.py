"""Reading an answer's body within a bound on its decompressed size, whatever it claims to be.

The bound counts decoded bytes while they arrive, so a gzip bomb (a few MB that expand to GBs) or
a body that never ends stops at the bound instead of filling the memory. httpx's own decoding is
not used: it inflates each network read (up to 64 KiB) in one call, so one read of a gzip bomb
becomes a 63 MiB chunk before anyone can count it (measured: with a 128 MiB cap counted over
`aiter_bytes()`, a 10 MB bomb still peaked at 314 MB RSS). Here the raw bytes are inflated in
steps of at most DECODE_STEP bytes: an answer costs at most its bound plus one step.

Only the encodings jobwatch asks for (ACCEPT_ENCODING) are decoded; any other is a bad response.
"""

from __future__ import annotations

import os
import sys
import zlib
from collections.abc import Iterator

import httpx

from jobwatch.errors import BadResponse

#: what the client sends as Accept-Encoding: exactly what `read_body` can decode
ACCEPT_ENCODING = "gzip, deflate"
#: the most bytes one inflate step may produce
DECODE_STEP = 1024 * 1024
_GZIP = zlib.MAX_WBITS | 16
_ZLIB = zlib.MAX_WBITS
_RAW_DEFLATE = -zlib.MAX_WBITS
#: glibc's mallopt parameter, and the size from which every allocation is its own mapping
_M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 1024 * 1024
_mmap_threshold_fixed = False


def fix_mmap_threshold() -> bool:
    """Make glibc give every allocation of MMAP_THRESHOLD or more back to the system when freed
    (once per process; True if glibc took it).

    glibc serves an allocation past its mmap threshold (128 KiB at first) with its own mapping,
    but each time such a block is freed it raises the threshold to the block's size: after the
    first 12.7 MB answer of a 100k-job workspace is freed, the next ones come from the heap,
    whose freed space stays in the process. Measured in the dashboard at 100k jobs, growing,
    120x40: resident memory went 219 -> 233 -> 245 MB in two minutes, +25 MB at each read of the
    whole list; with the threshold fixed at 1 MiB it stayed at 208-211 MB for nine minutes.
    Costs ~3 ms (ctypes) once; elsewhere than glibc on Linux it does nothing.
    """
    global _mmap_threshold_fixed
    if _mmap_threshold_fixed:
        return True
    if not sys.platform.startswith("linux"):
        return False
    try:
        if not os.confstr("CS_GNU_LIBC_VERSION"):
            return False
        import ctypes

        _mmap_threshold_fixed = ctypes.CDLL(None).mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1
    except (ValueError, OSError, AttributeError):
        return False
    return _mmap_threshold_fixed


def size_text(nbytes: int) -> str:
    """A byte count for a message: "128 MiB", "64 KiB", "512 bytes"."""
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if nbytes >= size:
            return f"{nbytes / size:.4g} {unit}"
    return f"{nbytes} bytes"


class _Inflater:
    """Decodes one Content-Encoding (gzip, or deflate with or without its zlib wrapper) in steps."""

    def __init__(self, encoding: str) -> None:
        self.encoding = encoding
        self._wbits = _GZIP if encoding == "gzip" else _ZLIB
        self._inflate = zlib.decompressobj(self._wbits)
        self._started = False

    def feed(self, data: bytes) -> Iterator[bytes]:
        """The decoded bytes of `data`, in pieces of at most DECODE_STEP."""
        while True:
            try:
                out = self._inflate.decompress(data, DECODE_STEP)
            except zlib.error:
                if self._started or self._wbits != _ZLIB:
                    raise BadResponse(f"the {self.encoding} body is corrupt") from None
                # "deflate" without its zlib wrapper, as some servers send it
                self._wbits = _RAW_DEFLATE
                self._inflate = zlib.decompressobj(_RAW_DEFLATE)
                continue
            self._started = True
            if out:
                yield out
            if self._inflate.eof:
                data = self._inflate.unused_data
                if not data:
                    return
                if self._wbits != _GZIP:
                    raise BadResponse(f"data follows the end of the {self.encoding} body")
                self._inflate = zlib.decompressobj(_GZIP)  # a further gzip member
                continue
            data = self._inflate.unconsumed_tail
            # after a full step more output may be pending, even with all input taken
            if not data and len(out) < DECODE_STEP:
                return

    def end(self) -> None:
        """Check the body ended where the compressed stream does."""
        if self._started and not self._inflate.eof:
            raise BadResponse(f"the {self.encoding} body ends before its compressed data does")


def _inflater(headers: httpx.Headers) -> _Inflater | None:
    codings = [
        c.strip().lower() for c in headers.get("content-encoding", "").split(",") if c.strip()
    ]
    codings = [c for c in codings if c != "identity"]
    if not codings:
        return None
    if len(codings) > 1:
        raise BadResponse(f"the answer is encoded {len(codings)} times over; jobwatch decodes one")
    coding = "gzip" if codings[0] == "x-gzip" else codings[0]
    if coding not in ("gzip", "deflate"):
        shown = coding[:20].encode("ascii", "backslashreplace").decode()
        raise BadResponse(
            f"unsupported Content-Encoding {shown!r} (jobwatch asks for gzip or deflate)"
        )
    return _Inflater(coding)


async def read_body(response: httpx.Response, limit: int, *, truncate: bool = False) -> bytes:
    """The decoded body of a streamed response, at most `limit` bytes.

    Past `limit` the body is refused (BadResponse) or, with `truncate`, cut there and the rest
    left unread (for error bodies, which are only searched for an errorId and a message).
    """
    if response.is_stream_consumed:
        # read in advance, and decoded by httpx (httpx.MockTransport's answers are): only its
        # size is left to check
        return _bounded(bytearray(response.content), limit, truncate)
    inflater = _inflater(response.headers)
    # One growing buffer rather than a list of pieces: freed, it goes back to the system at once
    # (measured: after a refused 128 MiB answer the dashboard stayed at 192 MB RSS with a list of
    # 1 MiB pieces, which the allocator keeps; with the buffer it drops back).
    body = bytearray()
    async for raw in response.aiter_raw():
        pieces = inflater.feed(raw) if inflater is not None else (raw,)
        for piece in pieces:
            body += piece
            if len(body) > limit:
                return _bounded(body, limit, truncate)
    if inflater is not None:
        inflater.end()
    return bytes(body)


def _bounded(body: bytearray, limit: int, truncate: bool) -> bytes:
    """`body` if within `limit`; else cut to it (truncate) or refused."""
    if len(body) <= limit:
        return bytes(body)
    if truncate:
        return bytes(body[:limit])
    del body[:]
    raise BadResponse(
        f"the answer is larger than {size_text(limit)} once decompressed (jobwatch's limit); "
        "it was not read further"
    )

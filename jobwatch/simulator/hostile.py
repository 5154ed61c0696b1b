"""Hostile answers: well-formed HTTP and JSON built to take over a client that trusts them.

`Faults.hostile` names one of HOSTILE_KINDS; the server then answers through this module:

* what the answer says - `escapes` (terminal escapes, C1 controls, bidi and zero-width characters
  in every text field: workflowId, runId, status name, the workspace name and every error body's
  error, message and errorId), `huge_field` (a 100k-character workflowId, runId and name; a
  100k-character workspace name), `deep_nesting` (1000 levels inside an unknown field),
  `huge_int` (status.code 2**64 - 1), `beyond_int64` (status.code 2**63, and one past any
  JSON number a parser can hold as an integer);
* how it arrives - `gzip_bomb_1mb` / `gzip_bomb_10mb` (Content-Encoding: gzip, 1 or 10 MB that
  inflate ~1000-fold to a valid, blank-padded JSON array), `trickle` (the body one byte every
  `Faults.trickle_delay` seconds), `endless` (a chunked JSON array that never ends),
  `slow_headers` (the status line and headers one byte at a time), `retry_after` (429 with
  Retry-After: 999999999).

Jobs keep their workflowIds under `escapes` (so a tracked job can still be waited for); one
extra job carries the hostile workflowId. Nothing here runs unless a test or `jobwatch simulate`
asks for it.
"""

from __future__ import annotations

import struct
import threading
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from http import HTTPStatus
from typing import TYPE_CHECKING, Protocol

import orjson

from jobwatch.simulator.scenarios import copy_job

if TYPE_CHECKING:
    from jobwatch.simulator.faults import Faults

#: what each attack in EVIL would do to a terminal that interprets it
EVIL_PARTS = {
    "osc52_clipboard": "\x1b]52;c;aGFja2VkIGNsaXBib2FyZA==\x07",  # clipboard := "hacked clipboard"
    "osc0_title": "\x1b]0;hacked title\x07",
    "osc2_title": "\x1b]2;hacked title 2\x1b\\",
    "csi_clear": "\x1b[2J\x1b[H",
    "c1_controls": "\x9b31m\x9d0;c1 title\x9c\x85",  # one-byte CSI, OSC, ST, NEL
    "bidi": "\u202e\u202a\u202b\u202c\u202d\u2066\u2067\u2068\u2069",
    "zero_width": "\u200b\u200c\u200d\u2060\ufeff",
}
EVIL = "".join(EVIL_PARTS.values())
#: the workflowId of the extra job under `escapes`
EVIL_WORKFLOW_ID = "evil-" + EVIL
#: what `retry_after` asks for, in seconds (~31.7 years)
ABSURD_RETRY_AFTER = "999999999"
U64_MAX = 2**64 - 1

Response = tuple[int, list[tuple[str, str]], bytes]
_JSON = ("Content-Type", "application/json")


class _Writer(Protocol):
    def write(self, data: bytes, /) -> object: ...


def hostile_text(text: str) -> str:
    return EVIL + text


@dataclass
class Streamed:
    """An answer written by hand: its head and body byte by byte with delays, or a body that
    never ends (an iterator, sent chunked). The connection is closed after it."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes | Iterator[bytes]
    #: seconds between two bytes of the status line and headers / of the body
    head_delay: float = 0.0
    body_delay: float = 0.0

    def head(self) -> bytes:
        lines = [f"HTTP/1.1 {self.status} {HTTPStatus(self.status).phrase}"]
        lines += [f"{name}: {value}" for name, value in self.headers]
        if isinstance(self.body, bytes):
            lines.append(f"Content-Length: {len(self.body)}")
        else:
            lines.append("Transfer-Encoding: chunked")
        lines.append("Connection: close")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    def send(self, out: _Writer, stopping: threading.Event) -> None:
        """Write the answer; return early when the client hangs up or the server stops."""
        try:
            if not _write(out, self.head(), self.head_delay, stopping):
                return
            if isinstance(self.body, bytes):
                _write(out, self.body, self.body_delay, stopping)
                return
            for chunk in self.body:
                if stopping.is_set():
                    return
                out.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        except OSError:
            return  # the client hung up: what an endless or trickled body expects


def _write(out: _Writer, data: bytes, delay: float, stopping: threading.Event) -> bool:
    if delay <= 0:
        out.write(data)
        return True
    for i in range(len(data)):
        out.write(data[i : i + 1])
        if stopping.wait(delay):
            return False
    return True


# -- what the answer says ------------------------------------------------------------------


def _job_bytes(workflow_id: str, code: str, name: str = "RUNNING", extra: bytes = b"") -> bytes:
    """One job as JSON text, with the code as given (orjson cannot write every integer)."""
    head = orjson.dumps(workflow_id)
    return b'{"workflowId":%s,"status":{"code":%s,"name":%s},"runId":"run-hostile"%s}' % (
        head,
        code.encode(),
        orjson.dumps(name),
        extra,
    )


def _prepend(payload: bytes, items: list[bytes]) -> bytes:
    """The JSON array `payload` with `items` (JSON texts) first."""
    rest = payload[1:].lstrip()
    joined = b",".join(items)
    return b"[" + joined + (b"" if rest.startswith(b"]") else b",") + rest


def _nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def jobs_content(kind: str, jobs: list[dict], payload: bytes, faults: Faults) -> bytes:
    """The background-jobs body under `kind`: `payload` (the honest body of `jobs`) changed."""
    if kind == "escapes":
        changed = []
        for job in jobs:
            job = copy_job(job)
            job["runId"] = hostile_text(job["runId"])
            job["status"]["name"] = hostile_text(job["status"]["name"])
            changed.append(job)
        changed.append(
            {"workflowId": EVIL_WORKFLOW_ID, "status": {"code": 3, "name": EVIL}, "runId": EVIL}
        )
        return orjson.dumps(changed)
    if kind == "huge_field":
        n = faults.huge_field_chars
        huge = orjson.dumps(
            {"workflowId": "W" * n, "status": {"code": 1, "name": "N" * n}, "runId": "R" * n}
        )
        return _prepend(payload, [huge])
    if kind == "deep_nesting":
        extra = b',"unknownField":' + _nested(faults.nesting_depth)
        return _prepend(payload, [_job_bytes("deep-nesting", "1", extra=extra)])
    if kind == "huge_int":
        return _prepend(payload, [_job_bytes("huge-int", str(U64_MAX))])
    if kind == "beyond_int64":
        return _prepend(
            payload,
            [_job_bytes("beyond-int64", str(2**63)), _job_bytes("beyond-u64", "1" + "0" * 400)],
        )
    return payload


def workspace_content(kind: str, workspace: dict, faults: Faults) -> bytes:
    """The workspace object under `kind`."""
    workspace = dict(workspace)
    if kind == "escapes":
        workspace["name"] = hostile_text(workspace["name"])
    elif kind == "huge_field":
        workspace["name"] = "N" * faults.huge_field_chars
    elif kind in ("huge_int", "beyond_int64"):
        body = orjson.dumps(workspace)
        return body[:-1] + b',"quota":%d}' % (U64_MAX if kind == "huge_int" else 2**63)
    elif kind == "deep_nesting":
        body = orjson.dumps(workspace)
        return body[:-1] + b',"settings":' + _nested(faults.nesting_depth) + b"}"
    return orjson.dumps(workspace)


def error_body(message: str, error_id: str) -> bytes:
    """An error body whose every text field is hostile (for `escapes`)."""
    return orjson.dumps(
        {
            "error": hostile_text(message),
            "message": hostile_text("details"),
            "errorId": hostile_text(error_id),
        }
    )


# -- how it arrives --------------------------------------------------------------------------


@lru_cache(maxsize=2)
def gzip_bomb(compressed_bytes: int) -> bytes:
    """~`compressed_bytes` of valid gzip that inflate ~1030-fold to `[`, blanks, `]` (valid JSON:
    an empty array), so a client without a bound reads, and parses, all of it.

    Built in milliseconds: after a full flush a deflate block depends on nothing before it, so
    the block for 1 MiB of blanks is compressed once and repeated, and the trailer's CRC-32 is
    combined arithmetically rather than computed over gigabytes.
    """
    blanks = b" " * _MIB
    packer = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    head = packer.compress(b"[" + blanks) + packer.flush(zlib.Z_FULL_FLUSH)
    block = packer.compress(blanks) + packer.flush(zlib.Z_FULL_FLUSH)
    tail = (packer.compress(b"]") + packer.flush())[:-8]  # without the trailer
    repeats = max(0, (compressed_bytes - len(head) - len(tail) - 8) // len(block))
    crc = _crc32_repeated(zlib.crc32(blanks), _MIB, repeats)
    crc = _crc32_combine(zlib.crc32(b"[" + blanks), crc, repeats * _MIB)
    crc = _crc32_combine(crc, zlib.crc32(b"]"), 1)
    size = 1 + _MIB * (1 + repeats) + 1
    return head + block * repeats + tail + struct.pack("<II", crc, size & 0xFFFFFFFF)


_MIB = 1 << 20


def _gf2_times(matrix: list[int], vector: int) -> int:
    total, i = 0, 0
    while vector:
        if vector & 1:
            total ^= matrix[i]
        vector >>= 1
        i += 1
    return total


def _crc32_combine(crc1: int, crc2: int, len2: int) -> int:
    """CRC-32 of A + B from crc32(A), crc32(B) and len(B) (zlib's crc32_combine, in Python)."""
    if len2 <= 0:
        return crc1
    # the operator for one zero bit, then squared to 2 and 4 zero bits
    odd = [0xEDB88320] + [1 << n for n in range(31)]
    even = [_gf2_times(odd, row) for row in odd]
    odd = [_gf2_times(even, row) for row in even]
    while len2:
        even = [_gf2_times(odd, row) for row in odd]
        if len2 & 1:
            crc1 = _gf2_times(even, crc1)
        len2 >>= 1
        if not len2:
            break
        odd = [_gf2_times(even, row) for row in even]
        if len2 & 1:
            crc1 = _gf2_times(odd, crc1)
        len2 >>= 1
    return crc1 ^ crc2


def _crc32_repeated(crc: int, length: int, times: int) -> int:
    """CRC-32 of a block repeated `times` times, from the block's CRC-32 and length."""
    result, result_len = 0, 0
    while times:
        if times & 1:
            result = _crc32_combine(result, crc, length) if result_len else crc
            result_len += length
        times >>= 1
        if times:
            crc = _crc32_combine(crc, crc, length)
            length *= 2
    return result


def _endless(first: bytes) -> Iterator[bytes]:
    """`[`, then the same job again and again in 64 KiB chunks, never `]`."""
    item = first + b","
    chunk = item * max(1, 65536 // len(item))
    yield b"["
    while True:
        yield chunk


def deliver(kind: str, status: int, content: bytes, faults: Faults) -> Response | Streamed:
    """The answer carrying `content`, sent the way `kind` says."""
    if kind == "gzip_bomb_1mb":
        return status, [_JSON, ("Content-Encoding", "gzip")], gzip_bomb(1 << 20)
    if kind == "gzip_bomb_10mb":
        return status, [_JSON, ("Content-Encoding", "gzip")], gzip_bomb(10 << 20)
    if kind == "trickle":
        return Streamed(status, [_JSON], content, body_delay=faults.trickle_delay)
    if kind == "slow_headers":
        return Streamed(status, [_JSON], content, head_delay=faults.trickle_delay)
    if kind == "endless":
        return Streamed(status, [_JSON], _endless(_job_bytes("endless", "1")))
    return status, [_JSON], content


def rate_limited(error: bytes) -> Response:
    """The `retry_after` answer: 429 asking for ~31.7 years."""
    return 429, [_JSON, ("Retry-After", ABSURD_RETRY_AFTER)], error

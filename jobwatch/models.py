"""Jobs and statuses as the API reports them.

Everything is keyed on the status *code* (Temporal's workflow execution status); the name is kept
as the API sent it so that unknown statuses can be shown as-is. What a code means (terminal,
failure, glyph, hint) lives in jobwatch.statuses; parsing an answer lives in jobwatch.api.decode.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec

from jobwatch.statuses import FAILURE_CODES, NOT_FOUND_CODE, STATUSES, TERMINAL_CODES

#: the canonical name of every code the API documents (the simulator answers with these)
API_NAMES: dict[int, str] = {code: info.name for code, info in STATUSES.items() if code > 0}


# Status and Job are msgspec Structs rather than dataclasses: a 100k-job response decodes straight
# into them in C (~16 ms instead of ~250 ms for orjson plus a Python validation loop). gc=False:
# they hold only strings and ints, so the cycle collector need not track (and re-scan) them.
class Status(msgspec.Struct, frozen=True, gc=False):
    # larger codes go to the strict parser, which takes what orjson reads as an integer
    code: Annotated[int, msgspec.Meta(ge=-(2**63), le=2**63 - 1)]
    name: str = ""

    @property
    def is_terminal(self) -> bool:
        return self.code in TERMINAL_CODES

    @property
    def is_failure(self) -> bool:
        return self.code in FAILURE_CODES

    @property
    def label(self) -> str:
        """The name to show: the canonical name for known codes, else name and code."""
        info = STATUSES.get(self.code)
        if info is not None:
            return info.name
        return f"{self.name or 'UNKNOWN'} ({self.code})"

    def to_json(self) -> dict[str, Any]:
        return {"code": self.code, "name": self.name}


NOT_FOUND = Status(NOT_FOUND_CODE, "NOT_FOUND")


class Job(msgspec.Struct, frozen=True, gc=False, rename="camel"):
    workflow_id: Annotated[str, msgspec.Meta(min_length=1)]
    status: Status
    run_id: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "workflowId": self.workflow_id,
            "status": self.status.to_json(),
            "runId": self.run_id,
        }

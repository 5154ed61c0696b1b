"""Job kinds: what sort of job a workflowId is, since the API says nothing about it.

By default the kind is the workflowId without its trailing ID suffix (`taxonomy-publish-9ef14040`
-> `taxonomy-publish`, `role-create-42` -> `role-create`; an ID that is nothing but an ID ->
`(unnamed)`). Ordered regex rules (from the config) come before that, and a person's label for
one job comes before everything. Rules are data from a file: compile_rules validates them and
refuses patterns whose matching time could explode (nested or repeated-alternation repeats, many
variable-length repeats, back-references), and rules only see the first MATCH_INPUT_CHARS of an ID.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from jobwatch.errors import JobwatchError

#: the kind of a workflowId that is only an ID (a UUID, a hex string, a number)
UNNAMED_KIND = "(unnamed)"
MAX_KIND_CHARS = 80
MAX_RULES = 100
MAX_PATTERN_CHARS = 200
#: Rules see at most this much of a workflowId. With MAX_VARIABLE_REPEATS and no nested repeats
#: this bounds one search: the worst accepted pattern measured, `\w*\w*!` on 96 "a"s, took
#: 0.7 ms (`[a-z]+[a-z0-9]+!` 0.4 ms; 1.1 ms at 128 characters); an ordinary rule a few us.
MATCH_INPUT_CHARS = 96
MAX_VARIABLE_REPEATS = 2
#: kinds remembered per Kinds object before the memory is cleared
_CACHE_LIMIT = 200_000

_SEPARATORS = "-_.:/"
_UUID_TAIL = re.compile(
    r"[-_.:/]?[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\Z", re.IGNORECASE
)
_HEX = frozenset("0123456789abcdefABCDEF")


class KindRuleError(JobwatchError):
    """A kind rule that cannot be used; says which one and why."""


@dataclass(frozen=True, slots=True)
class KindRule:
    """Jobs whose workflowId matches `pattern` (re.search) are of kind `kind`."""

    pattern: re.Pattern[str]
    kind: str


def _is_id_token(token: str) -> bool:
    """A number, or hex that looks generated (a digit in it, or 8+ characters)."""
    if not token or not token.isascii():
        return False
    if token.isdigit():
        return True
    if not all(c in _HEX for c in token):
        return False
    return len(token) >= 8 or (len(token) >= 4 and any(c.isdigit() for c in token))


def default_kind(workflow_id: str) -> str:
    """The workflowId without trailing UUID, hex or number parts; UNNAMED_KIND if nothing is left."""
    name = workflow_id.strip(_SEPARATORS + " ")
    while name:
        name = name.rstrip(_SEPARATORS)
        uuid = _UUID_TAIL.search(name)
        if uuid is not None:
            name = name[: uuid.start()]
            continue
        cut = max(name.rfind(sep) for sep in _SEPARATORS)
        if cut < 0:
            if _is_id_token(name):
                name = ""
            break
        if not _is_id_token(name[cut + 1 :]):
            break
        name = name[:cut]
    name = name.strip(_SEPARATORS + " ")
    if not name:
        return UNNAMED_KIND
    return name[:MAX_KIND_CHARS]


# -- rules -------------------------------------------------------------------------------------

# re._parser is how CPython itself reads a pattern; it has no stubs, hence Any.
_parser: Any = importlib.import_module("re._parser")


def _is_repeat(name: str) -> bool:
    return name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT")


def _walk(items: Any) -> tuple[int, str | None]:
    """(repeats of variable length in `items`, the reason the pattern is refused or None).

    Backtracking explodes when one text can be matched in many ways: a repeat of something that
    itself repeats or chooses (exponential, however small the bounds: `(a|a){1,16}` took 0.3 s
    on 128 characters), or many variable repeats in a row (polynomial in the text's length)."""
    variable = 0
    for op, av in items:
        name = str(op)
        if _is_repeat(name):
            low, high, body = av
            if high > 1 and _has_repeat_or_branch(body):
                return variable, "a repeated group contains another repeat or a choice"
            inner, problem = _walk(body)
            if problem:
                return variable, problem
            variable += inner + (1 if high != low else 0)
        elif name in ("GROUPREF", "GROUPREF_EXISTS"):
            return variable, "back-references are not supported"
        else:
            for sub in _children(name, av):
                inner, problem = _walk(sub)
                variable += inner
                if problem:
                    return variable, problem
    return variable, None


def _children(name: str, av: Any) -> list[Any]:
    if name == "SUBPATTERN":
        return [av[3]]
    if name == "BRANCH":
        return list(av[1])
    if name in ("ASSERT", "ASSERT_NOT"):
        return [av[1]]
    if name == "ATOMIC_GROUP":
        return [av]
    return []


def _has_repeat_or_branch(items: Any) -> bool:
    for op, av in items:
        name = str(op)
        if _is_repeat(name):
            if av[1] > 1 or av[0] != av[1] or _has_repeat_or_branch(av[2]):
                return True
        elif name == "BRANCH" or any(_has_repeat_or_branch(s) for s in _children(name, av)):
            return True
    return False


def compile_rule(pattern: str, kind: str, *, where: str = "kind rule") -> KindRule:
    """Validate and compile one rule; KindRuleError says what is wrong with it."""
    if not isinstance(pattern, str) or not isinstance(kind, str):
        raise KindRuleError(f"{where}: pattern and kind must be strings")
    if not pattern:
        raise KindRuleError(f"{where}: the pattern is empty")
    if len(pattern) > MAX_PATTERN_CHARS:
        raise KindRuleError(
            f"{where}: the pattern has {len(pattern)} characters; at most {MAX_PATTERN_CHARS}"
        )
    if not kind.strip():
        raise KindRuleError(f"{where}: the kind is empty")
    if len(kind) > MAX_KIND_CHARS:
        raise KindRuleError(
            f"{where}: the kind has {len(kind)} characters; at most {MAX_KIND_CHARS}"
        )
    try:
        compiled = re.compile(pattern)
        tree = _parser.parse(pattern)
    except (re.error, RecursionError, OverflowError) as exc:
        raise KindRuleError(
            f"{where}: {pattern!r} is not a valid regular expression ({exc})"
        ) from None
    variable, problem = _walk(tree)
    if problem is None and variable > MAX_VARIABLE_REPEATS:
        problem = f"more than {MAX_VARIABLE_REPEATS} repeats of variable length (*, +, ?, {{m,n}})"
    if problem:
        raise KindRuleError(
            f"{where}: {pattern!r} could take very long to match: {problem}; simplify it"
        )
    return KindRule(compiled, kind)


def compile_rules(rules: Sequence[tuple[str, str]]) -> tuple[KindRule, ...]:
    """Validate (pattern, kind) pairs, in order; the first rule that matches a job wins."""
    if len(rules) > MAX_RULES:
        raise KindRuleError(f"{len(rules)} kind rules; at most {MAX_RULES}")
    return tuple(
        compile_rule(pattern, kind, where=f"kind rule {n}")
        for n, (pattern, kind) in enumerate(rules, 1)
    )


class Kinds:
    """Gives each job its kind: its label, else the first matching rule, else default_kind."""

    def __init__(self, rules: Sequence[KindRule] = ()) -> None:
        self.rules = tuple(rules)
        self._memo: dict[str, str] = {}

    def kind(self, workflow_id: str, label: str | None = None) -> str:
        if label:
            return label
        memo = self._memo
        found = memo.get(workflow_id)
        if found is None:
            found = self._resolve(workflow_id)
            if len(memo) >= _CACHE_LIMIT:
                memo.clear()
            memo[workflow_id] = found
        return found

    def _resolve(self, workflow_id: str) -> str:
        text = workflow_id[:MATCH_INPUT_CHARS]
        for rule in self.rules:
            if rule.pattern.search(text):
                return rule.kind
        return default_kind(workflow_id)

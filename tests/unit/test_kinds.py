"""jobwatch.kinds: default kinds from workflowIds, validated rules, labels first."""

from __future__ import annotations

import pytest

from jobwatch.errors import JobwatchError
from jobwatch.kinds import (
    MATCH_INPUT_CHARS,
    MAX_KIND_CHARS,
    MAX_PATTERN_CHARS,
    MAX_RULES,
    UNNAMED_KIND,
    KindRuleError,
    Kinds,
    compile_rule,
    compile_rules,
    default_kind,
)


@pytest.mark.parametrize(
    ("workflow_id", "kind"),
    [
        ("taxonomy-publish-9ef14040", "taxonomy-publish"),
        ("cascade-delete-knowledge-5e6f7081", "cascade-delete-knowledge"),
        ("role-create-42", "role-create"),
        ("role-create-0a1b2c3d", "role-create"),
        ("9f8e7d6c-1a2b-4c3d-8e9f-0a1b2c3d4e5f", UNNAMED_KIND),
        ("job-9F8E7D6C-1A2B-4C3D-8E9F-0A1B2C3D4E5F", "job"),
        ("knowledge_create_2024_06_01", "knowledge_create"),
        ("export.7f3a9c21", "export"),
        ("12345", UNNAMED_KIND),
        ("deadbeef", UNNAMED_KIND),
        # words that happen to be hex letters stay: no digit, shorter than 8
        ("role-add", "role-add"),
        ("a-b-face", "a-b-face"),
        ("knowledge-create-v2", "knowledge-create-v2"),
        ("reindex", "reindex"),
        ("-42-", UNNAMED_KIND),
        ("١٢٣", "١٢٣"),  # non-ASCII digits are not an ID suffix
    ],
)
def test_default_kind_drops_the_id_suffix(workflow_id, kind):
    assert default_kind(workflow_id) == kind


def test_default_kind_is_bounded():
    assert len(default_kind("x" * 10_000 + "-42")) == MAX_KIND_CHARS


def test_rules_apply_in_order_before_the_default():
    kinds = Kinds(compile_rules([(r"^tax", "taxonomy"), (r"publish", "publishing")]))
    assert kinds.kind("taxonomy-publish-9ef14040") == "taxonomy"
    assert kinds.kind("site-publish-1") == "publishing"
    assert kinds.kind("role-create-42") == "role-create"


def test_a_label_is_the_kind_before_any_rule():
    kinds = Kinds(compile_rules([(r"^tax", "taxonomy")]))
    assert kinds.kind("taxonomy-publish-9ef14040", "nightly import") == "nightly import"
    assert kinds.kind("taxonomy-publish-9ef14040", None) == "taxonomy"
    assert kinds.kind("taxonomy-publish-9ef14040", "") == "taxonomy"


def test_rules_see_only_the_start_of_a_long_id():
    kinds = Kinds(compile_rules([(r"needle", "found")]))
    assert kinds.kind("a" * (MATCH_INPUT_CHARS - 6) + "needle") == "found"
    assert kinds.kind("a" * MATCH_INPUT_CHARS + "needle") == default_kind(
        "a" * MATCH_INPUT_CHARS + "needle"
    )


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [
        (r"(a+)+b", "repeated group contains another repeat"),
        (r"(x|xy)*z", "repeated group contains another repeat or a choice"),
        (r"(?:\d+-)+end", "repeated group contains another repeat"),
        (r".*a.*b.*c", "more than 2 repeats of variable length"),
        (r"a{1,16}a{1,16}a{1,16}!", "more than 2 repeats of variable length"),
        (r"(?:a|a){1,16}!", "repeated group contains another repeat or a choice"),
        (r"(?:ab?){2,9}", "repeated group contains another repeat or a choice"),
        (r"(\w+)-\1", "back-references"),
        (r"(a", "not a valid regular expression"),
        (r"[z-a]", "not a valid regular expression"),
        ("", "empty"),
        ("a" * (MAX_PATTERN_CHARS + 1), f"at most {MAX_PATTERN_CHARS}"),
    ],
)
def test_unusable_patterns_are_refused_with_the_reason(pattern, reason):
    with pytest.raises(KindRuleError) as info:
        compile_rules([("^ok", "fine"), (pattern, "kind")])
    message = info.value.describe()
    assert "kind rule 2" in message and reason in message
    assert isinstance(info.value, JobwatchError)


@pytest.mark.parametrize(
    "pattern",
    [
        r"^role-(create|delete)-",
        r"[a-z]+-\d+$",
        r"^(?P<k>.*)-publish-.*$",
        r"a{1,100}b",
        r"(?:ab)+",
        r"^x-[0-9a-f]{8}$",
    ],
)
def test_ordinary_patterns_are_accepted(pattern):
    assert compile_rule(pattern, "k").pattern.pattern == pattern


def test_kind_names_are_checked():
    with pytest.raises(KindRuleError, match="the kind is empty"):
        compile_rule("^a", "  ")
    with pytest.raises(KindRuleError, match=f"at most {MAX_KIND_CHARS}"):
        compile_rule("^a", "k" * (MAX_KIND_CHARS + 1))
    with pytest.raises(KindRuleError, match="must be strings"):
        compile_rule("^a", 42)  # type: ignore[arg-type]


def test_too_many_rules_are_refused():
    with pytest.raises(KindRuleError, match=f"at most {MAX_RULES}"):
        compile_rules([("^a", "a")] * (MAX_RULES + 1))


def test_kinds_are_remembered_per_workflow_id():
    calls = []

    class Counting(Kinds):
        def _resolve(self, workflow_id: str) -> str:
            calls.append(workflow_id)
            return super()._resolve(workflow_id)

    kinds = Counting()
    assert [kinds.kind("role-create-1") for _ in range(3)] == ["role-create"] * 3
    assert calls == ["role-create-1"]

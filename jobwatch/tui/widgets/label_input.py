"""The one-line prompt `l` shows to label the highlighted job (over the key bar, like `/` and `+`).

A label is a person's name for a job: stored in the history (jobwatch.store.history, at most
MAX_LABEL_CHARS), shown before the workflowId in the table, matched by `/`, and the job's kind.
Enter saves what is typed (nothing clears the label), escape leaves it as it was. A paste loses
the characters a terminal would act on (MultiPasteInput); what is shown is escaped anyway.
"""

from __future__ import annotations

from jobwatch.store.history import MAX_LABEL_CHARS
from jobwatch.tui.widgets.track_input import MultiPasteInput


class LabelInput(MultiPasteInput):
    """Input shown by `l`; `workflow_id` is the job it labels."""

    def __init__(self, **kwargs) -> None:
        super().__init__(
            placeholder="label for the job — enter to save, empty to clear, esc to cancel",
            compact=True,
            max_length=MAX_LABEL_CHARS,
            **kwargs,
        )
        self.workflow_id: str | None = None

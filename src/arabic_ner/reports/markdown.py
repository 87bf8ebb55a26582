"""Markdown for reports: tables, and the cross-validation estimate as the CV report and the model card give it."""

from __future__ import annotations

from typing import Sequence

from ..core.results import CrossValidation


def markdown_table(header: list[str], rows: list[list], numbers: bool = False) -> list[str]:
    """A Markdown table's lines; with ``numbers``, every column after the first is right-aligned."""
    rule = ["---"] + ["---:" if numbers else "---"] * (len(header) - 1)
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(rule) + "|"]
    return lines + ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]


def estimate_lines(cv: CrossValidation) -> list[str]:
    """The two headline estimates, as Markdown list items."""
    return [
        f"- character-span micro F1: **{cv.mean_std.span_micro_f1}**",
        f"- seqeval strict micro F1: {cv.mean_std.seqeval_strict_micro_f1}",
    ]




def per_type_table(cv: CrossValidation, labels: Sequence[str]) -> list[str]:
    """Each type's span F1, mean ± std over the folds where it occurs."""
    rows = [[label, cv.mean_std.span_f1_per_type.get(label) or "– (in no test fold)"] for label in labels]
    return markdown_table(["type", "span F1 mean ± std over the folds where it occurs"], rows)

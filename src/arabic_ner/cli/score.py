"""Score a model's predictions against the reviewed annotations in a Label Studio project.

    arabic-ner score --project 3
    arabic-ner score --project 3 --model-version tiny-a9660e65 --output scores.json

Exact-span P/R/F1 per label of the predictions against the reviewed annotations, that is, how far
reviewers moved from the predictions. Both are read as train reads annotations; a span that cannot
be read is reported and makes the exit status 1. The server and the key come from the environment
only (LABEL_STUDIO_URL, LABEL_STUDIO_API_KEY).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="arabic-ner score", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--project", required=True, metavar="ID", help="project id (or exact title)")
    parser.add_argument("--model-version", help="whose predictions to score; default: the project's model version")
    parser.add_argument("--output", metavar="FILE.json", help="also write the scores as JSON")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing --output")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    from ..core.problems import Problems, UserError
    from ..core.results import to_plain
    from ..data.files import check_output_file, write_whole
    from ..evaluation.metrics import span_scores
    from ..labelstudio.client import connect, project_tasks, reviewed_project, scored_tasks

    args = parse_args(argv)
    if args.output:
        check_output_file(args.output, args.overwrite)  # before connecting or any work
    server = connect()
    project, where, labels = reviewed_project(server, args.project)
    tasks = list(project_tasks(server, project.id))
    versions = Counter(p.get("model_version") for t in tasks for p in t.get("predictions") or [])
    version = args.model_version or (project.model_version if project.model_version in versions else None)
    if version is None and len(versions) == 1:
        version = next(iter(versions))
    if version not in versions:
        found = ", ".join(f"{v} ({n} tasks)" for v, n in versions.most_common()) or "none"
        raise UserError(
            f"{where}: no predictions {'from model version ' + repr(version) if version else 'to score'}; "
            f"model versions there: {found}; choose one with --model-version"
        )
    problems = Problems()
    scored = scored_tasks(tasks, version, labels, where, problems)
    problems.print()
    if not scored.gold:
        raise UserError(f"{where}: no task has both a completed annotation and a prediction from {version}; review some tasks first")
    scores = span_scores(scored.gold, scored.pred, labels)
    print(f"{where}: predictions of {version} against reviewed annotations, {len(scored.gold)} task(s)")
    print(f"left out: {scored.unreviewed} task(s) without a completed annotation, {scored.unpredicted} without a prediction from {version}")
    print(f"{'label':<12}{'P':>8}{'R':>8}{'F1':>8}{'gold':>7}")
    for name, row in scores.rows():
        print(f"{name:<12}{100 * row.precision:>8.1f}{100 * row.recall:>8.1f}{100 * row.f1:>8.1f}{row.support:>7}")
    if args.output:
        report = {"project": project.id, "model_version": version, "tasks": len(scored.gold), "spans": to_plain(scores)}
        write_whole(args.output, json.dumps(report, ensure_ascii=False, indent=1) + "\n")
    if problems.errors:
        print(f"{len(problems.errors)} span(s) could not be read and are not in these scores: "
              "fix them in Label Studio and score again", file=sys.stderr)
        return 1
    return 0

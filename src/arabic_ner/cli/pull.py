"""Write a Label Studio project's reviewed annotations to a file that ``arabic-ner train --train`` reads.

    arabic-ner pull --project 3 --output annotations/reviewed.json

Writes the completed, non-cancelled annotations as a Label Studio JSON export that train reads as
it is, checks it with train's reader, and reports the unlabeled and skipped tasks it left out.
Spans stored in UTF-16 units by an older Label Studio frontend are converted to code points.
The server and the key come from the environment only (LABEL_STUDIO_URL, LABEL_STUDIO_API_KEY).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="arabic-ner pull", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--project", required=True, metavar="ID", help="project id (or exact title)")
    parser.add_argument("--output", required=True, metavar="FILE.json", help="e.g. annotations/reviewed.json")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing --output (e.g. an earlier pull)")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    from ..core.problems import Problems
    from ..data.files import check_output_file
    from ..data.labelstudio_json import ReadStats, read_annotations
    from ..labelstudio.client import connect, export_annotated, reviewed_project

    args = parse_args(argv)
    check_output_file(args.output, args.overwrite)  # before connecting or any work
    server = connect()
    project, where, labels = reviewed_project(server, args.project)
    export = export_annotated(server, project.id, where)
    output = Path(args.output)
    export.write(output)

    # The same reader train uses: what it would say about the file, it says now.
    problems = Problems()
    documents = read_annotations(output, labels, problems, ReadStats())
    problems.print()
    spans = sum(len(d.spans) for d in documents)
    unlabeled, skipped = export.unlabeled, export.skipped
    print(f"pulled {len(export.tasks)} annotated task(s), {spans} span(s) from {where} -> {output}")
    print(f"left out: {len(unlabeled)} unlabeled task(s){_ids(unlabeled)}, {len(skipped)} skipped by annotators{_ids(skipped)}")
    if export.converted:
        print(f"{export.converted} span(s) had UTF-16 offsets (an older Label Studio frontend) and now count code points")
    if problems.errors:
        print(f"{len(problems.errors)} error(s): fix the spans in Label Studio and pull again", file=sys.stderr)
        return 1
    return 0


def _ids(ids: list[str]) -> str:
    return f" (ids {', '.join(ids[:10])}{', ...' if len(ids) > 10 else ''})" if ids else ""

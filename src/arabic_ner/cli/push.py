"""Tag documents and import them, with the predictions, into a Label Studio project for review.

    export LABEL_STUDIO_URL=http://localhost:8080 LABEL_STUDIO_API_KEY=...
    arabic-ner push --model models/tiny --input data/raw --project "news review"
    arabic-ner push --model models/tiny --input data/pool --project 3 --select 10   # the 10 the model is least sure of

Tags --input with --model and imports one task per document into --project (an id, or a title: a
project with that title is created when there is none, its labeling config built from the model's
labels). Tasks are matched on data.doc_id, so re-running never duplicates: a document that is
already in the project gets this model's prediction added to its task when it has none from this
model version yet, and is skipped otherwise; a document whose text differs from its task's is
skipped with a warning. The project's model version is set to this model's, so the labeling
screen pre-fills with these predictions.

The server and the key come from the environment only (LABEL_STUDIO_URL, LABEL_STUDIO_API_KEY),
never from a file or an argument; the key is never printed.
"""

from __future__ import annotations

import argparse
import sys

from ..labelstudio.client import IMPORT_BATCH
from ..labelstudio.selection import DEFAULT_STRATEGY, STRATEGIES
from .common import positive


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="arabic-ner push", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, metavar="DIR", help="trained model directory")
    parser.add_argument("--input", required=True, metavar="PATH", help=".txt, folder of .txt, .jsonl or Label Studio .json")
    parser.add_argument("--project", required=True, metavar="NAME_OR_ID", help="project id, or title (created if missing)")
    parser.add_argument("--import-batch", type=positive, default=IMPORT_BATCH, metavar="N", help=f"tasks per import request (default {IMPORT_BATCH})")
    parser.add_argument("--batch-size", type=positive, default=32, help="most windows per tagging batch (default 32)")
    parser.add_argument("--device", choices=["cpu", "cuda"], help="default: cuda if available")
    parser.add_argument("--select", type=positive, metavar="N",
                        help="push only N documents of --input, chosen by --strategy among those not yet in the project")
    parser.add_argument("--strategy", choices=STRATEGIES, default=DEFAULT_STRATEGY,
                        help=f"how --select chooses (default {DEFAULT_STRATEGY}; see arabic-ner select -h)")
    parser.add_argument("--seed", type=int, default=0, help="the random choice's seed (--strategy random; default 0)")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    from ..core.labels import entity_types
    from ..data.inputs import iter_input
    from ..labelstudio.client import connect, import_predictions, known_documents, project_for, server_errors
    from ..model.inference import Tagger
    from ..model.loading import model_version
    from ..model.precision import check_device

    args = parse_args(argv)
    check_device(args.device)
    documents = iter_input(args.input)  # the input and the model are checked before the server is asked
    tagger = Tagger.load(args.model, device=args.device, batch_size=args.batch_size)
    labels = entity_types(tagger.id2label)
    version = model_version(args.model)
    server = connect()
    project, created = project_for(server, args.project, labels, version)
    if created:
        print(f"created project {project.id} {args.project!r} with labels {', '.join(labels)}")
    tagged = tagger.tag(documents)
    known = known_documents(server, project.id)  # listed once, for --select and for the import
    if args.select:
        tagged = select(project, tagged, known, args.select, args.strategy, args.seed)
    report = import_predictions(server, project, tagged, version, args.import_batch, known)
    if getattr(project, "model_version", None) != version:
        # the version whose predictions pre-fill the labeling screen
        with server_errors(server.url, "setting the project's model version"):
            server.client.projects.update(id=project.id, model_version=version)

    for doc_id in report.text_changed:
        print(
            f"warning: project {project.id}: document {doc_id!r} is already there with a different text; skipped. "
            "Give the new text another id, or delete the old task in Label Studio and push again",
            file=sys.stderr,
        )
    for error in report.unreadable:
        print(f"warning: {error}; skipped", file=sys.stderr)
    print(
        f"project {project.id} {project.title!r}, model version {version}: {len(report.new)} new task(s), "
        f"prediction added to {len(report.prediction_added)} existing task(s), {len(report.already_there)} "
        f"already there with this model's prediction, {len(report.text_changed)} skipped (text changed), "
        f"{len(report.unreadable)} skipped (unreadable)"
    )
    print(server.link(project.id))
    return 0


def select(project, tagged, known: dict, n: int, strategy: str, seed: int = 0) -> list:
    """``n`` documents of the pool ``tagged``, chosen by ``strategy``, leaving out those already in
    ``project`` (``known``, by data.doc_id) and those that could not be read."""
    from ..labelstudio.selection import chosen_order, uncertainty, unreadable

    errors: list[str] = []
    pool = [t for t in unreadable(tagged, errors) if t.document.id not in known]
    chosen = chosen_order(pool, strategy, seed)[:n]
    for error in errors:
        print(f"warning: {error}; left out of the selection", file=sys.stderr)
    how = f"at random (seed {seed})" if strategy == "random" else f"most uncertain by {strategy}"
    print(f"selected {len(chosen)} of {len(pool)} document(s) not yet in project {project.id}, {how}: "
          + ", ".join(t.document.id + ("" if strategy == "random" else f" ({uncertainty(t, strategy):.3f})") for t in chosen[:10])
          + (", ..." if len(chosen) > 10 else ""))
    return chosen

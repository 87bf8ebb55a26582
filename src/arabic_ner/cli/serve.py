"""Serve a model to Label Studio: predictions when tasks open or are imported, training from Label Studio.

    export LABEL_STUDIO_URL=http://localhost:8080 LABEL_STUDIO_API_KEY=...   # only needed for training
    arabic-ner serve --model models/tiny                                    # http://127.0.0.1:9090

Then in Label Studio: the project's Settings > Model > Connect Model, URL http://127.0.0.1:9090
(Label Studio refuses local addresses unless it runs with ML_BLOCK_LOCAL_IP=false).

Its "Start Training" button exports the project's completed annotations, trains a new model with
the served model's recipe (its training_config.yaml, or --train-config) by running arabic-ner train
in the background, and serves the new model when it is done; a failed training leaves the running
model serving. With --train-every N, every N annotations submitted in a project start that
training too, as annotators work (at most one training runs and one waits).

    export BASIC_AUTH_USER=ner BASIC_AUTH_PASS=...      # then every request must carry them
    arabic-ner serve --model models/tiny --host 0.0.0.0 --train-every 20

With BASIC_AUTH_USER and BASIC_AUTH_PASS set, Label Studio connects with them (Connect Model >
Use Basic Authentication). The backend binds to 127.0.0.1 unless --host says otherwise, and
refuses any other address without them. The Label Studio URL and key, and the credentials,
come from the environment only and are never printed. The protocol, route by route, is
described in arabic_ner.labelstudio.backend.
"""

from __future__ import annotations

import argparse
import ipaddress
import logging
import os
import socket
from pathlib import Path

from ..core.problems import UserError
from ..labelstudio.backend import MAX_REQUEST_MB, Options
from .common import port, positive, positive_number

log = logging.getLogger("arabic_ner.serve")


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="arabic-ner serve", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, metavar="DIR", help="trained model directory to serve")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    parser.add_argument("--port", type=port, default=9090, help="default 9090")
    parser.add_argument("--models-dir", metavar="DIR", help="where models trained from Label Studio go (default: beside --model)")
    parser.add_argument("--train-config", metavar="YAML", help="the recipe for training from Label Studio (default: --model's training_config.yaml)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="a config override for that training, as arabic-ner train --set")
    parser.add_argument("--train-every", type=positive, metavar="N",
                        help="train again after every N annotations submitted in a project (its annotation webhooks); default: on Start Training only")
    parser.add_argument("--max-request-mb", type=positive_number, default=MAX_REQUEST_MB, help=f"largest request accepted (default {MAX_REQUEST_MB})")
    parser.add_argument("--batch-size", type=positive, default=32, help="most windows per tagging batch (default 32)")
    parser.add_argument("--device", choices=["cpu", "cuda"], help="default: cuda if available")
    return parser.parse_args(argv)


def options_from(args) -> Options:
    model = Path(args.model)
    train_config = Path(args.train_config) if args.train_config else model / "training_config.yaml"
    if args.train_config and not train_config.is_file():
        raise UserError(f"{train_config}: --train-config not found")
    if not train_config.is_file():
        train_config = None
    for item in args.set:  # a --set that is not KEY=VALUE is one line now; its value is checked by the training
        if "=" not in item or not item.split("=", 1)[0].strip():
            from ..core.problems import quoted

            raise UserError(f"--set {quoted(item)}: expected key=value, e.g. --set num_train_epochs=3")
    if args.train_every and train_config is None:
        raise UserError(f"--train-every: {model} has no training_config.yaml to train with; give --train-config CONFIG")
    if args.train_every and not (os.environ.get("LABEL_STUDIO_URL") and os.environ.get("LABEL_STUDIO_API_KEY")):
        raise UserError("--train-every: a training exports the project from Label Studio; "
                        "export LABEL_STUDIO_URL=http://localhost:8080 LABEL_STUDIO_API_KEY=<your token> first")
    models_dir = Path(args.models_dir) if args.models_dir else model.resolve().parent
    return Options(args.model, models_dir, train_config, args.set, args.device, args.batch_size, args.train_every)


def credentials(host: str) -> tuple[str, str] | None:
    """The (user, password) every request must carry, from BASIC_AUTH_USER and BASIC_AUTH_PASS (never
    from the command line, where other users see it); none on loopback only."""
    user, password = os.environ.get("BASIC_AUTH_USER", ""), os.environ.get("BASIC_AUTH_PASS", "")
    if bool(user) != bool(password):
        given, missing = ("BASIC_AUTH_USER", "BASIC_AUTH_PASS") if user else ("BASIC_AUTH_PASS", "BASIC_AUTH_USER")
        raise UserError(f"{given} is set but {missing} is not: set both (the user and password Label Studio connects with), or neither")
    if ":" in user:
        raise UserError("BASIC_AUTH_USER holds a ':', which HTTP basic authentication cannot carry in a user name; choose another")
    if user:
        return user, password
    if not is_loopback(host):
        raise UserError(f"--host {host}: any machine that reaches it could tag text and start trainings; set BASIC_AUTH_USER and "
                        "BASIC_AUTH_PASS in the backend's environment (and the same in Label Studio's Connect Model dialog, "
                        "Use Basic Authentication), or bind --host 127.0.0.1")
    return None


def is_loopback(host: str) -> bool:
    """Whether every address ``host`` names is this machine's loopback (127.0.0.0/8, ::1)."""
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror:
        return False  # check_can_listen says what is wrong with it
    return bool(infos) and all(ipaddress.ip_address(info[4][0].split("%", 1)[0]).is_loopback for info in infos)


def main(argv=None) -> int:
    import uvicorn

    from ..labelstudio.backend import Backend, build_app
    from ..model.precision import check_device

    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    package = logging.getLogger("arabic_ner")  # a server's log: time, level and source on every line, the library's too
    package.handlers.clear()
    package.propagate = True
    check_device(args.device)
    options = options_from(args)
    check_can_listen(args.host, args.port)  # before the model loads, which takes a while
    login = credentials(args.host)
    backend = Backend(options)
    if options.train_config is None:
        log.warning("%s has no training_config.yaml: training from Label Studio is off (give --train-config)", args.model)
    elif not (os.environ.get("LABEL_STUDIO_URL") and os.environ.get("LABEL_STUDIO_API_KEY")):
        log.warning("LABEL_STUDIO_URL and LABEL_STUDIO_API_KEY are not both set: training from Label Studio will be refused until they are")
    log.info("Label Studio model backend at http://%s:%d (Settings > Model > Connect Model)%s", args.host, args.port,
             ", basic authentication on" if login else "")
    if options.train_every:
        log.info("training after every %d annotations submitted in a project", options.train_every)
    uvicorn.run(build_app(backend, args.max_request_mb, login), host=args.host, port=args.port, log_level="info")
    return 0


def check_can_listen(host: str, port: int) -> None:
    """Whether this process may listen on ``host:port`` now: a taken port or an address that is not
    this machine's is one line before the model loads, not a traceback after."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise UserError(f"--host {host}: not an address this machine can listen on ({exc.strerror})") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            raise UserError(f"--host {host} --port {port}: cannot listen there ({exc.strerror}); "
                            "choose a free port, or stop what uses it") from None

"""The old entry point ``python -m arabic_ner.labelstudio push|pull|score``: it runs ``arabic-ner push|pull|score``."""

import sys

if __name__ == "__main__":
    from ..cli import main

    if sys.argv[1:2] not in (["push"], ["pull"], ["score"]):
        print("usage: python -m arabic_ner.labelstudio push|pull|score [options]  (now: arabic-ner push|pull|score)", file=sys.stderr)
        sys.exit(2)
    main(sys.argv[1:])

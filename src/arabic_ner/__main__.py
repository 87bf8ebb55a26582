"""``python -m arabic_ner SUBCOMMAND ...``: the same as the ``arabic-ner`` command."""

from .cli import main

if __name__ == "__main__":
    main()

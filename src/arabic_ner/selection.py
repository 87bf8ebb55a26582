"""The old entry point ``python -m arabic_ner.selection``: it runs ``arabic-ner select`` (arabic_ner/cli/select.py)."""

if __name__ == "__main__":
    from .cli import script

    script("select")

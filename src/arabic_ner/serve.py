"""The old entry point ``python -m arabic_ner.serve``: it runs ``arabic-ner serve`` (arabic_ner/cli/serve.py)."""

if __name__ == "__main__":
    from .cli import script

    script("serve")

"""`python evaluate.py ...` is `arabic-ner evaluate ...`: the project's layout keeps this script; the command lives
in the package (arabic_ner/cli/evaluate.py). `arabic-ner evaluate --help` lists the options."""

from arabic_ner.cli import script

if __name__ == "__main__":
    script("evaluate")

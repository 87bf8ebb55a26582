"""`python train.py ...` is `arabic-ner train ...`: the project's layout keeps this script; the command lives
in the package (arabic_ner/cli/train.py). `arabic-ner train --help` lists the options."""

from arabic_ner.cli import script

if __name__ == "__main__":
    script("train")

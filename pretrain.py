"""`python pretrain.py ...` is `arabic-ner pretrain ...`: the project's layout keeps this script; the command lives
in the package (arabic_ner/cli/pretrain.py). `arabic-ner pretrain --help` lists the options."""

from arabic_ner.cli import script

if __name__ == "__main__":
    script("pretrain")

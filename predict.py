"""`python predict.py ...` is `arabic-ner predict ...`: the project's layout keeps this script; the command lives
in the package (arabic_ner/cli/predict.py). `arabic-ner predict --help` lists the options."""

from arabic_ner.cli import script

if __name__ == "__main__":
    script("predict")

"""The benchmarks: each runs from the repository root as ``python -m bench.NAME`` (``.venv/bin/python -m bench.accuracy``),
with the package installed as ``make install`` installs it; their numbers are in ``bench/*.md`` and the docs' benchmarks page."""

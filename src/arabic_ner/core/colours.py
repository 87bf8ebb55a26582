"""The colour of each entity type, kept in one place.

The Label Studio labeling config gives each label one of these colours. The HTML pages
highlight entities with a pale tint of the same colour, so black Arabic text stays readable.
A reviewer who moves between the two sees each type in the same hue.
"""

from __future__ import annotations

from typing import Sequence

TYPE_COLOURS = {"LOC": "#2E86DE", "ORG": "#E67E22", "WEAPON": "#C0392B", "COUNT": "#27AE60", "DATE": "#8E44AD"}
OTHER_COLOURS = ["#16A085", "#F1C40F", "#E84393", "#7F8C8D", "#2C3E50", "#6D4C41"]  # for types not listed above


def type_colours(labels: Sequence[str]) -> dict[str, str]:
    """A colour for each label: its own from ``TYPE_COLOURS``, else the next of ``OTHER_COLOURS``."""
    others = iter(OTHER_COLOURS * (len(labels) // len(OTHER_COLOURS) + 1))
    return {label: TYPE_COLOURS.get(label) or next(others) for label in labels}


def tint(colour: str, strength: float = 0.35) -> str:
    """``colour`` (``#RRGGBB``) mixed with white, keeping ``strength`` of the colour: a highlight
    background that black text reads well on.

    >>> tint("#2E86DE")
    '#b6d5f3'
    """
    channels = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return "#" + "".join(f"{round(255 - strength * (255 - c)):02x}" for c in channels)

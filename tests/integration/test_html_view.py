"""The HTML view holds the document's exact text, escaped, with each span in its own mark,
and a real browser draws it with the highlights."""

from __future__ import annotations

import colorsys
import shutil
import subprocess
import xml.etree.ElementTree as ET
from html import unescape
from html.parser import HTMLParser

import pytest
from PIL import Image

from arabic_ner.core.colours import TYPE_COLOURS, tint
from arabic_ner.core.document import Document, Span
from arabic_ner.data.html import html_fragment, html_page
from arabic_ner.labelstudio.client import labeling_config

from helpers import HARD_CASES, marked

LABELS = ["LOC", "ORG", "WEAPON", "COUNT", "DATE"]
LOC_TINT = tint(TYPE_COLOURS["LOC"])


class TextAndMarks(HTMLParser):
    """The text inside ``<div class="text">`` and each ``<mark>``'s attributes and content."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.depth = 0  # > 0 inside the text div
        self.text, self.marks, self.in_mark = [], [], None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if self.depth:
            self.depth += tag == "div"
            if tag == "mark":
                self.in_mark = {**attrs, "content": ""}
        elif tag == "div" and attrs.get("class") == "text":
            self.depth = 1

    def handle_endtag(self, tag):
        if self.depth and tag == "mark":
            self.marks.append(self.in_mark)
            self.in_mark = None
        elif self.depth and tag == "div":
            self.depth -= 1

    def handle_data(self, data):
        if self.depth:
            self.text.append(data)
            if self.in_mark is not None:
                self.in_mark["content"] += data


def parse(html: str) -> TextAndMarks:
    parser = TextAndMarks()
    parser.feed(html)
    return parser


@pytest.mark.parametrize("case", range(len(HARD_CASES)))
def test_page_text_is_the_document_text_and_each_mark_its_span(case):
    # CRLF, NBSP, invisible marks, runs of spaces, emoji: the page must hold them all unchanged.
    doc = marked(HARD_CASES[case])
    page = parse(html_page(doc, LABELS))
    assert "".join(page.text) == doc.text
    assert [(int(m["data-start"]), int(m["data-end"]), m["data-label"]) for m in page.marks] == [(s.start, s.end, s.label) for s in doc.spans]
    assert [m["content"] for m in page.marks] == [doc.text[s.start:s.end] for s in doc.spans]


def test_page_is_a_right_to_left_arabic_page():
    page = html_page(marked("قصف ل⟦ORG|داعش⟧"), LABELS)
    assert page.startswith('<!DOCTYPE html>\n<html dir="rtl" lang="ar">')
    assert '<meta charset="utf-8">' in page and "<title>doc</title>" in page


def test_markup_in_the_text_is_escaped():
    doc = Document("<b>id</b>", 'قال <script>alert("x")</script> & ⟦', [Span(4, 12, "ORG")])
    page = html_page(doc)
    assert "<script>" not in page and "<b>id</b>" not in page
    assert "&lt;script&gt;" in page and "&amp;" in page
    assert "".join(parse(page).text) == doc.text
    assert unescape(parse(page).marks[0]["content"]) == "<script>"


def test_each_type_gets_its_colour_and_the_legend_lists_every_type_with_its_count():
    doc = marked("⟦LOC|الموصل⟧ و⟦LOC|الرقة⟧ و⟦PER|زيد⟧")
    fragment = html_fragment(doc, LABELS)
    assert fragment.count(f"background-color: {LOC_TINT}\" data-label=\"LOC\"") == 2
    legend = fragment.split('<div class="legend">')[1].split("</div>")[0]
    keys = [k.split(">")[1].split("<")[0] for k in legend.split('class="key"')[1:]]
    counts = [c.split(">")[1].split("<")[0] for c in legend.split('class="count"')[1:]]
    assert keys == LABELS + ["PER"]  # a type outside the list is added, with a colour of its own
    assert counts == ["2", "0", "0", "0", "0", "1"]


def test_each_type_has_the_hue_of_its_label_studio_colour():
    """The page highlights a type with a pale tint of the colour the labeling config gives it."""
    config = ET.fromstring(labeling_config(LABELS + ["PER"]))
    ls_colour = {e.get("value"): e.get("background") for e in config.iter("Label")}
    fragment = html_fragment(marked(" ".join(f"⟦{label}|كلمة⟧" for label in LABELS + ["PER"])))
    for label, colour in ls_colour.items():
        assert f'background-color: {tint(colour)}" data-label="{label}"' in fragment
        assert colorsys.rgb_to_hsv(*rgb(tint(colour)))[0] == pytest.approx(colorsys.rgb_to_hsv(*rgb(colour))[0], abs=0.01)
        assert min(rgb(tint(colour))) > 0.6  # pale: black text stays readable
    assert len(set(ls_colour.values())) == len(ls_colour)


def rgb(hex_colour: str) -> tuple[float, ...]:
    return tuple(int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5))


def test_overlapping_spans_are_refused_with_both_named():
    doc = Document("d", "قصف لداعش", [Span(4, 9, "ORG"), Span(5, 9, "LOC")])
    with pytest.raises(ValueError, match=r"spans overlap: \[4,9\) 'لداعش' ORG and \[5,9\) 'داعش' LOC"):
        html_page(doc)


def test_a_span_outside_the_text_is_refused():
    with pytest.raises(ValueError, match=r"span \[5,20\) ORG is empty or outside the text \(length 9\)"):
        html_page(Document("d", "قصف لداعش", [Span(5, 20, "ORG")]))


def screenshot(html_path, png_path, profile):
    chromium = shutil.which("chromium")
    assert chromium, "chromium is not installed: run `make test` (it installs it) or `apt-get install -y chromium`"
    subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", f"--user-data-dir={profile}", f"--screenshot={png_path}",
         "--window-size=1000,800", html_path.resolve().as_uri()],
        check=True, capture_output=True, timeout=120,
    )
    with Image.open(png_path) as image:
        return image.convert("RGB")


def count_colour(image, hex_colour: str, tolerance: int = 3) -> int:
    target = tuple(int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))
    return sum(n for n, rgb in image.getcolors(maxcolors=1 << 20) if all(abs(a - b) <= tolerance for a, b in zip(rgb, target)))


def page_file(doc, path):
    path.write_text(html_page(doc, LABELS), encoding="utf-8")
    return path


def test_chromium_draws_the_page_with_the_entities_highlighted(tmp_path):
    """Render the page with its spans and the same page without them: the legend is the same in both,
    so only highlighted entities can account for the extra pixels of the LOC colour."""
    doc = marked("قصف التحالف مواقع ل⟦ORG|داعش⟧ في ⟦LOC|العراق⟧ و⟦LOC|سوريا⟧، وسيطر على ⟦LOC|بغداد⟧.\nسطر ثان")
    with_spans = screenshot(page_file(doc, tmp_path / "a.html"), tmp_path / "a.png", tmp_path / "profile")
    plain = Document(doc.id, doc.text, [])
    without = screenshot(page_file(plain, tmp_path / "b.html"), tmp_path / "b.png", tmp_path / "profile")
    assert with_spans.size == (1000, 800)
    assert len(with_spans.getcolors(maxcolors=1 << 20)) > 50  # text was drawn: not a blank page
    highlighted, legend_only = count_colour(with_spans, LOC_TINT), count_colour(without, LOC_TINT)
    assert legend_only > 0  # the legend key is drawn in the LOC colour
    assert highlighted > legend_only + 1000  # three highlighted words of some 30 x 30 pixels each

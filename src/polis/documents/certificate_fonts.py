"""The DejaVu Sans font of the generated PDFs: a Latin subset cut once per process, with the full
font as the fallback for text outside it (see :mod:`polis.documents.certificates`)."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import matplotlib
from fontTools import subset as font_subset  # type: ignore[import-untyped]
from fontTools.ttLib import TTFont  # type: ignore[import-untyped]
from fpdf import FPDF
from fpdf.fonts import TTFFont

# nothing public: private helpers of the PDF renderers (certificates, statements)
__all__: list[str] = []

_FAMILY = "DejaVu"
# one weight only: parsing and subsetting a font is most of the cost of a PDF, and a second (bold)
# font would add ~6 ms; hierarchy comes from size and colour
_FONT_FILE = "DejaVuSans.ttf"
# Western and Central European Latin, punctuation, the euro sign: small enough to parse in ~2 ms
_FAST_RANGES: Final = (
    (0x20, 0x7E),
    (0xA0, 0x17F),
    (0x218, 0x21B),
    (0x2010, 0x2027),
    (0x202F, 0x203A),
    (0x20AC, 0x20AC),
    (0x2122, 0x2122),
    (0x2190, 0x2193),
    (0x2212, 0x2212),
)


_font_lock = threading.Lock()


@dataclass(frozen=True, slots=True)
class _Fonts:
    fast: Path
    full: Path
    coverage: frozenset[int]


def _cut_subset(source: Path, target: Path) -> frozenset[int]:
    options = font_subset.Options()
    options.layout_features = []
    options.hinting = False
    options.glyph_names = False
    options.notdef_outline = True
    options.drop_tables += ["FFTM", "GDEF", "GPOS", "GSUB", "MATH", "kern", "hdmx", "meta"]
    font = TTFont(source)
    subsetter = font_subset.Subsetter(options)
    subsetter.populate(
        unicodes=[code for low, high in _FAST_RANGES for code in range(low, high + 1)]
    )
    subsetter.subset(font)
    font.save(target)
    return frozenset(font.getBestCmap())


_prepared: list[_Fonts] = []


def _remove(directory: Path, owner: int) -> None:
    if os.getpid() == owner:  # not from a forked worker: the parent may still use it
        shutil.rmtree(directory, ignore_errors=True)


def _prepare_fonts() -> _Fonts:
    full = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / _FONT_FILE
    cache = Path(tempfile.mkdtemp(prefix="polis-fonts-"))
    atexit.register(_remove, cache, os.getpid())
    fast = cache / _FONT_FILE
    return _Fonts(fast, full, _cut_subset(full, fast))


def _fonts() -> _Fonts:
    """The font files, prepared once per process (thread-safe; again if a temp cleaner ate them)."""
    if not _prepared or not _prepared[0].fast.exists():
        with _font_lock:
            if not _prepared or not _prepared[0].fast.exists():
                _prepared[:] = [_prepare_fonts()]
    return _prepared[0]


def _add_font(pdf: FPDF, texts: list[str]) -> None:
    fonts = _fonts()
    needed = {ord(c) for text in texts for c in text if c != "\n"}
    pdf.add_font(_FAMILY, "", fonts.fast if needed <= fonts.coverage else fonts.full)
    for font in pdf.fonts.values():
        if isinstance(font, TTFFont):
            # the bounding boxes of our fonts are right: don't recompute (and re-encode) every glyph
            font.ttfont.recalcBBoxes = False

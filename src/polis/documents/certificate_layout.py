"""Text layout on a certificate PDF page: colours and a linear greedy word wrap."""

from __future__ import annotations

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from polis.documents.certificate_fonts import _FAMILY

# nothing public: a private helper of the certificate renderer
__all__: list[str] = []

_INK = (20, 33, 61)
_MUTED = (95, 104, 120)
_ACCENT = (31, 78, 121)
_RULE = (200, 205, 215)
_BAND = (234, 241, 248)

_CHAR_WIDTHS: dict[str, float] = {}


class _Page:
    """Text blocks laid out with our own greedy word wrap.

    fpdf2's ``multi_cell`` re-measures the growing line for every character (quadratic, ~40 % of
    the rendering time here); measuring each character once per font and summing is exact for
    fonts drawn without text shaping, and linear.
    """

    def __init__(self, pdf: FPDF) -> None:
        self.pdf = pdf

    def font(self, size: float, color: tuple[int, int, int]) -> None:
        self.pdf.set_font(_FAMILY, "", size)
        self.pdf.set_text_color(*color)

    def rule(self, y: float) -> None:
        """A thin grey line across the page at ``y``."""
        pdf = self.pdf
        pdf.set_draw_color(*_RULE)
        pdf.set_line_width(0.2)
        pdf.line(pdf.l_margin, y, pdf.w - pdf.r_margin, y)

    def _width(self, text: str) -> float:
        size = self.pdf.font_size_pt
        total = 0.0
        for char in text:
            unit = _CHAR_WIDTHS.get(char)
            if unit is None:
                # width at 1 pt; the fast subset and the full font share their glyph metrics
                unit = self.pdf.get_string_width(char) / size
                _CHAR_WIDTHS[char] = unit
            total += unit
        return total * size

    def _split_long(self, word: str, width: float) -> list[str]:
        pieces: list[str] = []
        current = ""
        for char in word:
            if current and self._width(current + char) > width:
                pieces.append(current)
                current = ""
            current += char
        return [*pieces, current]

    def wrap(self, text: str, width: float) -> list[str]:
        lines: list[str] = []
        space = self._width(" ")
        for paragraph in text.split("\n"):
            line, line_width = "", 0.0
            for word in paragraph.split(" "):
                parts = [word] if self._width(word) <= width else self._split_long(word, width)
                for part in parts:
                    part_width = self._width(part)
                    if line and line_width + space + part_width > width:
                        lines.append(line)
                        line, line_width = "", 0.0
                    if line:
                        line, line_width = f"{line} {part}", line_width + space + part_width
                    else:
                        line, line_width = part, part_width
            lines.append(line)
        return lines

    def block(
        self,
        x: float,
        width: float,
        height: float,
        text: str,
        *,
        align: str = "L",
        link: str = "",
    ) -> float:
        """Write ``text`` wrapped to ``width`` from the current ``y``; return the ``y`` below it."""
        pdf = self.pdf
        for line in self.wrap(text, width - 2 * pdf.c_margin):
            if pdf.will_page_break(height):
                pdf.add_page()
            if align == "L" and not link:
                # what ``cell`` would draw, without its per-call machinery (4× cheaper)
                y = pdf.get_y()
                pdf.text(x + pdf.c_margin, y + 0.5 * height + 0.3 * pdf.font_size, line)
                pdf.set_y(y + height)
            else:
                pdf.set_x(x)
                pdf.cell(
                    width, height, line, align=align, link=link, new_x=XPos.LEFT, new_y=YPos.NEXT
                )
        return pdf.get_y()

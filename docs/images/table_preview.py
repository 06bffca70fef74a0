"""Draw the tables of a LaTeX file of `airshower figures` (summary.tex, targets.tex) as a PNG, against the page.

A preview for the README without a LaTeX installation: each ``tabular`` is set in Computer
Modern at 10 pt with matplotlib's mathtext, column widths as estimated by
:func:`airshower.figures.summary.estimate_width_pt` (LaTeX's own widths differ by a few
percent), booktabs rules, centred on a page whose text width is that of a two-column article
(510 pt; dotted: the 246 pt column). A table wider than the grey text block does not fit.

    .venv/bin/python docs/images/table_preview.py results/default/figures/summary.tex docs/images/summary_table_after.png
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402

from airshower.figures.summary import COLUMN_PT, TABCOLSEP_PT, TEXT_PT, _tex_width_pt  # noqa: E402

ROW_PT = 14.0
MULTI = re.compile(r"\\multicolumn\{(\d+)\}\{(\w)\}\{(.*)\}$")


def _text(cell: str) -> str:
    """A LaTeX cell as matplotlib text (mathtext kept)."""
    return cell.replace("--", "-").replace(r"\,", " ").replace(r"\%", "%").replace(r"\_", "_").strip()


def parse(tex: str) -> list[dict]:
    """Every tabular: its column alignment and rows (lists of (text, span, align)) with rules between."""
    tables = []
    pattern = r"\\begin\{(table\*?)\}(.*?)\\begin\{tabular\}\{(\w+)\}(.*?)\\end\{tabular\}"
    for env, preamble, spec, block in re.findall(pattern, tex, re.S):
        rows: list = []
        tabcolsep = 4.0 if r"\setlength{\tabcolsep}{4pt}" in preamble else TABCOLSEP_PT
        for line in block.strip().splitlines():
            line = line.strip()
            if line in (r"\toprule", r"\bottomrule"):
                rows.append(("rule", 0.8, None))
            elif line == r"\midrule":
                rows.append(("rule", 0.5, None))
            elif line.startswith(r"\cmidrule"):
                a, b = map(int, re.search(r"\{(\d+)-(\d+)\}", line).groups())
                rows.append(("cmidrule", a - 1, b - 1))
            elif line == r"\addlinespace":
                rows.append(("space", None, None))
            elif line.endswith(r"\\"):
                cells = []
                for cell in re.split(r"(?<!\\)&", line.removesuffix(r"\\")):
                    match = MULTI.match(cell.strip())
                    cells.append((match[3], int(match[1]), match[2]) if match else (cell.strip(), 1, None))
                rows.append(("cells", cells, None))
        tables.append({"env": env, "spec": spec, "rows": rows, "tabcolsep": tabcolsep,
                       "size": 9.0 if r"\small" in preamble else 10.0})
    return tables


def draw(tables: list[dict], out: Path) -> None:
    layouts = []
    for t in tables:
        n = len(t["spec"])
        widths = [0.0] * n
        for kind, cells, _ in t["rows"]:
            if kind != "cells":
                continue
            col = 0
            for text, span, _align in cells:
                if span == 1 and col < n:
                    widths[col] = max(widths[col], _tex_width_pt(text, t["size"]))
                col += span
        widths = [w + 2 * t["tabcolsep"] for w in widths]
        layouts.append(widths)
    page = max([TEXT_PT + 40.0] + [sum(w) + 40.0 for w in layouts])
    steps = {"cells": ROW_PT, "rule": 3.0, "space": 4.0, "cmidrule": 0.0}
    heights = [sum(steps[r[0]] for r in t["rows"]) for t in tables]
    total = 22.0 + sum(h + 30.0 for h in heights)
    with plt.rc_context({"mathtext.fontset": "cm", "font.family": "cmr10", "axes.formatter.use_mathtext": True}):
        fig = plt.figure(figsize=(page / 72.0, total / 72.0), dpi=150)
        ax = fig.add_axes((0, 0, 1, 1))
        ax.set_xlim(0, page)
        ax.set_ylim(total, 0)
        ax.axis("off")
        centre = page / 2.0
        ax.axvspan(centre - TEXT_PT / 2, centre + TEXT_PT / 2, color="0.93", zorder=0)
        for x in (centre - COLUMN_PT / 2, centre + COLUMN_PT / 2):
            ax.axvline(x, color="0.6", lw=0.6, ls=":", zorder=0)
        ax.text(centre + TEXT_PT / 2 - 2, 8, r"text width 510 pt (grey), column 246 pt (dotted)", ha="right",
                va="top", fontsize=7, color="0.4")
        y = 22.0
        for t, widths in zip(tables, layouts, strict=True):
            left = centre - sum(widths) / 2
            edges = [left + sum(widths[:k]) for k in range(len(widths) + 1)]
            ax.text(left, y - 4, t["env"], fontsize=7, color="0.4", va="bottom")
            for kind, a, b in t["rows"]:
                if kind == "rule":
                    ax.plot([edges[0], edges[-1]], [y, y], color="black", lw=a)
                    y += 3
                elif kind == "cmidrule":
                    ax.plot([edges[a] + 3, edges[b + 1] - 3], [y - 1, y - 1], color="black", lw=0.4)
                elif kind == "space":
                    y += 4
                else:
                    col = 0
                    for text, span, align in a:
                        align = align or t["spec"][min(col, len(t["spec"]) - 1)]
                        lo, hi = edges[col], edges[min(col + span, len(widths))]
                        pad = t["tabcolsep"]
                        x, ha = {"l": (lo + pad, "left"), "r": (hi - pad, "right")}.get(align, ((lo + hi) / 2, "center"))
                        if text.strip():
                            ax.text(x, y + ROW_PT / 2, _text(text), ha=ha, va="center", fontsize=t["size"])
                        col += span
                    y += ROW_PT
            y += 30.0
        fig.savefig(out, dpi=150)
        plt.close(fig)


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    draw(parse(Path(argv[0]).read_text()), Path(argv[1]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

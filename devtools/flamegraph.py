"""A py-spy speedscope recording as a flame graph (svg, readable in any browser and inline in
docs/performance.md) and as the frames that cost most, for the profile's JSON.

py-spy writes one format per recording; this renders the second from the first, so one
recording (one set of pauses of LocalStack) gives both.
"""

from __future__ import annotations

import html
import json
import re
import zlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

WIDTH = 1200
ROW = 16
MIN_WIDTH_PX = 0.5  # narrower frames are left out of the svg (their time stays in the parent)


@dataclass
class Node:
    name: str
    weight: float = 0.0
    children: dict[str, Node] = field(default_factory=dict)


def frame_name(frame: dict[str, Any]) -> str:
    """``function (package/module.py)``: site-packages and the stdlib folder cut off."""
    path = re.sub(r"^.*/(site-packages|lib/python3\.\d+)/", "", str(frame.get("file", "")))
    return f"{frame['name']} ({path})"


def load(speedscope: Path) -> tuple[Node, Counter[str], Counter[str]]:
    """The merged call tree of every thread, and the self and inclusive time per frame."""
    data = json.loads(speedscope.read_text())
    names = [frame_name(f) for f in data["shared"]["frames"]]
    root = Node("all")
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    for profile in data["profiles"]:
        for stack, weight in zip(profile["samples"], profile["weights"], strict=True):
            node = root
            root.weight += weight
            for index in stack:
                node = node.children.setdefault(names[index], Node(names[index]))
                node.weight += weight
            if stack:
                own[names[stack[-1]]] += weight
            for name in {names[i] for i in stack}:
                inclusive[name] += weight
    return root, own, inclusive


def top(counts: Counter[str], total: float, n: int = 15) -> list[dict[str, Any]]:
    return [{"frame": k, "percent": round(100 * v / total, 1)} for k, v in counts.most_common(n)]


def render_svg(root: Node, title: str) -> str:
    """A classic flame graph: callers below, callees above, width = share of samples."""
    if root.weight <= 0:
        root = Node("no samples", 1.0)  # an empty recording: an empty graph, not a crash
    boxes: list[tuple[int, float, float, Node]] = []  # depth, x, width, node

    def place(node: Node, x: float, depth: int) -> None:
        width = WIDTH * node.weight / root.weight
        if width < MIN_WIDTH_PX:
            return
        boxes.append((depth, x, width, node))
        for child in sorted(node.children.values(), key=lambda c: c.name):
            place(child, x, depth + 1)
            x += WIDTH * child.weight / root.weight

    place(root, 0.0, 0)
    height = (max(depth for depth, *_ in boxes) + 3) * ROW
    rects = []
    for depth, x, width, node in boxes:
        y = height - (depth + 1) * ROW  # callers at the bottom
        label = f"{node.name} ({100 * node.weight / root.weight:.1f}%)"
        hue = 10 + zlib.crc32(node.name.encode()) % 40
        text = html.escape(node.name[: int(width / 7)]) if width > 40 else ""
        rects.append(
            f'<g><title>{html.escape(label)}</title><rect x="{x:.1f}" y="{y}" '
            f'width="{width:.1f}" height="{ROW - 1}" fill="hsl({hue},85%,62%)"/>'
            f'<text x="{x + 3:.1f}" y="{y + ROW - 4}">{text}</text></g>'
        )
    body = "\n".join(rects)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'font-family="monospace" font-size="11">\n'
        f'<text x="4" y="13" font-size="13">{html.escape(title)} (hover for names)</text>\n'
        f"{body}\n</svg>\n"
    )

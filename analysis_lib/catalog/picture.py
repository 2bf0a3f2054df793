"""A picture of a lineage (``al.catalog.lineage``): files on the left, what is made of them to the
right, an arrow from every input to what reads it."""

from __future__ import annotations

_COLOURS = {"file": "#dbe9f6", "table": "#fde0c5", "view": "#d9f0d3", "materialized view": "#e5d8f0"}


def draw_lineage(lineage, ax=None):
    """``lineage``: the DataFrame ``lineage(name)`` returns (upstream first). Returns the matplotlib Axes."""
    import matplotlib.pyplot as plt

    depth: dict[str, int] = {}
    for row in lineage.itertuples():
        depth[row.entry] = 1 + max((depth[i] for i in row.inputs if i in depth), default=-1)
    layers: dict[int, list[str]] = {}
    for entry, level in depth.items():
        layers.setdefault(level, []).append(entry)
    tallest = max(len(names) for names in layers.values())
    where = {name: (level, (tallest - 1) / 2 - i) for level, names in layers.items() for i, name in enumerate(names)}
    if ax is None:
        _, ax = plt.subplots(figsize=(3.4 * len(layers), 1.1 * tallest + 0.6))
    boxes = {}
    for row in lineage.itertuples():
        made_of_a_file = not str(row.source).endswith(".sql")
        label = f"{row.entry}\n{row.source.rsplit('/', 1)[-1] if made_of_a_file else row.kind}"
        boxes[row.entry] = ax.text(*where[row.entry], label, ha="center", va="center", fontsize=9, zorder=2, bbox={
            "boxstyle": "round,pad=0.4", "facecolor": _COLOURS["file" if made_of_a_file else row.kind], "edgecolor": "#777777"})
    for row in lineage.itertuples():
        for parent in (p for p in row.inputs if p in boxes):
            skips = depth[row.entry] - depth[parent] > 1  # bent, so it passes what lies between
            ax.annotate("", xy=(0, 0.5), xycoords=boxes[row.entry], xytext=(1, 0.5), textcoords=boxes[parent], zorder=3,
                        arrowprops={"arrowstyle": "-|>", "color": "#555555", "shrinkA": 4, "shrinkB": 4,
                                    "connectionstyle": f"arc3,rad={-0.25 if skips else 0}"})
    ax.set_xlim(-0.7, len(layers) - 0.3)
    ax.set_ylim(-tallest / 2 - 0.2, tallest / 2 + 0.2)
    ax.set_axis_off()
    return ax

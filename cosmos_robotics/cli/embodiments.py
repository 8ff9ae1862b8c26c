"""``cosmos-robotics embodiments``: the table of Cosmos 3 domains and the adapters implemented for them."""

from __future__ import annotations

from cosmos_robotics.embodiments import DOMAINS, available_adapters, get_adapter


def register(sub) -> None:
    from cosmos_robotics.cli import add_command

    parser = add_command(
        sub, "embodiments", "list Cosmos 3 action domains and the adapters for them",
        "Every action domain Cosmos 3 was trained on (id, raw action width, whether diffusers runs it, the\n"
        "cookbook preset), then the adapters this toolkit implements with their width, modes and contract.",
        "cosmos-robotics embodiments")
    parser.set_defaults(func=run)


def run(args) -> int:
    header = ("domain", "id", "width", "diffusers", "preset chunk/tier/fps", "adapters", "layout")
    rows = [
        (d.name, str(d.domain_id), "-" if d.raw_action_dim is None else str(d.raw_action_dim),
         "yes" if d.in_diffusers else "no", "-" if d.preset is None else "{}/{}/{:g}".format(*d.preset),
         ",".join(d.adapters) or "-", d.layout)
        for d in DOMAINS
    ]
    widths = [max(len(r[i]) for r in (header, *rows)) for i in range(len(header))]
    for row in (header, tuple("-" * w for w in widths), *rows):
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    print()
    for name in available_adapters():
        adapter = get_adapter(name)
        modes = ",".join(m.value for m in adapter.modes)
        print(f"{name:12s} {adapter.domain_name} {adapter.action_dim}D [{modes}] {adapter.description}")
    return 0

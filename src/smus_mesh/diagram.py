"""`smus-mesh diagram`: the mesh as observed, drawn as SVG (or Mermaid text) in pure Python.

`observe_mesh` reads what exists now through the same read-only observation as `plan`
(no state change, no mutating call) and keeps, per resource, its observed status, the
drift from the config, whether the set-up owns it, and the action `up` would take.
Each resource is drawn in the account it lives in for a person: a project, its
environments and its subscriptions in the project's account, a table and its listing in
the producer's. `to_svg` lays the accounts out as columns (one region each, sections
DataZone / Data / Subscriptions / Foundations) and draws the collaboration's path as
arrows: domain -> project, table -> listing -> subscription request -> approval -> grant
-> consumer project. No browser, Graphviz or other system binary is needed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import escape

if TYPE_CHECKING:
    from smus_mesh.engine.workspace import Workspace

#: Sections of an account's column, top to bottom, by resource kind.
SECTIONS: tuple[tuple[str, frozenset[str]], ...] = (
    (
        "DataZone",
        frozenset(
            {
                "datazone:domain",
                "datazone:blueprint-configuration",
                "datazone:project-profile",
                "datazone:policy-grant",
                "datazone:project",
            }
        ),
    ),
    (
        "Data",
        frozenset(
            {
                "glue:database",
                "glue:table",
                "s3:sample-data",
                "datazone:data-source",
                "datazone:import",
                "datazone:listing",
            }
        ),
    ),
    (
        "Subscriptions and grants",
        frozenset(
            {
                "datazone:subscription-request",
                "datazone:approval",
                "datazone:subscription-grant",
                "lakeformation:grant",
            }
        ),
    ),
)
FOUNDATIONS = "Foundations"

#: The arrows drawn: a dependency from the first kind to the second (the data's path).
ARROWS = frozenset(
    {
        ("datazone:domain", "datazone:project"),
        ("glue:table", "datazone:listing"),
        ("datazone:listing", "datazone:subscription-request"),
        ("datazone:project", "datazone:subscription-request"),
        ("datazone:subscription-request", "datazone:approval"),
        ("datazone:approval", "datazone:subscription-grant"),
        ("datazone:subscription-request", "datazone:subscription-grant"),
    }
)

#: Status -> (stroke, fill); drift is an orange border on top.
COLOURS = {
    "COMPLETE": ("#2e7d32", "#e8f5e9"),
    "IN_PROGRESS": ("#b26a00", "#fff4d6"),
    "FAILED": ("#c62828", "#ffebee"),
    "ABSENT": ("#757575", "#f5f5f5"),
}
DRIFT = "#ef6c00"


@dataclass
class Node:
    key: str
    kind: str
    name: str
    account: str
    status: str
    action: str
    detail: str = ""
    drift: list[str] = field(default_factory=list)
    owned: bool | None = None
    environments: list[str] = field(default_factory=list)
    #: part of a joined domain that the set-up did not make (ADR 26)
    joined: bool = False

    @property
    def section(self) -> str:
        return next((name for name, kinds in SECTIONS if self.kind in kinds), FOUNDATIONS)

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "kind": self.kind,
            "name": self.name,
            "account": self.account,
            "section": self.section,
            "status": self.status,
            "action": self.action,
            "detail": self.detail,
            "drift": self.drift,
            "owned": self.owned,
            "environments": self.environments,
        }


@dataclass
class Mesh:
    setup: str
    #: (alias, account id), the domain's account first.
    accounts: list[tuple[str, str]]
    nodes: list[Node]
    edges: list[tuple[str, str]]

    def to_dict(self) -> dict[str, Any]:
        return {
            "setup": self.setup,
            "accounts": [
                {"alias": alias, "account_id": account_id} for alias, account_id in self.accounts
            ],
            "nodes": [node.to_dict() for node in self.nodes],
            "edges": [{"from": source, "to": target} for source, target in self.edges],
        }


def observe_mesh(workspace: Workspace) -> Mesh:
    """The set-up as it exists now (read-only: the observation `plan` makes)."""
    plan = workspace.plan("up")
    config = workspace.config
    project_account = {p.name: p.account for p in config.projects}
    nodes: list[Node] = []
    for step in plan.steps:
        seen = plan.observed.get(step.key)
        name = step.key.split("/", 1)[1] if "/" in step.key else step.key
        first = name.split("/", 1)[0]
        account = step.account
        if step.kind.startswith("datazone:") and first in project_account:
            account = project_account[first]  # a project's things, in the project's account
        elif step.kind in ("datazone:listing", "datazone:data-source", "datazone:import"):
            table = name.split("/")[-1]
            producer = next((p for p in config.projects if table in p.imports), None)
            account = producer.account if producer is not None else account
        environments = []
        if seen is not None and step.kind == "datazone:project":
            environments = [
                f"{label} {seen.outputs[output]}"
                for label, output in (("tooling", "tooling_env"), ("lakehouse", "lakehouse_env"))
                if seen.outputs.get(output)
            ]
        nodes.append(
            Node(
                step.key,
                step.kind,
                name,
                account,
                seen.status.value if seen is not None else "ABSENT",
                step.action.value,
                seen.detail if seen is not None else "",
                list(step.drift),
                seen.owned if seen is not None else None,
                environments,
                seen.joined if seen is not None else False,
            )
        )
    kinds = {node.key: node.kind for node in nodes}
    depends_on = {step.key: step.depends_on for step in plan.steps}
    drawn = {kind for pair in ARROWS for kind in pair}
    edges = [
        (source, step.key)
        for step in plan.steps
        if step.kind in drawn
        for source in _nearest(step.key, depends_on, kinds, drawn)
        if (kinds[source], step.kind) in ARROWS
    ]
    accounts = [(alias, config.account_id(alias)) for alias in config.used_accounts()]
    return Mesh(config.name, accounts, nodes, edges)


def _nearest(
    key: str, depends_on: dict[str, tuple[str, ...]], kinds: dict[str, str], drawn: set[str]
) -> list[str]:
    """The drawn resources `key` depends on, directly or through resources not drawn
    (a project depends on its domain through its profile)."""
    found: list[str] = []
    seen: set[str] = set()
    queue = list(depends_on.get(key, ()))
    while queue:
        current = queue.pop(0)
        if current in seen or current not in kinds:
            continue
        seen.add(current)
        if kinds[current] in drawn:
            found.append(current)
        else:
            queue.extend(depends_on.get(current, ()))
    return found


# --- SVG -------------------------------------------------------------------------------------

COLUMN = 350
GAP = 90
MARGIN = 24
BOX = 302
ROW = 12
CHAR = 6.6  # average width of a 12px sans-serif character, for truncation


@dataclass
class _Box:
    node: Node
    x: float
    y: float
    width: float
    height: float


def _short(text: str, width: float) -> str:
    most = max(int(width / CHAR), 4)
    return text if len(text) <= most else text[: most - 1] + "…"


#: How a kind is named in a box, when its name alone would mislead.
TITLES = {
    "lakeformation:grant": "LF grant",
    "lakeformation:admin": "LF admin",
    "lakeformation:registration": "LF location",
    "lakeformation:lf-only": "LF-only",
    "iam:role": "role",
    "s3:bucket": "bucket",
    "ec2:network": "network",
}


def _title(kind: str) -> str:
    if kind in TITLES:
        return TITLES[kind]
    return kind.split(":", 1)[1].replace("-", " ") if ":" in kind else kind


def _layout(mesh: Mesh) -> tuple[list[_Box], list[tuple[str, float, float, float, float]], float]:
    """Boxes, account regions (label, x, y, width, height) and the drawing's height."""
    boxes: list[_Box] = []
    regions: list[tuple[str, float, float, float, float]] = []
    bottom = 0.0
    top = MARGIN + 40
    for column, (alias, account_id) in enumerate(mesh.accounts):
        x = MARGIN + column * (COLUMN + GAP)
        y: float = top + 34
        for section in [name for name, _ in SECTIONS] + [FOUNDATIONS]:
            members = [n for n in mesh.nodes if n.account == alias and n.section == section]
            if not members:
                continue
            y += 22  # the section's heading
            for node in members:
                if section == FOUNDATIONS and not node.drift:  # many small things: one line
                    boxes.append(_Box(node, x + 24, y, BOX, 22))
                    y += 22 + 5
                else:
                    lines = 2 + len(node.environments) + (1 if node.drift else 0)
                    height = 10 + lines * 15
                    boxes.append(_Box(node, x + 24, y, BOX, height))
                    y += height + 8
            y += 6
        regions.append((f"{alias} ({account_id})", float(x), float(top), COLUMN, y - top + 8))
        bottom = max(bottom, y + 8)
    return boxes, regions, bottom


def to_svg(mesh: Mesh) -> str:
    """The mesh as a standalone SVG document."""
    boxes, regions, bottom = _layout(mesh)
    width = MARGIN * 2 + len(mesh.accounts) * COLUMN + max(len(mesh.accounts) - 1, 0) * GAP
    legend_y = bottom + 24
    height = legend_y + 70
    at = {box.node.key: box for box in boxes}
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" font-family="DejaVu Sans, Helvetica, Arial, '
        'sans-serif" font-size="12">',
        "<defs>",
        '<marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" '
        'fill="#455a64"/></marker>',
        "</defs>",
        f'<rect width="{width:.0f}" height="{height:.0f}" fill="#ffffff"/>',
        f'<text x="{MARGIN}" y="{MARGIN + 14}" font-size="18" font-weight="bold" '
        f'fill="#263238">smus-mesh: {escape(mesh.setup)}</text>',
        f'<text x="{MARGIN}" y="{MARGIN + 32}" fill="#546e7a">as observed: '
        f"{len(mesh.nodes)} resources in {len(mesh.accounts)} accounts; arrows: the data's "
        "path from the producer's table to the consumer's grant</text>",
    ]
    for label, x, y, w, h in regions:
        out.append(
            f'<g class="account"><rect x="{x}" y="{y}" width="{w}" height="{h:.0f}" rx="10" '
            f'fill="#eceff1" stroke="#90a4ae"/><text x="{x + 12}" y="{y + 22}" font-size="14" '
            f'font-weight="bold" fill="#37474f">account {escape(label)}</text></g>'
        )
    seen_sections: set[tuple[str, str]] = set()
    for box in boxes:
        marker = (box.node.account, box.node.section)
        if marker not in seen_sections:
            seen_sections.add(marker)
            out.append(
                f'<text x="{box.x}" y="{box.y - 7}" font-size="11" font-weight="bold" '
                f'fill="#607d8b" letter-spacing="1">{escape(box.node.section.upper())}</text>'
            )
    for source, target in mesh.edges:
        if source in at and target in at:
            out.append(_arrow(at[source], at[target]))
    for box in boxes:
        out.append(_box(box))
    out += _legend(legend_y)
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _arrow(source: _Box, target: _Box) -> str:
    sy, ty = source.y + source.height / 2, target.y + target.height / 2
    if abs(source.x - target.x) < 1:  # same column: a bow out to the right
        x = source.x + source.width
        bow = x + 28 + min(abs(ty - sy) / 6, 30)
        path = f"M {x} {sy} C {bow} {sy}, {bow} {ty}, {x + 2} {ty}"
    else:
        if target.x > source.x:
            sx, tx = source.x + source.width, target.x - 2
        else:
            sx, tx = source.x, target.x + target.width + 2
        middle = (sx + tx) / 2
        path = f"M {sx} {sy} C {middle} {sy}, {middle} {ty}, {tx} {ty}"
    return (
        f'<path class="edge" d="{path}" fill="none" stroke="#455a64" stroke-width="1.4" '
        'marker-end="url(#arrow)" opacity="0.8"/>'
    )


def _box(box: _Box) -> str:
    node = box.node
    stroke, fill = COLOURS.get(node.status, COLOURS["ABSENT"])
    dash = ' stroke-dasharray="5 3"' if node.status == "ABSENT" or node.owned is False else ""
    border = f'stroke="{DRIFT}" stroke-width="3"' if node.drift else f'stroke="{stroke}"'
    tip = f"{node.key}: {node.status}" + (f" ({node.detail})" if node.detail else "")
    if node.drift:
        tip += "; drift: " + "; ".join(node.drift)
    parts = [
        f'<g class="node" data-key="{escape(node.key, {chr(34): "&quot;"})}" '
        f'data-status="{node.status}"><title>{escape(tip)}</title>',
        f'<rect x="{box.x:.1f}" y="{box.y:.1f}" width="{box.width:.1f}" '
        f'height="{box.height}" rx="6" fill="{fill}" {border}{dash}/>',
    ]
    if box.height <= 22:  # a foundation: one line, its status as a dot and a word
        parts.append(
            f'<circle cx="{box.x + 10:.1f}" cy="{box.y + 11}" r="4" fill="{stroke}"/>'
            f'<text x="{box.x + 19:.1f}" y="{box.y + 15}" font-size="11" fill="#263238">'
            f"{escape(_short(f'{_title(node.kind)}: {node.name}', box.width - 100))}</text>"
            f'<text x="{box.x + box.width - 8:.1f}" y="{box.y + 15}" font-size="10" '
            f'text-anchor="end" fill="{stroke}">{node.status}</text>'
        )
    else:
        mark = " · joined, not ours" if node.joined else " · existing, not ours"
        status = node.status + ("" if node.owned is not False else mark)
        lines = [
            (f"{_title(node.kind)}: {node.name}", "bold", "#263238"),
            (status, "normal", stroke),
        ]
        lines += [(f"env {env}", "normal", "#455a64") for env in node.environments]
        if node.drift:
            lines.append(("⚠ drift: " + "; ".join(node.drift), "bold", DRIFT))
        for index, (text, weight, colour) in enumerate(lines):
            room = box.width - 20 - (10 if weight == "bold" else 0)
            parts.append(
                f'<text x="{box.x + 10:.1f}" y="{box.y + 18 + index * 15:.1f}" '
                f'font-weight="{weight}" fill="{colour}">{escape(_short(text, room))}</text>'
            )
    parts.append("</g>")
    return "".join(parts)


def _legend(y: float) -> list[str]:
    out = [
        f'<text x="{MARGIN}" y="{y}" font-weight="bold" fill="#37474f">Legend</text>',
    ]
    x: float = MARGIN
    entries = [
        ("COMPLETE", "exists"),
        ("IN_PROGRESS", "in progress"),
        ("FAILED", "failed"),
        ("ABSENT", "absent (up creates it)"),
    ]
    for status, text in entries:
        stroke, fill = COLOURS[status]
        dash = ' stroke-dasharray="5 3"' if status == "ABSENT" else ""
        out.append(
            f'<rect x="{x}" y="{y + 12}" width="22" height="14" rx="3" fill="{fill}" '
            f'stroke="{stroke}"{dash}/><text x="{x + 28}" y="{y + 23}">{escape(text)}</text>'
        )
        x += 40 + len(text) * CHAR
    out.append(
        f'<rect x="{x}" y="{y + 12}" width="22" height="14" rx="3" fill="#ffffff" '
        f'stroke="{DRIFT}" stroke-width="3"/><text x="{x + 28}" y="{y + 23}">drift from the '
        "config</text>"
    )
    x += 40 + 21 * CHAR
    out.append(
        f'<line x1="{x}" y1="{y + 19}" x2="{x + 26}" y2="{y + 19}" stroke="#455a64" '
        f'stroke-width="1.4" marker-end="url(#arrow)"/><text x="{x + 32}" y="{y + 23}">'
        "depends on (data path)</text>"
    )
    out.append(
        f'<text x="{MARGIN}" y="{y + 48}" fill="#546e7a">Dashed border: absent, or existing '
        "and not made by this set-up (never deleted by down).</text>"
    )
    return out


# --- Mermaid ---------------------------------------------------------------------------------


def to_mermaid(mesh: Mesh) -> str:
    """The mesh as a Mermaid flowchart (for docs that render Mermaid)."""
    ids = {node.key: f"n{index}" for index, node in enumerate(mesh.nodes)}
    lines = ["flowchart LR"]
    for alias, account_id in mesh.accounts:
        lines.append(f'  subgraph {_mermaid_id(alias)}["account {alias} ({account_id})"]')
        lines.append("    direction TB")
        for node in mesh.nodes:
            if node.account != alias:
                continue
            text = f"{_title(node.kind)}: {node.name}<br/>{node.status}"
            text += "".join(f"<br/>env {env}" for env in node.environments)
            if node.drift:
                text += "<br/>drift: " + "; ".join(node.drift)
            lines.append(f'    {ids[node.key]}["{_mermaid_text(text)}"]')
        lines.append("  end")
    for source, target in mesh.edges:
        if source in ids and target in ids:
            lines.append(f"  {ids[source]} --> {ids[target]}")
    for status, (stroke, fill) in COLOURS.items():
        lines.append(f"  classDef {status.lower()} fill:{fill},stroke:{stroke}")
    lines.append(f"  classDef drift stroke:{DRIFT},stroke-width:3px")
    for node in mesh.nodes:
        classes = node.status.lower() + (",drift" if node.drift else "")
        lines.append(f"  class {ids[node.key]} {classes}")
    return "\n".join(lines) + "\n"


def _mermaid_id(alias: str) -> str:
    return "account_" + "".join(c if c.isalnum() else "_" for c in alias)


def _mermaid_text(text: str) -> str:
    return text.replace('"', "#quot;")

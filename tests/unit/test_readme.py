"""The README's Layout section lists exactly the modules that exist, each under its folder."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def layout_lines() -> list[str]:
    text = (ROOT / "README.md").read_text()
    section = text[text.index("## Layout") :]
    block = section[section.index("```\n") + 4 :]
    return block[: block.index("```")].splitlines()


def folder_text(lines: list[str], folders: list[str]) -> str:
    """The lines under `folders` (nested, e.g. ["dashboard/", "web/"]), less their sub-folders."""
    start, indent, head = 0, -1, ""
    for folder in folders:
        for i in range(start, len(lines)):
            line = lines[i]
            own = len(line) - len(line.lstrip())
            if own > indent and line.split()[:1] == [folder]:
                start, indent, head = i + 1, own, line.strip()[len(folder) :]
                break
        else:
            raise AssertionError(f"the Layout section has no folder {''.join(folders)}")
    picked = [head]
    for line in lines[start:]:
        own = len(line) - len(line.lstrip())
        if line.strip() and own <= indent:
            break
        picked.append(line)
    return "\n".join(picked)


def modules() -> list[Path]:
    return sorted(
        path.relative_to(ROOT)
        for path in (ROOT / "dashboard").rglob("*.py")
        if path.name != "__init__.py"
    )


def test_every_module_is_listed_under_its_folder() -> None:
    lines = layout_lines()
    missing = [
        str(path)
        for path in modules()
        if not re.search(
            rf"(?<![\w.]){re.escape(path.stem)}(\.py)?(?![\w])",
            folder_text(lines, [f"{part}/" for part in path.parts[:-1]]),
        )
    ]
    assert missing == []


def test_every_module_the_section_names_exists() -> None:
    lines = layout_lines()
    named = set()
    for path in modules():
        folders = [f"{part}/" for part in path.parts[:-1]]
        text = folder_text(lines, folders)
        for name in re.findall(r"(?<![\w.])(\w+)\.py\b", text):
            named.add(Path(*path.parts[:-1], f"{name}.py"))
    existing = set(modules()) | {Path("dashboard/__init__.py")}
    # A name under a folder may be a module of a sub-folder listed inline (e.g. middleware's).
    unknown = [
        str(p)
        for p in named - existing
        if not any(e.name == p.name and p.parent in e.parents for e in existing)
    ]
    assert unknown == []

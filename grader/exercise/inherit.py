"""`extends = "happy_or_sad.toml"`: a course version states only what differs.

Why: the 2022 and 2024 Happy-or-Sad specs and the Horse-or-Human lessons repeat most of
their base spec; a fix made in one copy and not the others is a grade that depends on the
course version for no reason. The rules, chosen so that reading a child spec tells the
whole story of where it differs:

- tables merge key by key, the child's value winning; arrays are replaced whole;
- `[[rubric]]` merges by check id: a child item with a parent's id takes that item's
  place (points, params and title as the child writes them), an item with
  `replaces = "other_id"` takes the place of that other check, any other item is added
  at the end; `remove = ["id", ...]` under `[rubric_changes]` drops parent items;
- `[detect]` is never inherited: it says how to recognise this version's notebooks;
- `[exercise] name` and `title` must be the child's own.

The spec's hash (part of every cache key) covers every file of the chain.
"""

from __future__ import annotations

import hashlib
import tomllib
from pathlib import Path
from typing import Any

from grader.errors import SpecError

NOT_INHERITED = ("detect",)
MAX_DEPTH = 8


def read(path: Path) -> tuple[dict[str, Any], str]:
    """The spec at `path` with its `extends` chain resolved, and the hash of the chain."""
    digest = hashlib.sha256()
    raw = _read(path, digest, [])
    return raw, digest.hexdigest()


def _load_toml(path: Path, digest: Any) -> dict[str, Any]:
    try:
        text = path.read_bytes()
        raw = tomllib.loads(text.decode("utf-8"))
    except OSError as exc:
        raise SpecError(f"cannot read exercise spec {path}: {exc.strerror}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SpecError(f"exercise spec {path} is not valid TOML: {exc}") from None
    digest.update(text + b"\0")
    return raw


def _read(path: Path, digest: Any, chain: list[Path]) -> dict[str, Any]:
    resolved = path.resolve()
    if resolved in chain:
        raise SpecError(f"{path.name}: 'extends' goes round in a circle")
    if len(chain) >= MAX_DEPTH:
        raise SpecError(f"{path.name}: 'extends' is nested more than {MAX_DEPTH} deep")
    raw = _load_toml(path, digest)
    parent_name = raw.pop("extends", None)
    changes = raw.pop("rubric_changes", {})
    if parent_name is None:
        if changes:
            raise SpecError(f"{path.name}: [rubric_changes] needs 'extends'")
        return raw
    if not isinstance(parent_name, str):
        raise SpecError(f"{path.name}: 'extends' must name a spec file")
    exercise = raw.get("exercise", {})
    if not isinstance(exercise, dict) or not {"name", "title"} <= set(exercise):
        raise SpecError(f"{path.name}: a spec that extends another gives its own "
                        "[exercise] name and title")
    parent = _read(path.parent / parent_name, digest, [*chain, resolved])
    return merge(parent, raw, changes, path.name)


def merge(parent: dict[str, Any], child: dict[str, Any], changes: dict[str, Any],
          where: str = "spec") -> dict[str, Any]:
    merged = {key: value for key, value in parent.items() if key not in NOT_INHERITED}
    for key, value in child.items():
        if key == "rubric":
            continue
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge_tables(merged[key], value)
        else:
            merged[key] = value
    merged["rubric"] = _merge_rubric(parent.get("rubric", []), child.get("rubric", []),
                                     changes, where)
    return merged


def _merge_tables(parent: dict[str, Any], child: dict[str, Any]) -> dict[str, Any]:
    merged = dict(parent)
    for key, value in child.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge_tables(merged[key], value)
        else:
            merged[key] = value
    return merged


def _merge_rubric(parent: list[Any], child: list[Any], changes: Any,
                  where: str) -> list[dict[str, Any]]:
    if not isinstance(changes, dict) or set(changes) - {"remove"}:
        raise SpecError(f"{where}: [rubric_changes] takes only 'remove'")
    removed = changes.get("remove", [])
    if not isinstance(removed, list):
        raise SpecError(f"{where}: [rubric_changes] 'remove' must be a list of check ids")
    items = [dict(item) for item in parent if isinstance(item, dict)]
    ids = [item.get("id") for item in items]
    for check_id in removed:
        if check_id not in ids:
            raise SpecError(f"{where}: cannot remove '{check_id}': the parent's rubric "
                            "has no such check")
    kept = [item for item in items if item.get("id") not in removed]
    for item in child:
        if not isinstance(item, dict):
            raise SpecError(f"{where}: each [[rubric]] item is a table")
        item = dict(item)
        replaced = item.pop("replaces", None)
        target = replaced or item.get("id")
        position = next((i for i, old in enumerate(kept) if old.get("id") == target), None)
        if position is not None:
            kept[position] = item
        elif replaced is not None:
            raise SpecError(f"{where}: '{replaced}' cannot be replaced: the parent's rubric "
                            "has no such check")
        else:
            kept.append(item)
    return kept

"""Annotation lists and label files: the one place that reads and writes them.

Formats (the reference release's, so its files load unchanged):

* **annotation list**: one ``relative/path.mp4 label_id`` per line, whitespace separated.
  The label is the last field, so paths that contain spaces work. Blank lines are ignored;
  there are no comments (HMDB-51 has videos whose names start with ``#``).
* **label file**: the class names in id order. Written as CSV with the header ``id,name``;
  read from CSV (ids 0..C-1 in any order; unquoted commas inside a name stay part of it),
  JSON (the LLM-rephrased descriptions: ``{"0": "name", ...}``, a dict keyed by the original
  names, a list of names or of ``{"id", "name"}`` records; a list of strings as a value
  contributes its first entry) or plain text (one name per line).

Writers go through :mod:`tcclip.io` (a crash never leaves a half-written list that looks
complete). The protocol views that are *drawn* rather than published (the synthetic world,
and the ``--redraw-seed`` option of ``data_scripts/``) use :func:`few_shot` and
:func:`base_novel_split`, seeded so that the same seed gives the same lists on every machine.

This module is plain Python (no torch, no numpy): the dataset scripts import it on download
machines that may have only the standard library.
"""

from __future__ import annotations

import csv
import io
import json
import os
import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ..io import atomic_write_json, atomic_write_text

__all__ = [
    "ListItem",
    "VideoRecord",
    "base_novel_split",
    "few_shot",
    "few_shot_drawn",
    "format_list",
    "load_classnames",
    "parse_annotation_list",
    "parse_label_text",
    "parse_list_text",
    "read_list",
    "remap",
    "write_label_json",
    "write_labels",
    "write_list",
]

ListItem = tuple[str, int]  # (path relative to the video root, label id)
PathLike = str | os.PathLike[str]


def _read_text(path: Path, what: str) -> str:
    """A list or label file's text: UTF-8, a leading byte-order mark dropped (editors on Windows
    write one; kept, it would become part of the first path or of the CSV header)."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise ValueError(f"{path}:{line}: {what} is not UTF-8 text (byte {data[error.start]:#04x} at offset "
                         f"{error.start}); save it as UTF-8") from None


@dataclass(frozen=True)
class VideoRecord:
    """One line of an annotation list."""

    path: str
    label: int
    line_number: int


# ----------------------------------------------------------------------------- annotation lists


def parse_list_text(text: str, source: str = "<list>") -> list[VideoRecord]:
    """The records of an annotation list's text; raises ValueError naming ``source`` and the line."""
    records: list[VideoRecord] = []
    # Lines end in "\n", "\r\n" or a lone "\r" (old Mac files: read as one line, "a.mp4 0\rb.mp4 1"
    # became the path "a.mp4 0\rb.mp4" with label 1). No other separator: str.splitlines would
    # also split on form feeds and Unicode separators.
    for line_number, raw in enumerate(text.replace("\r\n", "\n").replace("\r", "\n").split("\n"), start=1):
        line = raw.strip()
        if "\x00" in line:
            raise ValueError(f"{source}:{line_number}: NUL byte in the line: this is not a text list (a binary or "
                             "damaged file?)")
        if not line:  # no comment syntax: "#2_Gum_chew_h_nm_np1_fr_med_0.avi" is an HMDB-51 video
            continue
        fields = line.rsplit(maxsplit=1)
        if len(fields) != 2:
            raise ValueError(f"{source}:{line_number}: expected 'path label_id', got {line!r}")
        path, label_text = fields
        try:
            label = int(label_text)
        except ValueError:
            raise ValueError(f"{source}:{line_number}: label {label_text!r} is not an integer "
                             f"(line {line!r})") from None
        if label < 0:
            raise ValueError(f"{source}:{line_number}: negative label {label}")
        records.append(VideoRecord(path=path, label=label, line_number=line_number))
    return records


def parse_annotation_list(list_file: PathLike) -> list[VideoRecord]:
    """Reads ``relative/path.mp4 label_id`` lines; raises ValueError naming file and line."""
    list_file = Path(list_file)
    if not list_file.is_file():
        what = "is a directory, not a file" if list_file.is_dir() else "does not exist"
        raise FileNotFoundError(f"annotation list {list_file} {what}")
    records = parse_list_text(_read_text(list_file, "the annotation list"), str(list_file))
    if not records:
        raise ValueError(f"annotation list {list_file} has no entries")
    return records


def read_list(path: PathLike, allow_empty: bool = False) -> list[ListItem]:
    """The (path, label) pairs of an annotation list, in file order (an empty list is an error unless allowed)."""
    if allow_empty:
        return [(r.path, r.label) for r in parse_list_text(_read_text(Path(path), "the annotation list"), str(path))]
    return [(r.path, r.label) for r in parse_annotation_list(path)]


def format_list(items: Iterable[ListItem]) -> str:
    """The text of an annotation list: one ``path label`` per line, each line ending in a newline."""
    return "".join(f"{path} {label}\n" for path, label in items)


def write_list(path: PathLike, items: Iterable[ListItem]) -> Path:
    """Write an annotation list atomically; returns its path."""
    return atomic_write_text(path, format_list(items))


# ----------------------------------------------------------------------------- label files


def _names_from_id_map(pairs: Sequence[tuple[int, str, str]], source: str) -> list[str]:
    """(id, name, where) triples -> names in id order; ids must be exactly 0..C-1."""
    by_id: dict[int, str] = {}
    for class_id, name, where in pairs:
        if class_id in by_id:
            raise ValueError(f"{source}:{where}: class id {class_id} appears twice")
        if class_id < 0:
            raise ValueError(f"{source}:{where}: negative class id {class_id}")
        if not name.strip():
            raise ValueError(f"{source}:{where}: empty class name for id {class_id}")
        by_id[class_id] = name.strip()
    if not by_id:
        raise ValueError(f"label file {source} has no classes")
    missing = sorted(set(range(max(by_id) + 1)) - set(by_id))
    if missing:
        raise ValueError(f"label file {source}: class ids are not contiguous from 0, missing {missing[:10]}")
    where_of = {class_id: where for class_id, _, where in pairs}
    names = [by_id[i] for i in range(len(by_id))]
    _check_unique(names, [where_of[i] for i in range(len(names))], source)
    return names


def _check_unique(names: Sequence[str], wheres: Sequence[str], source: str) -> None:
    """Two classes with one name cannot be told apart by a text encoder: an error naming them.

    Names are compared as CLIP's tokenizer sees them (lower case, runs of whitespace as one
    space), so "Run" and "run " are the same class name.
    """
    seen: dict[str, list[int]] = {}
    for class_id, name in enumerate(names):
        seen.setdefault(" ".join(name.split()).lower(), []).append(class_id)
    repeated = [ids for ids in seen.values() if len(ids) > 1]
    if repeated:
        def at(class_id: int) -> str:
            where = wheres[class_id]
            return f"{class_id} (line {where})" if where.isdigit() else f"{class_id} ({where})"

        shown = "; ".join(f"{names[ids[0]]!r} is class " + " and class ".join(at(i) for i in ids)
                          for ids in repeated[:5])
        more = f" (and {len(repeated) - 5} more repeated names)" if len(repeated) > 5 else ""
        raise ValueError(f"label file {source}: class names repeat: {shown}{more}. A text encoder cannot tell "
                         f"such classes apart; give each class its own name")


def _parse_int(text: object, source: str, where: str) -> int:
    try:
        return int(str(text).strip())
    except ValueError:
        raise ValueError(f"{source}:{where}: class id {text!r} is not an integer") from None


def _json_name(value: object, source: str, where: str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return value[0]
    raise ValueError(f"{source}:{where}: class name must be a string or a list of strings, got {value!r}")


def _csv_names(text: str, source: str) -> list[str]:
    rows = [(i, row) for i, row in enumerate(csv.reader(io.StringIO(text, newline="")), start=1)
            if row and any(cell.strip() for cell in row)]
    if not rows:
        raise ValueError(f"label file {source} is empty")
    header_line, header = rows[0]
    if [cell.strip().lower() for cell in header[:2]] != ["id", "name"]:
        raise ValueError(f"{source}:{header_line}: expected the header 'id,name', got {','.join(header)!r}")
    pairs = []
    for line_number, row in rows[1:]:
        if len(row) < 2:
            raise ValueError(f"{source}:{line_number}: expected 'id,name', got {','.join(row)!r}")
        class_id = _parse_int(row[0], source, str(line_number))
        pairs.append((class_id, ",".join(row[1:]), str(line_number)))
    return _names_from_id_map(pairs, source)


def _json_names(text: str, source: str) -> list[str]:
    def no_repeated_keys(pairs: list[tuple[str, object]]) -> dict[str, object]:
        # json.loads keeps the last of two equal keys without a word: a class would vanish
        keys = [key for key, _ in pairs]
        repeated = sorted({key for key in keys if keys.count(key) > 1})
        if repeated:
            raise ValueError(f"label file {source}: the JSON object repeats the keys {repeated[:10]}")
        return dict(pairs)

    try:
        data = json.loads(text, object_pairs_hook=no_repeated_keys)
    except json.JSONDecodeError as error:
        raise ValueError(f"{source}:{error.lineno}: invalid JSON ({error.msg})") from None
    if isinstance(data, dict):
        if data and not all(str(key).strip().lstrip("-").isdigit() for key in data):
            # keyed by the original class name ({"abseiling": "a person ..."}): the file's
            # order is the class-id order (JSON objects keep their order when parsed)
            names = [_json_name(value, source, f"key {key!r}").strip() or str(key) for key, value in data.items()]
            _check_unique(names, [f"key {key!r}" for key in data], source)
            return names
        pairs = [(_parse_int(key, source, f"key {key!r}"), _json_name(value, source, f"key {key!r}"),
                  f"key {key!r}") for key, value in data.items()]
        return _names_from_id_map(pairs, source)
    if isinstance(data, list):
        if all(isinstance(item, dict) for item in data):
            pairs = []
            for position, item in enumerate(data):
                where = f"entry {position}"
                if "id" not in item or "name" not in item:
                    raise ValueError(f"{source}:{where}: records need 'id' and 'name' keys, got {sorted(item)}")
                pairs.append((_parse_int(item["id"], source, where), _json_name(item["name"], source, where),
                              where))
            return _names_from_id_map(pairs, source)
        pairs = [(i, _json_name(item, source, f"entry {i}"), f"entry {i}") for i, item in enumerate(data)]
        return _names_from_id_map(pairs, source)
    raise ValueError(f"label file {source}: JSON must be a dict or a list, got {type(data).__name__}")


def parse_label_text(text: str, kind: Literal["csv", "json", "txt"], source: str = "<labels>") -> list[str]:
    """Class names in id order from the text of a label file of the given kind."""
    if kind == "json":
        return _json_names(text, source)
    if kind == "csv":
        return _csv_names(text, source)
    # Line i is class i - 1, so a blank line inside the file would silently renumber every
    # later class: an error. Blank lines after the last name (a trailing newline) are fine.
    lines = [line.strip() for line in text.splitlines()]
    while lines and not lines[-1]:
        lines.pop()
    blank = [number for number, line in enumerate(lines, start=1) if not line]
    if blank:
        raise ValueError(f"{source}:{blank[0]}: blank line in a plain-text label file, where line i is class "
                         f"i - 1 (blank lines: {blank[:10]}); delete it, or write an 'id,name' CSV")
    pairs = [(i, name, str(i + 1)) for i, name in enumerate(lines)]
    return _names_from_id_map(pairs, source)


def load_classnames(path: PathLike) -> list[str]:
    """Class names in id order from a CSV (``id,name``), JSON or one-name-per-line text file."""
    label_file = Path(path)
    if not label_file.is_file():
        what = "is a directory, not a file" if label_file.is_dir() else "does not exist"
        raise FileNotFoundError(f"label file {label_file} {what}")
    suffix = label_file.suffix.lower()
    kind: Literal["csv", "json", "txt"] = "json" if suffix == ".json" else "csv" if suffix == ".csv" else "txt"
    return parse_label_text(_read_text(label_file, "the label file"), kind, str(label_file))


def write_labels(path: PathLike, names: Sequence[str], lineterminator: str = "\n") -> Path:
    """An ``id,name`` CSV with a header, ids 0..C-1 in the given order (names quoted where CSV needs it).

    ``lineterminator``: the synthetic world writes ``"\r\n"`` (the ``csv`` module's default),
    as its label files always had, so that a world generated today is byte-identical to one
    generated before by the same generator version."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator=lineterminator)
    writer.writerow(["id", "name"])
    writer.writerows([i, name] for i, name in enumerate(names))
    return atomic_write_text(path, buffer.getvalue())


def write_label_json(path: PathLike, names: Sequence[str]) -> Path:
    """Class descriptions as ``{"0": "...", "1": "...", ...}`` (the FROSTER release's format)."""
    return atomic_write_json(path, {str(i): name for i, name in enumerate(names)})


# ----------------------------------------------------------------------------- drawn views


def few_shot(items: Sequence[ListItem], shots: int, seed: int | str,
             num_classes: int | None = None,
             short_classes: Literal["keep", "error"] = "keep") -> list[ListItem]:
    """``shots`` items per class, drawn without replacement with ``seed``; list order kept.

    A class with fewer than ``shots`` items keeps all of them (``short_classes="keep"``, as
    published few-shot lists do for rare classes) or is an error (``"error"``). With
    ``num_classes``, a class with no item at all is an error: the list cannot serve the view.
    The draw uses :class:`random.Random` seeded with ``(seed, shots)``, so it is the same in
    every process and Python version.
    """
    rng = random.Random(f"few-shot:{seed}:{shots}")
    return few_shot_drawn(items, shots, rng.sample, num_classes, short_classes)


def few_shot_drawn(items: Sequence[ListItem], shots: int, sample: Callable[[list[int], int], Sequence[int]],
                   num_classes: int | None = None,
                   short_classes: Literal["keep", "error"] = "keep") -> list[ListItem]:
    """:func:`few_shot` with the draw given: ``sample(indices, shots)`` picks ``shots`` of one
    class's item indices. It is called class by class in label order, only for classes with
    more than ``shots`` items. The synthetic world passes its seeded ``numpy`` generator's draw,
    which its lists have always been made with.
    """
    by_class: dict[int, list[int]] = {}
    for i, (_, label) in enumerate(items):
        by_class.setdefault(label, []).append(i)
    if num_classes is not None:
        missing = sorted(set(range(num_classes)) - set(by_class))
        if missing:
            raise ValueError(f"the source list has no item of classes {missing[:10]}")
    keep: list[int] = []
    for label in sorted(by_class):
        idx = by_class[label]
        if len(idx) < shots and short_classes == "error":
            raise ValueError(f"{shots}-shot needs {shots} items of class {label}, the list has {len(idx)}")
        keep += idx if len(idx) <= shots else list(sample(idx, shots))
    return [items[i] for i in sorted(keep)]


def base_novel_split(num_classes: int, seed: int | str) -> tuple[list[int], list[int]]:
    """A seeded random half of the class ids (base, ``num_classes // 2`` of them) and the rest (novel), each sorted.

    For views that are drawn rather than published (the synthetic world): the real benchmarks'
    halves are the published label files (:mod:`tcclip.data.published`).
    """
    order = list(range(num_classes))
    random.Random(f"base-novel:{seed}").shuffle(order)
    half = num_classes // 2
    return sorted(order[:half]), sorted(order[half:])


def remap(items: Iterable[ListItem], keep: Sequence[int]) -> list[ListItem]:
    """Items of classes ``keep``, labels renumbered to positions in ``keep``."""
    position = {c: i for i, c in enumerate(keep)}
    return [(path, position[label]) for path, label in items if label in position]

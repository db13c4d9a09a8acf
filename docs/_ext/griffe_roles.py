"""Griffe extension: the docstrings' Sphinx roles become mkdocstrings cross-references.

The package's docstrings are written for readers of the source and for ``help()``: they use
Sphinx roles (``:class:`~crepe_transforms.CrepeFrames```, ``:func:`frame```, ``:data:`X```) and
reStructuredText habits. mkdocstrings renders Markdown, where a role would show as raw text.
When griffe has loaded the whole package, this extension rewrites every docstring once:

- a role whose target is a documented public object becomes an autorefs link,
  ``[`CrepeFrames`][crepe_transforms.transforms.CrepeFrames]``. Bare and relative names are
  resolved the way a reader would: from the object outwards (its class, its module, the
  subpackage that re-exports it), then against every public namespace;
- any other role (a private helper, ``torch.Tensor``) becomes plain inline code, so
  ``mkdocs build --strict`` never meets an unresolved reference;
- an ``Example:`` section is read as Google style's ``Examples:`` (rendered as code);
- ``a, b: text`` in an ``Args:`` section becomes one entry per name;
- a paragraph ending in ``::`` (a reStructuredText literal block) ends in ``:``;
- a constant documented by ``#:`` comment lines above it (Sphinx's convention) gets them as
  its docstring; class attributes without any docstring (``self.x = ...``) are not listed.

"Documented" means: exported by one of :data:`NAMESPACES` (through ``__all__``), where the API
pages render it (``docs/api/*.md``); each object is documented once, under the first namespace
that exports it, so a name re-exported at the top level (``crepe_transforms.CrepePitch``) links
to its subpackage's entry (``crepe_transforms.transforms.CrepePitch``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, NamedTuple

try:
    import griffe
except ImportError:  # the `docs` extra is not installed: only pytest's collection imports this
    griffe = None

PACKAGE = "crepe_transforms"

#: The public namespaces the API reference renders, lowest layer first: an object re-exported
#: by several of them is documented under the first. ``crepe_transforms`` itself is rendered
#: without members (its names are documented where they live).
NAMESPACES = (
    "functional",
    "model",
    "weights",
    "transforms",
    "export",
    "train",
    "io",
    "exceptions",
    "constants",
)

ROLE = re.compile(r":(?:py:)?(?P<role>[a-z]+):`(?P<body>[^`]+)`")
_TITLED = re.compile(r"^(?P<title>.*?)\s*<(?P<target>[^<>]+)>$")
_CALLABLE_ROLES = {"func", "meth"}
_SHARED_ARGS = re.compile(r"^(?P<indent>\s+)(?P<names>\w+(?:,\s*\w+)+):(?P<rest>\s.*|)$")
# Google style's section is "Examples:"; the package writes "Example:" (as julius does).
_EXAMPLE_TITLE = re.compile(r"^(\s*)Example:[ \t]*$", re.MULTILINE)
_SECTION = re.compile(r"^\s*[A-Z][A-Za-z ]*:\s*$")


def _object_kind(obj: Any) -> str:
    return str(obj.kind.value)


def _resolve(obj: Any) -> Any:
    """The object an alias finally points to (None when it leaves the loaded packages)."""
    if obj is None or not obj.is_alias or getattr(obj, "inherited", False):
        return obj
    try:
        return obj.final_target
    except Exception:  # griffe's AliasResolutionError / CyclicAliasError: an external target
        return None


def _child(obj: Any, name: str) -> Any:
    try:
        members = obj.all_members if _object_kind(obj) == "class" else obj.members
    except Exception:  # an unresolvable base class
        members = obj.members
    return _resolve(members.get(name))


def lookup(collection: Any, path: str) -> Any:
    """The griffe object at a dotted path (aliases followed at every step), or None."""
    parts = path.split(".")
    try:
        obj = _resolve(collection.members.get(parts[0]))
    except Exception:
        return None
    for part in parts[1:]:
        if obj is None or _object_kind(obj) not in {"module", "class"}:
            return None
        obj = _child(obj, part)
    return obj


def _exports(module: Any) -> list[str]:
    if module.exports is not None:
        return [str(name) for name in module.exports]
    # A module without __all__ (exceptions, constants): what it defines under public names.
    return [
        name
        for name, member in module.members.items()
        if not name.startswith("_") and not member.is_alias and _object_kind(member) != "module"
    ]


# Special methods the API pages leave out: keep in step with `filters` in mkdocs.yml (a
# difference shows as an unresolved cross-reference, which fails the --strict build).
_HIDDEN_SPECIAL = re.compile(
    r"^__(all|repr|str|getstate|setstate|post_init|init_subclass|reduce|reduce_ex|eq|hash|init)__$"
)


def _is_rendered_member(name: str) -> bool:
    if name.startswith("__") and name.endswith("__"):
        return _HIDDEN_SPECIAL.match(name) is None
    return not name.startswith("_")


def documented_objects(collection: Any) -> dict[str, str]:
    """Map each documented object's real path to the identifier the API pages render it under.

    Keys are paths after following aliases (``crepe_transforms.transforms._pitch.CrepePitch``);
    class members are keyed by their class's real path (``....CrepePitch.from_parts``), which
    covers inherited members too.
    """
    documented: dict[str, str] = {PACKAGE: PACKAGE}
    for namespace in NAMESPACES:
        ident_module = f"{PACKAGE}.{namespace}"
        module = lookup(collection, ident_module)
        if module is None:
            continue
        documented.setdefault(module.path, ident_module)
        for name in _exports(module):
            obj = _child(module, name)
            if obj is None or obj.path in documented:
                continue
            ident = f"{ident_module}.{name}"
            documented[obj.path] = ident
            if _object_kind(obj) == "class":
                for member_name in _members(obj):
                    documented.setdefault(f"{obj.path}.{member_name}", f"{ident}.{member_name}")
    return documented


def _members(cls: Any) -> Iterator[str]:
    try:
        names = list(cls.all_members)
    except Exception:
        names = list(cls.members)
    for name in names:
        if _is_rendered_member(name):
            yield name


class PublicName(NamedTuple):
    """One exported name: its identifier in the API pages (None: undocumented), kind, summary."""

    name: str
    identifier: str | None
    kind: str
    summary: str


def public_names(collection: Any) -> dict[str, list[PublicName]]:
    """Every exported name of the top level and of each public namespace, in ``__all__`` order."""
    documented = documented_objects(collection)
    table: dict[str, list[PublicName]] = {}
    for namespace in ("", *NAMESPACES):
        path = f"{PACKAGE}.{namespace}" if namespace else PACKAGE
        module = lookup(collection, path)
        if module is None:
            continue
        rows = []
        for name in _exports(module):
            obj = _child(module, name)
            if obj is None:
                rows.append(PublicName(name, None, "", ""))
                continue
            rows.append(
                PublicName(name, documented.get(obj.path), _object_kind(obj), _summary(obj))
            )
        table[path] = rows
    return table


def _summary(obj: Any) -> str:
    """The first paragraph of a docstring, on one line."""
    docstring = obj.docstring
    if docstring is None:
        return ""
    return docstring.value.strip().split("\n\n")[0].replace("\n", " ").strip()


class Resolver:
    """Turns role targets into documented identifiers, from a given object's point of view."""

    def __init__(self, collection: Any) -> None:
        self.collection = collection
        self.documented = documented_objects(collection)
        self.namespaces = [PACKAGE] + [f"{PACKAGE}.{name}" for name in NAMESPACES]

    def identifier(self, target: str, scope: Any) -> str | None:
        target = target.lstrip(".")
        if target.startswith(PACKAGE + ".") or target == PACKAGE:
            candidates = [target]
        else:
            candidates = [f"{path}.{target}" for path in _scopes(scope)]
            candidates += [f"{namespace}.{target}" for namespace in self.namespaces]
        for candidate in candidates:
            obj = lookup(self.collection, candidate)
            if obj is not None and obj.path in self.documented:
                return self.documented[obj.path]
        return None

    def rewrite(self, text: str, scope: Any) -> str:
        def replace(match: re.Match[str]) -> str:
            role, body = match["role"], match["body"].strip()
            titled = _TITLED.match(body)
            title, target = (titled["title"], titled["target"]) if titled else (None, body)
            short = target.startswith("~")
            target = target.lstrip("~")
            if title is None:
                title = target.lstrip(".").rsplit(".", 1)[-1] if short else target.lstrip(".")
                if role in _CALLABLE_ROLES and not title.endswith(")"):
                    title += "()"
            ident = self.identifier(target, scope)
            return f"`{title}`" if ident is None else f"[`{title}`][{ident}]"

        text = _split_shared_args(ROLE.sub(replace, text)).replace("::\n", ":\n")
        return _EXAMPLE_TITLE.sub(r"\1Examples:", text)


def _scopes(obj: Any) -> Iterator[str]:
    """The object's own path and its parents', innermost first (the names a reader sees)."""
    while obj is not None:
        yield obj.path
        obj = obj.parent


def _split_shared_args(text: str) -> str:
    """``a, b: text`` in an argument list → one entry per name (Google style has one a line)."""
    lines = text.split("\n")
    out: list[str] = []
    in_args = False
    index = 0
    while index < len(lines):
        line = lines[index]
        if _SECTION.match(line):
            in_args = line.strip() in {"Args:", "Arguments:", "Parameters:", "Attributes:"}
        shared = _SHARED_ARGS.match(line) if in_args else None
        if shared is None:
            out.append(line)
            index += 1
            continue
        indent = shared["indent"]
        block = [shared["rest"]]
        index += 1
        while index < len(lines) and lines[index].startswith(indent + " "):
            block.append("\n" + lines[index])
            index += 1
        for name in re.split(r",\s*", shared["names"]):
            out.append(f"{indent}{name}:{''.join(block)}")
    return "\n".join(out)


def _comment_docstring(obj: Any) -> str | None:
    """The ``#:`` comment lines just above an attribute (Sphinx's attribute docstrings)."""
    try:
        lines = obj.lines_collection[obj.filepath]
    except Exception:  # no source (a compiled module)
        return None
    comment: list[str] = []
    index = (obj.lineno or 0) - 2  # the line above, 0-based
    while index >= 0 and lines[index].strip().startswith("#:"):
        comment.insert(0, lines[index].strip()[2:].strip())
        index -= 1
    return "\n".join(comment) or None


def _drop_undocumented_attributes(cls: Any) -> None:
    """Remove the attributes that have no docstring and are neither properties nor fields.

    Those are implementation (``self.x = ...``, ``SETTINGS = (...)``): the class docstring says
    what users read, and listing them would print the assignments. The fields of dataclasses
    and named tuples stay (they are the signature).
    """
    bases = {str(base) for base in cls.bases}
    if "dataclass" in cls.labels or bases & {"NamedTuple", "typing.NamedTuple"}:
        return
    for name, member in list(cls.members.items()):
        if member.is_alias or _object_kind(member) != "attribute" or member.docstring:
            continue
        if "property" not in member.labels:
            del cls.members[name]


def _walk(obj: Any) -> Iterator[Any]:
    yield obj
    for member in list(obj.members.values()):
        if not member.is_alias:
            yield from _walk(member)


if griffe is not None:

    class CrepeRoles(griffe.Extension):
        """Rewrites the roles of every docstring of the package once it is fully loaded."""

        def on_package(self, *, pkg: Any, loader: Any, **kwargs: Any) -> None:
            if pkg.name != PACKAGE:
                return
            for obj in _walk(pkg):
                if obj.docstring is None and _object_kind(obj) == "attribute":
                    comment = _comment_docstring(obj)
                    if comment:
                        obj.docstring = griffe.Docstring(
                            comment,
                            lineno=obj.lineno,
                            parent=obj,
                            parser=loader.docstring_parser,
                            parser_options=loader.docstring_options,
                        )
                if _object_kind(obj) == "class":
                    _drop_undocumented_attributes(obj)
            resolver = Resolver(loader.modules_collection)
            for obj in _walk(pkg):
                if obj.docstring is not None:
                    obj.docstring.value = resolver.rewrite(obj.docstring.value, obj)

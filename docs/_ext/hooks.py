"""mkdocs hooks of the documentation site (``hooks:`` in ``mkdocs.yml``).

- **Landing page.** ``getting-started.md`` is served as the site's home (``index.html``) and
  the user guide ``index.md`` as ``guide/``: a new reader lands on the two commands and the
  picture, and every Markdown link between pages keeps working (links name source files).
- **Repository files.** The guides link to files beside ``docs/`` (``../weights/README.md``,
  ``../benchmarks/results/collate_speed.md``) so that the links work on GitHub. The site
  copies each linked file under ``repo/`` (Markdown ones become pages) and points the links
  there, so they work in the built site too and ``--strict`` still fails on a link to a file
  that does not exist.
- **Public names.** ``<!-- api:public-names -->`` on a page becomes a table of every name of
  every public namespace, each linked to its entry in the API reference (the same map the
  griffe extension ``griffe_roles.py`` resolves roles with).
"""

from __future__ import annotations

import functools
import importlib.util
import posixpath
import re
from pathlib import Path
from typing import Any

try:
    from mkdocs.structure.files import File, Files
except ImportError:  # the `docs` extra is not installed: only pytest's collection imports this
    File = Files = None

HERE = Path(__file__).resolve().parent
REPO_PREFIX = "repo/"
HOME_SOURCE = "getting-started.md"
GUIDE_SOURCE = "index.md"
PUBLIC_NAMES_MARKER = "<!-- api:public-names -->"
# Inline links and images, ](target) or ](target "title"); reference-style links are not used.
_LINK = re.compile(r"(\]\()(?P<target>[^)\s#]+)(?P<rest>[^)]*\))")
_FENCE = re.compile(r"^(```|~~~)")
_EXTERNAL = re.compile(r"^[a-z][a-z0-9+.-]*:", re.IGNORECASE)

_outside: dict[Path, str] = {}  # a linked file beside docs/ → its src_uri inside the site


def _griffe_roles() -> Any:
    spec = importlib.util.spec_from_file_location("_crepe_griffe_roles", HERE / "griffe_roles.py")
    assert spec is not None  # a file that exists beside this one
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _links(markdown: str) -> list[str]:
    """Link targets outside fenced code blocks."""
    targets: list[str] = []
    fenced = False
    for line in markdown.splitlines():
        if _FENCE.match(line.lstrip()):
            fenced = not fenced
            continue
        if not fenced:
            targets += [m["target"] for m in _LINK.finditer(line)]
    return targets


def _source_dir(file: Any, docs_dir: Path) -> Path:
    """The directory a page's relative links start from: where its file really is."""
    if file.abs_src_path:
        return Path(file.abs_src_path).resolve().parent
    return (docs_dir / file.src_uri).parent


def on_files(files: Any, config: Any) -> Any:
    docs_dir = Path(config["docs_dir"]).resolve()
    root = Path(config["config_file_path"]).resolve().parent
    for file in files:
        if file.src_uri == HOME_SOURCE:
            file.dest_uri, file.url = "index.html", ""
        elif file.src_uri == GUIDE_SOURCE:
            file.dest_uri, file.url = "guide/index.html", "guide/"
    _outside.clear()
    pending = [f for f in files if f.src_uri.endswith(".md")]
    while pending:
        file = pending.pop()
        if not file.abs_src_path:
            continue
        text = Path(file.abs_src_path).read_text(encoding="utf-8")
        base = _source_dir(file, docs_dir)
        for target in _links(text):
            if _EXTERNAL.match(target) or target.startswith("/"):
                continue
            path = (base / target).resolve()
            if path.is_relative_to(docs_dir) or not path.is_relative_to(root):
                continue
            if path in _outside or not path.is_file():
                continue  # a missing file is left for mkdocs to report
            uri = REPO_PREFIX + path.relative_to(root).as_posix()
            _outside[path] = uri
            added = File.generated(config, uri, abs_src_path=str(path))
            files.append(added)
            if uri.endswith(".md"):
                pending.append(added)
    return files


_ITEM = re.compile(r"^( *)([-*+]|\d+[.)])( +)(?=\S)")


def nest_lists(markdown: str) -> str:
    r"""Re-indent nested lists written the CommonMark way for Python-Markdown.

    CommonMark (GitHub, any editor's preview) nests an item indented to its parent's text, two
    spaces under ``- `` and three under ``1. ``; Python-Markdown needs four per level and
    otherwise flattens the list (voicing.md's step 3 rendered as steps 4–5). Each list line is
    given four spaces per level of the CommonMark reading; fenced blocks inside a list move
    with their item; everything outside lists is left as written.

    Example:
        >>> print(nest_lists("1. step\n   - detail\n   more\n2. next"))
        1. step
            - detail
            more
        2. next
    """
    out: list[str] = []
    stack: list[int] = []  # the content column of each open item, in the source
    fence: tuple[str, int] | None = None  # (marker, columns added) of a fence inside a list
    blank = False
    for line in markdown.split("\n"):
        stripped = line.lstrip(" ")
        indent = len(line) - len(stripped)
        if fence is not None:  # inside a fenced block of a list item: move it as its fence
            shift = fence[1]
            out.append(" " * shift + line if shift >= 0 else line[min(-shift, indent) :])
            if stripped.startswith(fence[0]):
                fence = None
            continue
        if not stripped:
            out.append(line)
            blank = True
            continue
        item = _ITEM.match(line)
        if item is not None:
            while stack and indent < stack[-1]:
                stack.pop()
            new = 4 * len(stack)
            stack.append(indent + len(item[2]) + len(item[3]))
        elif stack and not blank:  # continues the paragraph above
            if indent < stack[-1]:  # a lazy continuation: Markdown joins it as written
                out.append(line)
                continue
            new = 4 * len(stack) + indent - stack[-1]
        else:  # after a blank line: belongs to the deepest item whose text it reaches
            while stack and indent < stack[-1]:
                stack.pop()
            new = 4 * len(stack) + indent - stack[-1] if stack else indent
        if _FENCE.match(stripped) and stack:
            fence = (stripped[:3], new - indent)
        out.append(" " * new + stripped)
        blank = False
    return "\n".join(out)


_SENTENCE_END = re.compile(r"(?<!\be\.g)(?<!\bi\.e)(?<!\betc)\.(?=\s|$)")


def first_sentence(docstring: str) -> str:
    r"""The first sentence of a docstring's first paragraph, its lines joined.

    Example:
        >>> first_sentence("Activations → pitch (e.g. for a loss), a\nreadout.\n\nMore.")
        'Activations → pitch (e.g. for a loss), a readout.'
    """
    paragraph = " ".join(docstring.strip().split("\n\n", 1)[0].split())
    end = _SENTENCE_END.search(paragraph)
    return paragraph if end is None else paragraph[: end.end()]


def _whole_summaries() -> None:
    """Make mkdocstrings' summary tables show each member's first sentence: they take the
    docstring's first *line*, which cut ``CrepeSoftDecode`` ("…, a") and
    ``DEFAULT_BLOCK_FRAMES`` ("…: bounds the") mid-sentence."""
    try:
        from mkdocstrings_handlers.python._internal import rendering
    except ImportError:  # another mkdocstrings layout: keep its summaries
        return
    for name in (
        "do_as_attributes_section",
        "do_as_functions_section",
        "do_as_classes_section",
        "do_as_modules_section",
    ):
        original = getattr(rendering, name, None)
        if original is None or getattr(original, "_whole_sentences", False):
            continue

        @functools.wraps(original)
        def summary(
            context: Any, objects: Any, *args: Any, _original: Any = original, **kw: Any
        ) -> Any:
            section = _original(context, objects, *args, **kw)
            docstrings = {o.name: o.docstring for o in objects if o.docstring is not None}
            for item in section.value:
                if item.name in docstrings:
                    item.description = first_sentence(docstrings[item.name].value)
            return section

        summary._whole_sentences = True  # type: ignore[attr-defined]
        setattr(rendering, name, summary)


_whole_summaries()


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    docs_dir = Path(config["docs_dir"]).resolve()
    base = _source_dir(page.file, docs_dir)
    here = posixpath.dirname(page.file.src_uri)

    def relink(match: re.Match[str]) -> str:
        target = match["target"]
        if _EXTERNAL.match(target) or target.startswith("/"):
            return match[0]
        path = (base / target).resolve()
        if path in _outside:
            uri = _outside[path]
        elif path.is_relative_to(docs_dir) and page.file.src_uri.startswith(REPO_PREFIX):
            uri = path.relative_to(docs_dir).as_posix()  # a repository file linking into docs/
        else:
            return match[0]
        return f"{match[1]}{posixpath.relpath(uri, here or '.')}{match['rest']}"

    lines, fenced = [], False
    for line in markdown.split("\n"):
        if _FENCE.match(line.lstrip()):
            fenced = not fenced
        lines.append(line if fenced else _LINK.sub(relink, line))
    markdown = _outside_fences(nest_lists, "\n".join(lines))
    if PUBLIC_NAMES_MARKER in markdown:
        markdown = markdown.replace(PUBLIC_NAMES_MARKER, public_names_table())
    return markdown


def _outside_fences(fn: Any, markdown: str) -> str:
    """``fn`` over the text between top-level fenced blocks (a column-0 fence is never part of
    a list), the blocks themselves untouched."""
    parts, chunk, fenced = [], [], False
    for line in markdown.split("\n"):
        if _FENCE.match(line) and not fenced:
            parts.append(fn("\n".join(chunk)))
            chunk, fenced = [line], True
        elif fenced:
            chunk.append(line)
            if _FENCE.match(line):
                parts.append("\n".join(chunk))
                chunk, fenced = [], False
        else:
            chunk.append(line)
    parts.append(fn("\n".join(chunk)) if not fenced else "\n".join(chunk))
    return "\n".join(parts)


def public_names_table() -> str:
    """Markdown: one table per public namespace, every exported name linked to its entry."""
    import griffe

    roles = _griffe_roles()
    loader = griffe.GriffeLoader(
        search_paths=[str(HERE.parent.parent)],
        extensions=griffe.load_extensions(roles.CrepeRoles),
    )
    loader.load(roles.PACKAGE)
    out: list[str] = []
    for namespace, rows in roles.public_names(loader.modules_collection).items():
        out += [f"### `{namespace}`", "", "| name | kind | summary |", "|---|---|---|"]
        for row in rows:
            name = (
                f"`{row.name}`" if row.identifier is None else f"[`{row.name}`][{row.identifier}]"
            )
            summary = row.summary.replace("|", "\\|")
            out.append(f"| {name} | {row.kind} | {summary} |")
        out.append("")
    return "\n".join(out)

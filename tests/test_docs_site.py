"""The documentation site: it builds with ``mkdocs build --strict``, its API reference has an
entry for every public name, the docstrings' roles became links, and a headless Chromium shows
the home page and an API page with their title, navigation and pictures.

Needs the ``docs`` extra (mkdocs, mkdocs-material, mkdocstrings[python]) and, for the browser
checks, Debian's ``chromium`` (``apt-get install -y chromium``); CI installs both. Without them
those tests are skipped, with the command that installs what is missing.
"""

from __future__ import annotations
import __future__

import html as html_module
import importlib
import importlib.util
import os
import pkgutil
import re
import shutil
import struct
import subprocess
import sys
import threading
import zlib
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from urllib.parse import unquote, urljoin, urlparse

import pytest

import crepe_transforms

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Public modules that are not documented as an API page: the command line is documented by its
# guide (docs/cli.md) and `--help`; __main__ only runs it.
NOT_API = {"cli", "__main__"}

DOCS_EXTRA = 'pip install -e ".[docs]"'
# In CI (.ci/run sets CI=true and installs both) a missing tool is a failure, never a skip.
IN_CI = os.environ.get("CI") == "true"
needs_mkdocs = pytest.mark.skipif(
    not IN_CI
    and any(
        importlib.util.find_spec(name) is None
        for name in ("mkdocs", "material", "mkdocstrings", "mkdocstrings_handlers.python")
    ),
    reason=f"the docs extra is not installed (CI installs it): {DOCS_EXTRA}",
)
needs_chromium = pytest.mark.skipif(
    not IN_CI and CHROMIUM is None,
    reason="no headless browser (CI installs it): apt-get install -y chromium",
)


def _load_ext(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"_docs_{name}", DOCS / "_ext" / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The site built the way CI builds it: ``mkdocs build --strict`` (into a temporary dir)."""
    out = tmp_path_factory.mktemp("site")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if result.returncode != 0:
        pytest.fail(f"mkdocs build --strict failed:\n{result.stdout}\n{result.stderr}")
    return out


def _public_modules() -> list[str]:
    return sorted(
        info.name
        for info in pkgutil.iter_modules(crepe_transforms.__path__)
        if not info.name.startswith("_") and info.name not in NOT_API
    )


def _exported(module: ModuleType) -> list[str]:
    """``__all__``, or for a module without one the public names it defines itself."""
    if hasattr(module, "__all__"):
        return list(module.__all__)
    return [
        name
        for name, value in vars(module).items()
        if not name.startswith("_")
        and not isinstance(value, (ModuleType, __future__._Feature))
        and getattr(value, "__module__", module.__name__) == module.__name__
    ]


def _ids(site: Path) -> set[str]:
    ids: set[str] = set()
    for page in (site / "api").rglob("index.html"):
        ids.update(re.findall(r'id="(crepe_transforms[^"]*)"', page.read_text(encoding="utf-8")))
    return ids


def _readme_command(marker: str) -> str:
    """The first ```bash block after ``<!-- ci:MARKER -->`` (as .ci/run extracts it)."""
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    start = lines.index(f"<!-- ci:{marker} -->")
    fence = next(i for i in range(start, len(lines)) if lines[i].startswith("```"))
    end = next(i for i in range(fence + 1, len(lines)) if lines[i].startswith("```"))
    return "\n".join(lines[fence + 1 : end])


def _bash_blocks(markdown: str) -> list[str]:
    return [m.group(1).rstrip("\n") for m in re.finditer(r"```bash\n(.*?)```", markdown, re.S)]


# --- without a build -------------------------------------------------------------------------


@pytest.mark.parametrize("marker", ["run", "test"])
def test_getting_started_shows_the_readme_commands_verbatim(marker: str) -> None:
    page = (DOCS / "getting-started.md").read_text(encoding="utf-8")
    assert _readme_command(marker) in _bash_blocks(page)


def test_every_nav_page_and_picture_exists() -> None:
    config = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    nav = config[config.index("\nnav:") :]
    pages = re.findall(r"([\w./-]+\.md)\s*$", nav, re.M)
    assert len(pages) >= 20
    assert [p for p in pages if not (DOCS / p).is_file()] == []
    for name in ("example_pitch.png", "frame_alignment.png"):
        data = (DOCS / "img" / name).read_bytes()
        assert data.startswith(PNG_SIGNATURE)
        assert len(data) > 10_000


def test_figure_script_draws_the_alignment_picture(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib", reason='needs matplotlib: pip install -e ".[plot]"')
    result = subprocess.run(
        [sys.executable, str(DOCS / "figures.py"), "frame_alignment.png", "-o", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    drawn = (tmp_path / "frame_alignment.png").read_bytes()
    assert drawn.startswith(PNG_SIGNATURE)
    width, height = struct.unpack(">II", drawn[16:24])
    assert (width, height) == (1000, 640)  # figsize (10, 6.4) at 100 dpi


@needs_mkdocs
def test_roles_become_links_to_documented_objects_or_plain_code() -> None:
    import griffe

    roles = _load_ext("griffe_roles")
    loader = griffe.GriffeLoader(
        search_paths=[str(ROOT)], extensions=griffe.load_extensions(roles.CrepeRoles)
    )
    package = loader.load("crepe_transforms")
    decode = package["transforms._decode.CrepeDecode"].docstring.value
    # a top-level re-export links to where it is documented, a bare name is found from the
    # object outwards, and "fmin, fmax:" became two arguments
    assert "[`Pitch`][crepe_transforms.functional.Pitch]" in decode
    assert "[`CrepeSoftDecode`][crepe_transforms.transforms.CrepeSoftDecode]" in decode
    assert "[`admitted_bins()`][crepe_transforms.functional.admitted_bins]" in decode
    assert re.search(r"^\s+fmin: ", decode, re.M)
    assert re.search(r"^\s+fmax: ", decode, re.M)
    assert "Examples:" in decode
    # private targets become inline code, never a link to nothing
    frames = package["transforms._engine"].docstring
    everything = "\n".join(
        obj.docstring.value for obj in roles._walk(package) if obj.docstring is not None
    )
    assert roles.ROLE.search(everything) is None
    assert frames is None or "][crepe_transforms.transforms._engine" not in frames.value
    # constants documented with "#:" comments get them as their docstring
    assert package["constants.SAMPLE_RATE"].docstring is not None


# --- the built site ---------------------------------------------------------------------------


@needs_mkdocs
def test_every_public_module_has_an_api_entry(site: Path) -> None:
    ids = _ids(site)
    modules = _public_modules()
    assert {"functional", "model", "weights", "transforms", "train", "io"} <= set(modules)
    assert [m for m in modules if f"crepe_transforms.{m}" not in ids] == []


@needs_mkdocs
def test_every_public_name_has_an_api_entry(site: Path) -> None:
    ids = _ids(site)
    missing = []
    namespaces = {m: importlib.import_module(f"crepe_transforms.{m}") for m in _public_modules()}
    for module_name, module in namespaces.items():
        names = _exported(module)
        missing += [
            f"{module_name}.{n}" for n in names if f"crepe_transforms.{module_name}.{n}" not in ids
        ]
    # the top level re-exports: each is documented where a namespace exports the same object
    for name in crepe_transforms.__all__:
        if name == "__version__":
            continue
        value = getattr(crepe_transforms, name)
        homes = [
            f"crepe_transforms.{m}.{name}"
            for m, module in namespaces.items()
            if getattr(module, name, None) is value
        ]
        if isinstance(value, ModuleType):
            homes.append(value.__name__)
        if not any(home in ids for home in homes):
            missing.append(name)
    assert missing == []


@needs_mkdocs
def test_api_pages_show_signatures_shapes_examples_and_links(site: Path) -> None:
    html = (site / "api" / "transforms" / "index.html").read_text(encoding="utf-8")
    start = html.index('id="crepe_transforms.transforms.CrepeFrames"')
    entry = html[start : html.index('id="crepe_transforms.transforms.CrepeLoudness"')]
    assert "sample_rate" in entry  # the signature
    assert "hop_length" in entry
    assert '<details class="shape" open>' in entry  # the Shape: section, always open
    code = "".join(re.findall(r'<div class="highlight"><pre>(.*?)</pre>', entry, re.S))
    assert ">>> frames = CrepeFrames(44100)" in html_module.unescape(re.sub(r"<[^>]+>", "", code))
    # no role survived as text anywhere, and roles became working links
    for page in (site / "api").rglob("index.html"):
        text = page.read_text(encoding="utf-8")
        assert re.search(r":(class|func|meth|data|attr|mod):`", text) is None, page
    decode = html[html.index('id="crepe_transforms.transforms.CrepeDecode"') :]
    assert 'href="../functional/#crepe_transforms.functional.admitted_bins"' in decode


@needs_mkdocs
def test_summaries_are_whole_sentences_and_internal_members_are_not_api(site: Path) -> None:
    # issue 22 item 13: the summary tables cut descriptions at the docstring's first line, and
    # members the package uses between its own parts were listed as API
    html = (site / "api" / "transforms" / "index.html").read_text(encoding="utf-8")
    rows: dict[str, str] = {}
    for row in re.findall(r"<tr[^>]*>.*?</tr>", html, re.S):
        text = " ".join(html_module.unescape(re.sub(r"<[^>]+>", "", row)).split())
        for name in ("CrepeSoftDecode", "CrepeStream", "DEFAULT_BLOCK_FRAMES"):
            if text.startswith(f"{name} ") and f'#crepe_transforms.transforms.{name}"' in row:
                rows.setdefault(name, text)
    assert rows["CrepeSoftDecode"].endswith("a differentiable training readout.")
    assert rows["CrepeStream"].endswith("flush() at the end.")
    assert rows["DEFAULT_BLOCK_FRAMES"].endswith("bounds the memory of long inputs.")
    for page in (site / "api").rglob("index.html"):
        text = page.read_text(encoding="utf-8")
        for member in ("check_options", "frames_per_call", "needs_grad", "function"):
            assert not re.search(rf'id="crepe_transforms[\w.]*\.{member}"', text), (page, member)


def _list_shape(html: str, heading_id: str) -> list[int]:
    """The first ``<ol>``/``<ul>`` after a heading: the number of nested lists in each of its
    items (from the browser's DOM, so a list Markdown flattened shows as items without any)."""
    from html.parser import HTMLParser

    class Lists(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.depth, self.items, self.started, self.done = 0, [], False, False

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            if self.done or not self.started:
                self.started = self.started or dict(attrs).get("id") == heading_id
                return
            if tag in ("ol", "ul"):
                if self.depth == 2:
                    self.items[-1] += 1
                self.depth += 1
            elif tag == "li" and self.depth == 1:
                self.depth, _ = 2, self.items.append(0)

        def handle_endtag(self, tag: str) -> None:
            if not self.started or self.done:
                return
            if tag == "li" and self.depth == 2:
                self.depth = 1
            elif tag in ("ol", "ul"):
                self.depth -= 1
                self.done = self.depth == 0

    parser = Lists()
    parser.feed(html)
    return parser.items


@needs_mkdocs
@needs_chromium
@pytest.mark.slow
def test_browser_shows_nested_lists_nested(site: Path, server: _Server, tmp_path: Path) -> None:
    # issue 22 item 13: nested lists indented 2–3 spaces (the CommonMark way) were flattened:
    # voicing.md's step 2 (its list of features) as steps of its own, reliability.md's lists of
    # tests as text
    dom = _chromium(urljoin(server.url, "voicing/"), tmp_path, "--dump-dom")
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert _list_shape(dom.stdout, "the-method-voicingauto-03") == [0, 1, 0]
    source = (DOCS / "reliability.md").read_text(encoding="utf-8")
    nested_in_source = len(re.findall(r"\n[-*] [^\n]*(?:\n {2,3}[^\n]*)*?\n {2,3}- ", source))
    dom = _chromium(urljoin(server.url, "reliability/"), tmp_path, "--dump-dom")
    nested_in_page = len(re.findall(r"<li>(?:(?!</li>).)*?<ul>", dom.stdout, re.S))
    assert nested_in_source >= 3
    assert nested_in_page >= nested_in_source


@needs_mkdocs
def test_public_names_table_links_every_top_level_name(site: Path) -> None:
    html = (site / "api" / "index.html").read_text(encoding="utf-8")
    for name in crepe_transforms.__all__:
        assert f"<code>{name}</code>" in html, name


@needs_mkdocs
def test_links_to_repository_files_work_in_the_site(site: Path) -> None:
    # docs/weights.md links ../weights/README.md, which links back to ../docs/weights.md
    weights = (site / "weights" / "index.html").read_text(encoding="utf-8")
    assert 'href="../repo/weights/"' in weights
    readme = (site / "repo" / "weights" / "index.html").read_text(encoding="utf-8")
    content = readme[readme.index('<article class="md-content__inner') :]
    assert 'href="../../weights/"' in content


# --- the site in a browser --------------------------------------------------------------------


class _Server:
    """``http.server`` on a free localhost port, recording every path it answered with 200."""

    def __init__(self, root: Path) -> None:
        served: list[str] = []
        self.served = served

        class Handler(SimpleHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

            def send_response(self, code: int, message: str | None = None) -> None:
                if code == 200:
                    served.append(unquote(urlparse(self.path).path))
                super().send_response(code, message)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(Handler, directory=str(root)))
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> _Server:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def server(site: Path) -> Iterator[_Server]:
    with _Server(site) as running:
        yield running


def _chromium(url: str, tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    profile = tmp / f"profile-{len(list(tmp.glob('profile-*')))}"
    assert CHROMIUM is not None
    return subprocess.run(
        [CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args, url],
        capture_output=True,
        text=True,
        timeout=180,
    )


def _png_pixels(data: bytes) -> tuple[int, int, list[bytes]]:
    """Width, height and the unfiltered rows of an 8-bit RGB/RGBA PNG (what Chromium writes)."""
    assert data.startswith(PNG_SIGNATURE)
    pos, chunks, header = 8, [], b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            chunks.append(body)
        pos += 12 + length
    width, height, depth, color = struct.unpack(">IIBB", header[:10])
    assert depth == 8
    assert color in (2, 6)
    step = 3 if color == 2 else 4
    raw, stride = zlib.decompress(b"".join(chunks)), width * step
    rows, previous = [], bytearray(stride)
    for y in range(height):
        kind, line = (
            raw[y * (stride + 1)],
            bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)]),
        )
        for x in range(stride):
            left = line[x - step] if x >= step else 0
            up, corner = previous[x], previous[x - step] if x >= step else 0
            if kind == 1:
                line[x] = (line[x] + left) & 0xFF
            elif kind == 2:
                line[x] = (line[x] + up) & 0xFF
            elif kind == 3:
                line[x] = (line[x] + (left + up) // 2) & 0xFF
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                pred = left if pa <= pb and pa <= pc else up if pb <= pc else corner
                line[x] = (line[x] + pred) & 0xFF
        rows.append(bytes(line))
        previous = line
    return width, height, rows


def _sampled_colours(path: Path) -> tuple[int, int, set[bytes]]:
    """Size of a screenshot and the colours on a grid of its pixels (Pillow when installed, it
    comes with matplotlib; else a plain-Python PNG decoder)."""
    try:
        from PIL import Image
    except ImportError:
        width, height, rows = _png_pixels(path.read_bytes())
        step = len(rows[0]) // width
        grid = {row[x : x + 3] for row in rows[::20] for x in range(0, len(row), 20 * step)}
        return width, height, grid
    with Image.open(path) as image:
        rgb = image.convert("RGB")
        width, height = rgb.size
        pixels = [rgb.getpixel((x, y)) for y in range(0, height, 20) for x in range(0, width, 20)]
    return width, height, {bytes(p) for p in pixels}


def _img_sources(dom: str) -> list[str]:
    return re.findall(r'<img[^>]*\ssrc="([^"]+)"', dom)


@needs_mkdocs
@needs_chromium
@pytest.mark.slow
@pytest.mark.parametrize(
    ("path", "heading", "pictures"),
    [("", "crepe_transforms", 4), ("api/transforms/", "Transforms", 0)],
    ids=["home", "api-transforms"],
)
def test_browser_renders_title_navigation_and_pictures(
    site: Path, server: _Server, tmp_path: Path, path: str, heading: str, pictures: int
) -> None:
    url = urljoin(server.url, path)
    dom = _chromium(url, tmp_path, "--dump-dom", "--virtual-time-budget=5000")
    assert dom.returncode == 0, dom.stderr[-2000:]
    html = dom.stdout
    # the title, in the tab and on the page
    assert re.search(r"<title>[^<]*crepe_transforms[^<]*</title>", html)
    assert re.search(rf"<h1[^>]*>\s*{re.escape(heading)}", html)
    # the navigation: every top-level entry of mkdocs.yml's nav, as links
    nav = html[html.index('class="md-nav md-nav--primary"') :]
    for title in ("Getting started", "Uses", "Command line", "Training at scale",
                  "Migration from 0.1 and 0.2", "API reference"):  # fmt: skip
        assert re.search(rf">\s*{re.escape(title)}\s*<", nav), title
    # the pictures: each <img> is a non-empty PNG of the site, and the browser fetched it
    sources = [s for s in _img_sources(html) if not s.startswith("data:")]
    assert len(sources) >= pictures
    for source in sources:
        file = site / urlparse(urljoin(url, source)).path.lstrip("/")
        assert file.is_file(), source
        assert file.stat().st_size > 1000, source
        assert file.read_bytes().startswith(PNG_SIGNATURE), source

    shot = tmp_path / "screenshot.png"
    served_before = len(server.served)
    result = _chromium(
        url,
        tmp_path,
        f"--screenshot={shot}",
        "--window-size=1280,1600",
        "--virtual-time-budget=5000",
    )
    assert result.returncode == 0, result.stderr[-2000:]
    fetched = server.served[served_before:]
    for source in sources:
        assert urlparse(urljoin(url, source)).path in fetched, source
    width, height, colours = _sampled_colours(shot)
    assert (width, height) == (1280, 1600)
    assert len(colours) > 20  # not blank: text, navigation and (on the home page) pictures

"""Ranked catalog search and "did you mean" suggestions, on the bundled catalog, on synthetic
catalogs, and on all 328 servers of the Docker MCP catalog snapshot in ../shared."""

from __future__ import annotations

import json
import re
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import tomli_w

from mcp_registry_server.catalog import (
    Catalog,
    CatalogEntry,
    KnownTool,
    closest_ids,
    load_catalog,
    search,
    tokenize,
)

REPO_ROOT = Path(__file__).resolve().parents[1]
SNAPSHOT_SERVERS = REPO_ROOT / ".." / "shared" / "catalogs" / "docker-mcp-registry" / "servers"
SNAPSHOT_SIZE = 328
P50_BUDGET_SECONDS = 0.005


def make_entry(entry_id: str, **fields: Any) -> CatalogEntry:
    data: dict[str, Any] = {"id": entry_id, "name": entry_id, "description": "", "image": "docker.io/mcp/x"}
    data.update(fields)
    return CatalogEntry.model_validate(data)


def ids(hits: list[Any]) -> list[str]:
    return [hit.entry.id for hit in hits]


def p50_seconds(run: Callable[[str], object], queries: list[str], rounds: int = 5) -> float:
    samples: list[float] = []
    for _ in range(rounds):
        for query in queries:
            started = time.perf_counter()
            run(query)
            samples.append(time.perf_counter() - started)
    return statistics.median(samples)


@pytest.fixture(scope="module")
def bundled() -> Catalog:
    """The curated entries of the bundled catalog: a fixed set, so the ranking rules are what is tested
    (the other 296 generated entries bring new good answers, e.g. more payment servers than Stripe)."""
    catalog = load_catalog([REPO_ROOT / "catalog"])
    assert catalog.warnings == ()
    curated = {path.stem for path in (REPO_ROOT / "scripts" / "catalog_overrides").glob("*.toml")}
    return Catalog([catalog[entry_id] for entry_id in sorted(curated)])


# --- tokenizing and the rules --------------------------------------------------------------------


def test_tokenize_lowercases_and_splits_on_non_alphanumerics() -> None:
    assert tokenize("List_Tables, brave-search!  S3") == ["list", "tables", "brave", "search", "s3"]
    assert tokenize(" -_- ") == []


@pytest.mark.parametrize("query", ["", "   ", "--", "?!"])
def test_empty_query_finds_nothing(bundled: Catalog, query: str) -> None:
    assert search(bundled, query) == []


def test_limit_is_respected(bundled: Catalog) -> None:
    assert len(search(bundled, "list", limit=3)) == 3
    assert search(bundled, "list", limit=0) == []


def test_search_is_case_insensitive(bundled: Catalog) -> None:
    assert ids(search(bundled, "SQLite")) == ids(search(bundled, "sqlite"))


def test_id_and_name_outrank_tags_tools_and_descriptions() -> None:
    catalog = Catalog(
        [
            make_entry("in-description", description="Talks to the widget API."),
            make_entry("in-tool-description", tools=[KnownTool(name="go", description="widget")]),
            make_entry("in-tool-name", tools=[KnownTool(name="get_widget")]),
            make_entry("in-tag", tags=["widget"]),
            make_entry("widget"),
        ]
    )
    assert ids(search(catalog, "widget")) == [
        "widget",
        "in-tag",
        "in-tool-name",
        "in-description",
        "in-tool-description",
    ]


def test_whole_words_beat_prefixes() -> None:
    catalog = Catalog([make_entry("gitlab"), make_entry("git"), make_entry("digit")])
    assert ids(search(catalog, "git")) == ["git", "gitlab"]  # "digit" does not start with "git"


def test_single_letter_does_not_match_as_a_prefix() -> None:
    catalog = Catalog([make_entry("sqlite"), make_entry("s", name="S")])
    assert ids(search(catalog, "s")) == ["s"]


def test_ties_are_broken_by_id() -> None:
    catalog = Catalog([make_entry(entry_id, name="Same", tags=["shared"]) for entry_id in ["c", "a", "b"]])
    hits = search(catalog, "shared")
    assert ids(hits) == ["a", "b", "c"]
    assert len({hit.score for hit in hits}) == 1


def test_more_matching_tokens_rank_higher() -> None:
    catalog = Catalog(
        [
            make_entry("one", description="weather"),
            make_entry("two", description="weather forecast"),
        ]
    )
    assert ids(search(catalog, "weather forecast")) == ["two", "one"]


def test_matched_tools_are_reported() -> None:
    catalog = Catalog(
        [make_entry("db", tools=[KnownTool(name="list_tables"), KnownTool(name="read_query")])],
    )
    [hit] = search(catalog, "list tables")
    assert hit.matched_tools == ("list_tables",)


# --- the bundled catalog -------------------------------------------------------------------------


def test_sqlite_finds_sqlite_first(bundled: Catalog) -> None:
    assert ids(search(bundled, "sqlite"))[0] == "sqlite"


def test_tool_name_finds_its_server(bundled: Catalog) -> None:
    hits = search(bundled, "list_tables")
    assert "sqlite" in ids(hits)[:2]
    sqlite_hit = next(hit for hit in hits if hit.entry.id == "sqlite")
    assert sqlite_hit.matched_tools == ("list_tables",)
    assert ids(search(bundled, "maps_geocode"))[0] == "google-maps"
    assert ids(search(bundled, "create_pull_request"))[0] == "github"


def test_tag_search(bundled: Catalog) -> None:
    assert set(ids(search(bundled, "k8s"))[:2]) == {"kubernetes", "kubectl"}
    assert ids(search(bundled, "payments"))[0] == "stripe"
    assert ids(search(bundled, "jira"))[0] == "atlassian"


def test_description_search(bundled: Catalog) -> None:
    assert ids(search(bundled, "timezone conversion"))[0] == "time"
    assert ids(search(bundled, "markdown"))[0] == "fetch"


def test_prefix_search(bundled: Catalog) -> None:
    assert set(ids(search(bundled, "kube"))[:2]) == {"kubernetes", "kubectl"}
    assert "puppeteer" in ids(search(bundled, "pupp"))


def test_closest_ids_suggests_similar_ids(bundled: Catalog) -> None:
    assert closest_ids(bundled, "sqlit")[0] == "sqlite"
    assert closest_ids(bundled, "githb")[0] == "github"
    assert closest_ids(bundled, "Brave") == ["brave-search"]
    assert "google-maps" in closest_ids(bundled, "maps")
    assert closest_ids(bundled, "zzzzzzzz") == []
    assert closest_ids(bundled, "") == []
    assert len(closest_ids(bundled, "git", n=2)) == 2


# --- speed ---------------------------------------------------------------------------------------

WORDS = (
    "alpha beta gamma delta query table index search fetch browser cloud deploy metric log trace "
    "issue pull request commit branch user group payment invoice calendar email message channel "
    "file directory volume secret token cluster node pod image build test report chart graph"
).split()


VERBS = ["list", "get", "create", "update", "delete", "search", "describe", "run"]


def synthetic_catalog(size: int) -> Catalog:
    entries = []
    for number in range(size):
        pick = [WORDS[(number * step + offset) % len(WORDS)] for step, offset in ((3, 1), (7, 2), (11, 5))]
        tools = [
            KnownTool(name=f"{verb}_{noun}_{number}", description=f"{verb.title()} a {noun} item")
            for verb, noun in zip(VERBS, pick * 3, strict=False)
        ]
        entries.append(
            make_entry(
                f"server-{number:04d}",
                name=f"Server {number} {pick[0]}",
                description=f"Works with {pick[0]} and {pick[1]} through the {pick[2]} API.",
                tags=pick,
                tools=tools,
            )
        )
    return Catalog(entries)


def test_search_p50_on_1000_entries_is_well_under_5ms() -> None:
    catalog = synthetic_catalog(1000)
    assert catalog.search_index is catalog.search_index  # built once, reused by every query
    queries = ["search", "pull request", "list_table", "server 500", "invoice payment", "de", "graph node"]
    search(catalog, "warm up")
    assert p50_seconds(lambda query: search(catalog, query), queries) < P50_BUDGET_SECONDS
    assert len(search(catalog, "search")) == 10


# --- the Docker MCP catalog snapshot -------------------------------------------------------------


def _scalar(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        value = value[1:-1]
    return value


def read_server_yaml(path: Path) -> dict[str, Any]:
    """Just enough YAML for server.yaml: top-level scalars, `about.*` scalars, `meta.tags` list.

    PyYAML is not a dependency; block scalars (`|`, `>`) under `about` are folded into one line.
    """
    result: dict[str, Any] = {"tags": []}
    section = ""
    block_key: str | None = None
    block_lines: list[str] = []
    lines = path.read_text(encoding="utf-8").splitlines()
    for line in [*lines, "end-of-file:"]:
        indent = len(line) - len(line.lstrip(" "))
        stripped = line.strip()
        if block_key is not None:
            if not stripped or indent > 2:
                block_lines.append(stripped)
                continue
            result[block_key] = " ".join(part for part in block_lines if part)
            block_key = None
        if not stripped or stripped.startswith("#"):
            continue
        key, _, value = stripped.partition(":")
        if indent == 0:
            section = key
            if value.strip():
                result[key] = _scalar(value)
        elif section == "about" and indent == 2:
            if value.strip() in ("|", ">", "|-", ">-"):
                block_key, block_lines = f"about.{key}", []
            else:
                result[f"about.{key}"] = _scalar(value)
        elif section == "meta" and stripped.startswith("- "):
            result["tags"].append(_scalar(stripped[2:]))
    return result


def first_sentence(text: str) -> str:
    line = " ".join(text.strip().splitlines()[0].split()) if text.strip() else ""
    return re.split(r"(?<=\.)\s", line, maxsplit=1)[0]


def snapshot_entry(server_dir: Path) -> CatalogEntry:
    meta = read_server_yaml(server_dir / "server.yaml")
    entry_id = re.sub(r"[^a-z0-9._-]", "-", server_dir.name.lower())
    tools: list[KnownTool] = []
    tools_file = server_dir / "tools.json"
    if tools_file.exists():
        for tool in json.loads(tools_file.read_text(encoding="utf-8")):
            description = first_sentence(tool.get("description") or "")
            tools.append(KnownTool(name=tool["name"], description=description))
    # Remote servers have no image; the placeholder only has to be a valid reference for this test.
    image = meta.get("image") or f"registry.invalid/remote/{entry_id}"
    if "." not in image.split("/", 1)[0]:
        image = f"docker.io/{image}"
    return CatalogEntry(
        id=entry_id,
        name=meta.get("about.title") or meta.get("name") or entry_id,
        description=meta.get("about.description") or "",
        image=image,
        tags=meta["tags"],
        tools=tools,
        network="bridge",
    )


@pytest.fixture(scope="module")
def snapshot_catalog() -> Catalog:
    if not SNAPSHOT_SERVERS.is_dir():
        pytest.fail(
            f"The Docker MCP catalog snapshot is missing: expected {SNAPSHOT_SERVERS.resolve()} "
            "(../shared beside the project root). Restore ../shared; these tests cannot run without it."
        )
    server_dirs = sorted(path for path in SNAPSHOT_SERVERS.iterdir() if (path / "server.yaml").is_file())
    entries = [snapshot_entry(server_dir) for server_dir in server_dirs]
    assert len({entry.id for entry in entries}) == len(entries), "two snapshot servers map to one id"
    return Catalog(entries)


def test_snapshot_converts_every_server(snapshot_catalog: Catalog) -> None:
    assert len(snapshot_catalog) == SNAPSHOT_SIZE
    with_tools = [
        path for path in SNAPSHOT_SERVERS.glob("*/tools.json") if json.loads(path.read_text(encoding="utf-8"))
    ]
    assert sum(1 for entry in snapshot_catalog.values() if entry.tools) == len(with_tools) > 20
    assert snapshot_catalog["sqlite-mcp-server"].name == "SQLite"


def test_snapshot_round_trips_through_toml_files(snapshot_catalog: Catalog, tmp_path: Path) -> None:
    for entry in snapshot_catalog.values():
        (tmp_path / f"{entry.id}.toml").write_text(tomli_w.dumps(entry.model_dump(exclude_none=True)))
    loaded = load_catalog([tmp_path])
    assert loaded.warnings == ()
    assert dict(loaded) == dict(snapshot_catalog)


def test_snapshot_search_finds_github(snapshot_catalog: Catalog) -> None:
    hits = ids(search(snapshot_catalog, "github"))
    assert hits[0] == "github"
    assert {"github-official", "github-chat"} <= set(hits)


def test_snapshot_search_ranks_by_tool_names(snapshot_catalog: Catalog) -> None:
    assert ids(search(snapshot_catalog, "get_pods"))[0] == "kubectl-mcp-server"
    assert ids(search(snapshot_catalog, "ref_search_documentation"))[0] == "ref"
    assert ids(search(snapshot_catalog, "read-cypher"))[0] == "neo4j"
    top = search(snapshot_catalog, "list_tables", limit=3)
    assert all("list_tables" in hit.matched_tools for hit in top)
    assert {"sqlite-mcp-server", "database-server"} <= set(ids(top))


def test_snapshot_search_p50_is_well_under_5ms(snapshot_catalog: Catalog) -> None:
    queries = [
        "github",
        "database",
        "kubernetes pods",
        "list_tables",
        "search the web",
        "pay",
        "cloudflare logs",
    ]
    search(snapshot_catalog, "warm up")
    assert p50_seconds(lambda query: search(snapshot_catalog, query), queries) < P50_BUDGET_SECONDS


def test_snapshot_closest_ids(snapshot_catalog: Catalog) -> None:
    assert closest_ids(snapshot_catalog, "githib")[0] == "github"
    assert "sqlite" in closest_ids(snapshot_catalog, "sqlite")

"""Tool search (`catalog.tool_search`): words, BM25 ranking, and precision on a labelled query set.

The labelled set asks for tools of the bundled catalog the way a user would ("create a table",
"what time is it in Tokyo"), each with the one tool that answers it. Precision at 1 and 5 is
printed (`pytest -s tests/test_tool_search.py`) and held above a floor, so a change that makes
search worse fails here.
"""

from __future__ import annotations

import time

import pytest

from mcp_registry_server.catalog import load_catalog
from mcp_registry_server.catalog.loader import bundled_catalog_dir
from mcp_registry_server.catalog.tool_search import ToolDocument, ToolIndex, tool_words

# query → (entry, tool)
LABELLED = {
    "create a table": ("sqlite", "create_table"),
    "create a new table in sqlite": ("sqlite", "create_table"),
    "what time is it in Tokyo": ("time", "get_current_time"),
    "convert 3pm New York to Berlin timezone": ("time", "convert_time"),
    "run a select query on sqlite": ("sqlite", "read_query"),
    "list the tables of my sqlite database": ("sqlite", "list_tables"),
    "show the schema of a database table": ("database-server", "describe_table"),
    "execute raw sql": ("database-server", "execute_sql"),
    "commit my changes to git": ("git", "git_commit"),
    "show unstaged changes": ("git", "git_diff_unstaged"),
    "switch to another git branch": ("git", "git_checkout"),
    "show the git commit log": ("git", "git_log"),
    "stage a file for commit": ("git", "git_add"),
    "open a pull request on github": ("github", "create_pull_request"),
    "merge a github pull request": ("github", "merge_pull_request"),
    "search code across github": ("github", "search_code"),
    "comment on a github issue": ("github", "add_issue_comment"),
    "create a gitlab merge request": ("gitlab", "create_merge_request"),
    "fork a gitlab project": ("gitlab", "fork_repository"),
    "post a message to a slack channel": ("slack", "slack_post_message"),
    "add an emoji reaction in slack": ("slack", "slack_add_reaction"),
    "reply in a slack thread": ("slack", "slack_reply_to_thread"),
    "create a jira issue": ("atlassian", "jira_create_issue"),
    "move a jira issue to done": ("atlassian", "jira_transition_issue"),
    "search confluence pages": ("atlassian", "confluence_search"),
    "read a file": ("filesystem", "read_file"),
    "make a new directory": ("filesystem", "create_directory"),
    "rename a file": ("filesystem", "move_file"),
    "show a directory tree": ("filesystem", "directory_tree"),
    "search the web with brave": ("brave-search", "brave_web_search"),
    "find news articles": ("brave-search", "brave_news_search"),
    "search duckduckgo": ("duckduckgo", "search"),
    "fetch a url as markdown": ("fetch", "fetch"),
    "get directions between two places": ("google-maps", "maps_directions"),
    "convert an address to coordinates": ("google-maps", "maps_geocode"),
    "elevation of a location": ("google-maps", "maps_elevation"),
    "take a screenshot of the page": ("playwright", "browser_take_screenshot"),
    "click a button on a web page with playwright": ("playwright", "browser_click"),
    "run javascript in the puppeteer browser": ("puppeteer", "puppeteer_evaluate"),
    "list kubernetes pods": ("kubectl", "get_pods"),
    "scale a kubernetes deployment": ("kubectl", "scale_deployment"),
    "install a helm chart": ("kubectl", "install_helm_chart"),
    "forward a port to a pod": ("kubectl", "port_forward"),
    "apply a kubernetes yaml manifest": ("kubernetes", "kubectl_apply"),
    "add observations to an entity in the knowledge graph": ("memory", "add_observations"),
    "create relations between entities": ("memory", "create_relations"),
    "read the whole knowledge graph": ("memory", "read_graph"),
    "insert documents into a mongodb collection": ("mongodb", "insert-many"),
    "list mongodb collections": ("mongodb", "list-collections"),
    "run a cypher read query on neo4j": ("neo4j", "read-cypher"),
    "set a redis key with expiration": ("redis", "set"),
    "publish to a redis channel": ("redis", "publish"),
    "query prometheus with promql": ("grafana", "query_prometheus"),
    "search grafana dashboards": ("grafana", "search_dashboards"),
    "refund a stripe payment": ("stripe", "create_refund"),
    "create a payment link": ("stripe", "create_payment_link"),
    "check my stripe balance": ("stripe", "retrieve_balance"),
    "summary of a wikipedia article": ("wikipedia", "get_summary"),
    "youtube video transcript": ("youtube-transcript", "get_transcript"),
    "trigger a buildkite build": ("buildkite", "create_build"),
    "logs of a buildkite job": ("buildkite", "get_job_logs"),
    "list elasticsearch indices": ("elasticsearch", "list_indices"),
    "search aws documentation": ("aws-docs", "search_documentation"),
    "append a page of blocks in notion": ("notion", "API-patch-block-children"),
    "sonarqube quality gate status of a project": ("sonarqube", "get_project_quality_gate_status"),
    "think through a problem step by step": ("sequential-thinking", "sequentialthinking"),
}
PRECISION_AT_1_FLOOR = 0.75
PRECISION_AT_5_FLOOR = 0.95


@pytest.fixture(scope="module")
def bundled_index() -> ToolIndex:
    catalog = load_catalog([bundled_catalog_dir()])
    return ToolIndex(
        ToolDocument.of(entry.id, tool.name, tool.description, server=entry.name)
        for entry in catalog.values()
        for tool in entry.tools
    )


def test_words_split_names_drop_function_words_and_stem() -> None:
    assert tool_words("listTables") == ["list", "tabl"]
    assert tool_words("git_create-branch") == ["git", "creat", "branch"]
    assert tool_words("What time is it in Tokyo?") == ["tim", "tokyo"]
    assert tool_words("creating tables") == tool_words("create table")
    assert tool_words("queries addresses running") == ["query", "address", "run"]


def test_a_tool_is_found_by_what_it_does_not_only_by_its_name() -> None:
    index = ToolIndex(
        [
            ToolDocument.of("db", "create_table", "Create a new table", ["name", "columns"]),
            ToolDocument.of("db", "drop", "Remove a table for good"),
            ToolDocument.of("clock", "now", "The current time in a timezone", ["timezone"]),
        ]
    )
    assert [doc.name for doc, _ in index.search("remove table")] == ["drop", "create_table"]
    assert index.search("what time is it")[0][0].name == "now"
    assert index.search("columns")[0][0].name == "create_table"  # argument names count
    assert index.search("zebra") == [] and index.search("") == [] and index.search("the of a") == []


def test_scores_break_ties_by_entry_then_name() -> None:
    index = ToolIndex([ToolDocument.of("b", "echo"), ToolDocument.of("a", "echo"), ToolDocument.of("a", "Echo")])
    assert [(doc.entry_id, doc.name) for doc, _ in index.search("echo")] == [
        ("a", "Echo"),
        ("a", "echo"),
        ("b", "echo"),
    ]


def test_precision_on_the_labelled_queries(bundled_index: ToolIndex) -> None:
    assert len(LABELLED) >= 50
    first = five = 0
    misses = []
    for query, wanted in LABELLED.items():
        ranked = [(doc.entry_id, doc.name) for doc, _ in bundled_index.search(query, limit=5)]
        first += ranked[:1] == [wanted]
        five += wanted in ranked
        if ranked[:1] != [wanted]:
            misses.append(f"{query!r}: wanted {wanted}, got {ranked[:3]}")
    at_1, at_5 = first / len(LABELLED), five / len(LABELLED)
    print(f"\ntool search over the bundled catalog ({len(bundled_index)} tools), {len(LABELLED)} labelled queries:")
    print(f"precision@1 = {at_1:.2f}, precision@5 = {at_5:.2f}")
    print("\n".join(misses))
    assert at_1 >= PRECISION_AT_1_FLOOR and at_5 >= PRECISION_AT_5_FLOOR, misses


def test_a_query_over_thousands_of_tools_takes_well_under_a_millisecond_each(bundled_index: ToolIndex) -> None:
    # Not a timing test of record (bench P6 is): a guard against an accidental quadratic walk.
    documents = [
        ToolDocument.of(f"server-{n}", f"{doc.name}_{n}", doc.description)
        for n in range(12)
        for doc in bundled_index.documents
    ]
    index = ToolIndex(documents)
    started = time.perf_counter()
    for query in LABELLED:
        index.search(query)
    assert (time.perf_counter() - started) / len(LABELLED) < 0.05

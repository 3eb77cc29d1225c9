"""Ranked keyword search over the catalog, and "did you mean" suggestions for unknown ids.

Contract: `SearchIndex(entries).search(query, limit)` (and `collection.search(catalog, query,
limit)`, which uses the catalog's index) lowercases the query and splits it on anything that is
not a letter or digit. Each token scores against five fields of every entry, strongest first:
id and name, tags, tool names, description, tool descriptions. A token that equals a word of a
field earns the field's full weight; a token that only begins a word earns less, and prefixes
shorter than two characters do not count. A query that equals an entry's id or name, or one of its
tool names, word for word, earns a bonus on top. Hits come back best first, ties broken by id;
an empty query (or one with no letters or digits) finds nothing.

The per-entry token index is built once per `Catalog` (see `Catalog.search_index`), so a query
costs a few dictionary lookups plus one sorted-vocabulary range scan per token, not a pass over
every description.
"""

from __future__ import annotations

import difflib
import heapq
import re
from bisect import bisect_left
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from mcp_registry_server.catalog.entry import CatalogEntry

_TOKEN = re.compile(r"[a-z0-9]+")

# Field bits, strongest first. A word may sit in several fields of one entry; each counts once.
_ID_NAME = 1
_TAG = 2
_TOOL_NAME = 4
_DESCRIPTION = 8
_TOOL_DESCRIPTION = 16
_FIELDS = (_ID_NAME, _TAG, _TOOL_NAME, _DESCRIPTION, _TOOL_DESCRIPTION)

EXACT_WEIGHTS: Mapping[int, float] = {
    _ID_NAME: 10.0,
    _TAG: 6.0,
    _TOOL_NAME: 4.0,
    _DESCRIPTION: 2.0,
    _TOOL_DESCRIPTION: 1.0,
}
# A prefix is weaker evidence than a whole word: "git" should not tie "gitlab" with "git".
PREFIX_WEIGHTS: Mapping[int, float] = {field: weight / 2 for field, weight in EXACT_WEIGHTS.items()}
ID_OR_NAME_PHRASE_BONUS = 20.0
TOOL_NAME_PHRASE_BONUS = 8.0
MIN_PREFIX_LENGTH = 2
MIN_FRAGMENT_LENGTH = 3


def _mask_scores(weights: Mapping[int, float]) -> tuple[float, ...]:
    # Precomputed so scoring a token is one table lookup per entry, whatever fields matched.
    return tuple(sum(weight for field, weight in weights.items() if mask & field) for mask in range(1 << len(_FIELDS)))


_EXACT_SCORE = _mask_scores(EXACT_WEIGHTS)
_PREFIX_SCORE = _mask_scores(PREFIX_WEIGHTS)


def tokenize(text: str) -> list[str]:
    """Lowercase `text` and split it on every character that is not a letter or digit."""
    return _TOKEN.findall(text.lower())


@dataclass(frozen=True)
class SearchHit:
    """One ranked result: the entry, its score, and which of its known tools matched the query."""

    entry: CatalogEntry
    score: float
    matched_tools: tuple[str, ...] = ()


class SearchIndex:
    """Inverted index over a fixed set of entries; build once, query many times."""

    def __init__(self, entries: Iterable[CatalogEntry]) -> None:
        self._entries: tuple[CatalogEntry, ...] = tuple(sorted(entries, key=lambda entry: entry.id))
        self._postings: dict[str, dict[int, int]] = {}
        self._phrases: dict[tuple[str, ...], dict[int, float]] = {}
        self._tool_tokens: list[tuple[tuple[str, frozenset[str]], ...]] = []
        for position, entry in enumerate(self._entries):
            self._index_entry(position, entry)
        self._vocabulary: list[str] = sorted(self._postings)

    def __len__(self) -> int:
        return len(self._entries)

    def _index_entry(self, position: int, entry: CatalogEntry) -> None:
        def add(text: str, field: int) -> None:
            for word in tokenize(text):
                postings = self._postings.setdefault(word, {})
                postings[position] = postings.get(position, 0) | field

        def add_phrase(text: str, bonus: float) -> None:
            phrase = tuple(tokenize(text))
            if phrase:
                bonuses = self._phrases.setdefault(phrase, {})
                bonuses[position] = max(bonuses.get(position, 0.0), bonus)

        add(entry.id, _ID_NAME)
        add(entry.name, _ID_NAME)
        add_phrase(entry.id, ID_OR_NAME_PHRASE_BONUS)
        add_phrase(entry.name, ID_OR_NAME_PHRASE_BONUS)
        for tag in entry.tags:
            add(tag, _TAG)
        add(entry.description, _DESCRIPTION)
        tool_tokens: list[tuple[str, frozenset[str]]] = []
        for tool in entry.tools:
            add(tool.name, _TOOL_NAME)
            add(tool.description, _TOOL_DESCRIPTION)
            add_phrase(tool.name, TOOL_NAME_PHRASE_BONUS)
            tool_tokens.append((tool.name, frozenset(tokenize(tool.name))))
        self._tool_tokens.append(tuple(tool_tokens))

    def _prefix_words(self, token: str) -> list[str]:
        # The vocabulary is sorted, so every word starting with `token` sits in one contiguous run.
        words: list[str] = []
        vocabulary = self._vocabulary
        index = bisect_left(vocabulary, token)
        while index < len(vocabulary) and vocabulary[index].startswith(token):
            if vocabulary[index] != token:
                words.append(vocabulary[index])
            index += 1
        return words

    def _matched_tools(self, position: int, tokens: list[str]) -> tuple[str, ...]:
        matched: list[str] = []
        for name, words in self._tool_tokens[position]:
            if any(
                token in words or (len(token) >= MIN_PREFIX_LENGTH and any(w.startswith(token) for w in words))
                for token in tokens
            ):
                matched.append(name)
        return tuple(matched)

    def search(self, query: str, limit: int = 10) -> list[SearchHit]:
        """Rank the indexed entries against `query`; see the module docstring for the rules."""
        tokens = list(dict.fromkeys(tokenize(query)))
        if not tokens or limit <= 0:
            return []
        scores = [0.0] * len(self._entries)
        for token in tokens:
            exact = self._postings.get(token, {})
            prefix: dict[int, int] = {}
            if len(token) >= MIN_PREFIX_LENGTH:
                for word in self._prefix_words(token):
                    for position, mask in self._postings[word].items():
                        prefix[position] = prefix.get(position, 0) | mask
            for position, mask in exact.items():
                scores[position] += _EXACT_SCORE[mask]
            for position, mask in prefix.items():
                # A field already matched exactly by this token earns nothing more for a prefix.
                scores[position] += _PREFIX_SCORE[mask & ~exact.get(position, 0)]
        for position, bonus in self._phrases.get(tuple(tokens), {}).items():
            scores[position] += bonus
        # Positions follow id order and nlargest is stable, so equal scores come out by id.
        best = heapq.nlargest(limit, range(len(scores)), key=scores.__getitem__)
        return [
            SearchHit(
                entry=self._entries[position],
                score=scores[position],
                matched_tools=self._matched_tools(position, tokens),
            )
            for position in best
            if scores[position] > 0
        ]


def closest_ids(catalog: Mapping[str, CatalogEntry], text: str, n: int = 3) -> list[str]:
    """Up to `n` catalog ids that look like `text`, for "unknown entry, did you mean ...?" errors."""
    wanted = text.strip().lower()
    if not wanted or n <= 0:
        return []
    # Candidates are ids and display names, both mapped back to ids, so "Brave" finds brave-search.
    candidates: dict[str, str] = {}
    for entry_id, entry in catalog.items():
        candidates.setdefault(entry_id.lower(), entry_id)
        candidates.setdefault(entry.name.lower(), entry_id)
    suggestions: list[str] = []
    for match in difflib.get_close_matches(wanted, list(candidates), n=n * 2, cutoff=0.6):
        suggestions.append(candidates[match])
    # difflib misses short fragments of long ids ("maps" in "google-maps"); containment catches them.
    if len(wanted) >= MIN_FRAGMENT_LENGTH:
        suggestions.extend(candidates[key] for key in sorted(candidates) if wanted in key)
    return list(dict.fromkeys(suggestions))[:n]

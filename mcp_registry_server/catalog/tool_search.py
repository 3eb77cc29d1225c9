"""Tool search: BM25 over tool names, descriptions and argument names, for "find the tool that does X".

Contract: `ToolDocument` is one tool (its entry, its own name, a description, its argument names),
tokenized once (`ToolDocument.of`). `ToolIndex(documents).search(query, limit)` ranks them with
Okapi BM25 (k1 = 1.2, b = 0.75) and returns `(document, score)` pairs, best first, ties broken by
entry then tool name; a query with no known word finds nothing.

The document of a tool also holds its server's id and name once, so "create a table in sqlite"
prefers SQLite's `create_table` to another database's.

Words: lowercase letters and digits, with snake_case, kebab-case and camelCase split ("listTables"
→ list, tables), common English function words dropped ("what", "is", "a"), and a light suffix
stemmer so "tables" finds "table" and "creating" finds "create". A tool's name counts three times
(it says what the tool does most plainly), its argument names once, its description once.

No network service, no dependency: a few thousand tools index in milliseconds, and a query costs
one postings walk per query word.
"""

from __future__ import annotations

import heapq
import math
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["ToolDocument", "ToolIndex", "tool_words"]

_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")
_STOPWORDS = frozenset(
    "a an and are as at be by can do does for from get give how i in is it its me my of on or please show "
    "that the this to up use what when where which who why will with you your".split()
)
# (suffix, replacement), first match wins; a stem keeps at least three letters.
_SUFFIXES = (("ss", "ss"), ("us", "us"), ("sses", "ss"), ("ies", "y"), ("ing", ""), ("ed", ""), ("es", ""), ("s", ""))
_NAME_WEIGHT = 3
_K1 = 1.2
_B = 0.75


def _stem(word: str) -> str:
    """A light stemmer: "tables"/"table" → "tabl", "creating"/"create" → "creat", "running" → "run"."""
    if len(word) <= 3:
        return word
    for suffix, replacement in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)] + replacement
            break
    if len(word) > 3 and word.endswith("e"):
        word = word[:-1]
    if len(word) > 3 and word[-1] == word[-2] and word[-1] not in "sl":
        word = word[:-1]
    return word


def tool_words(text: str) -> list[str]:
    """The searchable words of `text`: split, lowercased, function words dropped, stemmed."""
    words = (match.lower() for match in _WORD.findall(text))
    return [_stem(word) for word in words if word not in _STOPWORDS]


@dataclass(frozen=True)
class ToolDocument:
    """One searchable tool. `entry_id` and `name` identify it; `words` are its weighted terms."""

    entry_id: str
    name: str
    description: str
    words: tuple[str, ...]

    @classmethod
    def of(
        cls, entry_id: str, name: str, description: str = "", arguments: Iterable[str] = (), server: str = ""
    ) -> ToolDocument:
        """`server`: the server's display name (its id always counts)."""
        words = (
            tool_words(name) * _NAME_WEIGHT
            + tool_words(" ".join(arguments))
            + tool_words(description)
            + list(dict.fromkeys(tool_words(f"{entry_id} {server}")))
        )
        return cls(entry_id, name, description, tuple(words))


class ToolIndex:
    """BM25 over a fixed set of tool documents; build once, query many times."""

    def __init__(self, documents: Iterable[ToolDocument]) -> None:
        self.documents: tuple[ToolDocument, ...] = tuple(documents)
        self._postings: dict[str, list[tuple[int, int]]] = {}
        lengths = [len(document.words) for document in self.documents]
        for position, document in enumerate(self.documents):
            for word, count in Counter(document.words).items():
                self._postings.setdefault(word, []).append((position, count))
        average = (sum(lengths) / len(lengths)) if lengths else 1.0
        # Per document, the length part of BM25's denominator, computed once.
        self._norms = [_K1 * (1 - _B + _B * length / (average or 1.0)) for length in lengths]
        total = len(self.documents)
        self._idf = {
            word: math.log(1 + (total - len(postings) + 0.5) / (len(postings) + 0.5))
            for word, postings in self._postings.items()
        }

    def __len__(self) -> int:
        return len(self.documents)

    def search(self, query: str, limit: int = 10) -> list[tuple[ToolDocument, float]]:
        """The best `limit` documents for `query`, with their scores; see the module docstring."""
        scores: dict[int, float] = {}
        for word in dict.fromkeys(tool_words(query)):
            idf = self._idf.get(word)
            if idf is None:
                continue
            for position, count in self._postings[word]:
                scores[position] = scores.get(position, 0.0) + idf * count * (_K1 + 1) / (count + self._norms[position])
        if not scores or limit <= 0:
            return []
        documents = self.documents
        best = heapq.nsmallest(limit, scores, key=lambda p: (-scores[p], documents[p].entry_id, documents[p].name))
        return [(documents[position], scores[position]) for position in best]

"""Scores of many token spans of one text by bag-of-n-grams textcats, in one pass over the text.

    scorer = SpanScorer(textcat, column)          # a TextCatBOW textcat (n-grams up to 2), its INJECTION column
    probs = scorer(ids, stems, [(0, 40), (3, 9)])  # == textcat.model.predict on each span's features
    both = SpanScorer.heads([(textcat, column), (clause, column2)])   # several heads, one weight lookup
    first, second = both.score(ids, stems, [windows, clauses])      # each head over its own spans

spaCy's TextCatBOW sums one weight vector per n-gram occurrence (SparseLinear) and applies a softmax.
A sum over a span is a difference of prefix sums, so every token's unigram weights and every adjacent
pair's bigram weights are looked up once (one SparseLinear call over all keys of the text), and each
span then costs O(1): scoring 40 clauses and windows of a report costs about as much as scoring one.
Heads of one architecture (same hash table length, same indexing) read the same keys: their weight
tables are stacked into one SparseLinear of all their classes, so the keys are hashed once for all heads
and each column sums exactly as the head's own layer would (the same float operations in the same order).
The features are exactly those of `swarm.security.model.feature_ids` (the words, then their stems):
the words' and the stems' unigrams and bigrams, plus the one bigram where the two runs meet.
"""

from __future__ import annotations

from typing import Any

import numpy
from thinc.api import Model

__all__ = ["SpanScorer"]


def _sparse_layer(textcat: Any) -> tuple[Any, Any]:
    walk = list(textcat.model.walk())
    sparse = next(n for n in walk if n.name == "sparse_linear")
    ngrams = next(n for n in walk if n.name == "extract_ngrams")
    if int(ngrams.attrs["ngram_size"]) != 2:
        raise ValueError("SpanScorer reads unigrams and bigrams only (ngram_size 2)")
    return sparse, ngrams


class SpanScorer:
    """Per-span INJECTION probabilities of one or more textcat heads, equal (to float rounding) to their
    `predict`. Build with `SpanScorer(textcat, column)` (one head) or `SpanScorer.heads([...])`."""

    def __init__(self, textcat: Any, column: int, *more: tuple[Any, int]) -> None:
        layers = [_sparse_layer(textcat)[0]] + [_sparse_layer(t)[0] for t, _ in more]
        self._columns = [column] + [c for _, c in more]
        self._widths = [int(s.get_dim("nO")) for s in layers]
        if len(set(self._widths)) != 1:
            raise ValueError("heads with different numbers of classes cannot share a lookup")
        self._ops = layers[0].ops
        if len(layers) == 1:
            self._sparse = layers[0]
        else:
            length = {int(s.get_dim("length")) for s in layers}
            v1 = {bool(s.attrs["v1_indexing"]) for s in layers}
            if len(length) != 1 or v1 != {False}:  # stacking needs class-major tables of one length
                raise ValueError("heads of different hash table lengths or v1 indexing cannot share a lookup")
            self._sparse = _stacked(layers, length.pop())
        self._forward = self._sparse._func

    @classmethod
    def heads(cls, heads: list[tuple[Any, int]]) -> SpanScorer:
        """One scorer for several heads (textcat, INJECTION column) of one architecture."""
        return cls(heads[0][0], heads[0][1], *heads[1:])

    def _weights(self, keys: Any) -> Any:
        """Each key's weight vector (one SparseLinear call, one key per row, the bias taken off)."""
        ones = numpy.ones(len(keys), dtype="f")
        lengths = numpy.ones(len(keys), dtype="int32")
        keys = numpy.ascontiguousarray(keys, dtype="uint64")
        scores, _ = self._forward(self._sparse, (keys, ones, lengths), False)
        return numpy.asarray(scores, dtype="float64") - self._bias()

    def _bias(self) -> Any:
        # read at each call: one head's layer may be trained further (a stack is a copy taken at construction)
        return numpy.asarray(self._sparse.get_param("b"), dtype="float64")

    def __call__(self, ids: Any, stems: Any | None, spans: list[tuple[int, int]]) -> Any:
        """The first head's probabilities over `spans`."""
        return self.score(ids, stems, [spans])[0]

    def score(self, ids: Any, stems: Any | None, spans: list[list[tuple[int, int]]]) -> list[Any]:
        """Per head (in the order given at construction), its probabilities over its own spans."""
        spans = spans + [[] for _ in range(len(self._columns) - len(spans))]
        every = [s for head in spans for s in head]
        if not every:
            return [numpy.zeros(0) for _ in spans]
        n = len(ids)
        ids = numpy.ascontiguousarray(ids, dtype="uint64")
        runs = [ids] if stems is None else [ids, numpy.ascontiguousarray(stems, dtype="uint64")]
        keys = list(runs)
        keys += [self._ops.ngrams(2, run) for run in runs]  # bigram i: tokens (i, i + 1)
        bounds = numpy.asarray(every, dtype="int64").reshape(-1, 2)
        starts, ends = bounds[:, 0], bounds[:, 1]
        if stems is not None:  # the pair where the words' run meets the stems' run: (ids[e - 1], stems[s])
            pairs = numpy.empty(2 * len(every), dtype="uint64")
            pairs[0::2] = ids[ends - 1]
            pairs[1::2] = runs[1][starts]
            keys.append(self._ops.ngrams(2, pairs)[0::2])
        weights = self._weights(numpy.concatenate(keys))
        width = weights.shape[1]
        # prefix sums of the words' and the stems' weights, row i: tokens [0, i) (0 + a + b == a + b: the same
        # floats as adding the runs one by one onto zeros)
        unigram = numpy.zeros((n + 1, width))
        bigram = numpy.zeros((n, width))  # row i + 1: the bigram starting at token i
        if stems is None:
            unigram[1:] = weights[:n]
            bigram[1:] = weights[n : 2 * n - 1]
            at = 2 * n - 1
        else:
            numpy.add(weights[:n], weights[n : 2 * n], out=unigram[1:])
            numpy.add(weights[2 * n : 3 * n - 1], weights[3 * n - 1 : 4 * n - 2], out=bigram[1:])
            at = 4 * n - 2
        numpy.cumsum(unigram, axis=0, out=unigram)
        numpy.cumsum(bigram, axis=0, out=bigram)
        logits = unigram[ends] - unigram[starts] + bigram[ends - 1] - bigram[starts]
        if stems is not None:
            logits += weights[at:]
        logits += self._bias()
        # each head's softmax over its own classes, all heads at once (each row's own spans picked after)
        heads = logits.reshape(len(logits), len(self._widths), self._widths[0])
        heads -= heads.max(axis=2, keepdims=True)
        probs = numpy.exp(heads)
        totals = probs.sum(axis=2)
        out, row = [], 0
        for h, (head, column) in enumerate(zip(spans, self._columns, strict=True)):
            out.append(probs[row : row + len(head), h, column] / totals[row : row + len(head), h])
            row += len(head)
        return out


def _stacked(layers: list[Any], length: int) -> Any:
    """One SparseLinear whose classes are all the layers' classes, in order (tables are class-major:
    class c of the stack reads the same hashed slot as in its own layer). A copy of their weights as they
    are now: build the scorer again after training them further."""
    first = layers[0]
    stack: Model = Model(
        "sparse_linear",
        first._func,
        params={"W": None, "b": None},
        dims={"nO": sum(int(s.get_dim("nO")) for s in layers), "length": length},
        attrs={"v1_indexing": False},
        ops=first.ops,
    )
    stack.set_param("W", numpy.ascontiguousarray(numpy.concatenate([s.get_param("W") for s in layers]), dtype="f"))
    stack.set_param("b", numpy.ascontiguousarray(numpy.concatenate([s.get_param("b") for s in layers]), dtype="f"))
    return stack

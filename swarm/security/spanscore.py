"""Scores of many token spans of one text by a bag-of-n-grams textcat, in one pass over the text.

    scorer = SpanScorer(textcat, column)          # a TextCatBOW textcat (n-grams up to 2), its INJECTION column
    probs = scorer(ids, stems, [(0, 40), (3, 9)])  # == textcat.model.predict on each span's features

spaCy's TextCatBOW sums one weight vector per n-gram occurrence (SparseLinear) and applies a softmax.
A sum over a span is a difference of prefix sums, so every token's unigram weights and every adjacent
pair's bigram weights are looked up once (one SparseLinear call over all keys of the text), and each
span then costs O(1): scoring 40 clauses and windows of a report costs about as much as scoring one.
The features are exactly those of `swarm.security.model.feature_ids` (the words, then their stems):
the words' and the stems' unigrams and bigrams, plus the one bigram where the two runs meet.
"""

from __future__ import annotations

from typing import Any

import numpy

__all__ = ["SpanScorer"]


class SpanScorer:
    """Per-span INJECTION probabilities of one textcat head, equal (to float rounding) to its `predict`."""

    def __init__(self, textcat: Any, column: int) -> None:
        walk = list(textcat.model.walk())
        self._sparse = next(n for n in walk if n.name == "sparse_linear")
        ngrams = next(n for n in walk if n.name == "extract_ngrams")
        if int(ngrams.attrs["ngram_size"]) != 2:
            raise ValueError("SpanScorer reads unigrams and bigrams only (ngram_size 2)")
        self._ops = self._sparse.ops
        self._column = column

    def _weights(self, keys: Any) -> Any:
        """Each key's weight vector (one SparseLinear call, one key per row, the bias taken off)."""
        ones = numpy.ones(len(keys), dtype="f")
        lengths = numpy.ones(len(keys), dtype="int32")
        scores = self._sparse.predict((numpy.ascontiguousarray(keys, dtype="uint64"), ones, lengths))
        return numpy.asarray(scores, dtype="float64") - numpy.asarray(self._sparse.get_param("b"), dtype="float64")

    def __call__(self, ids: Any, stems: Any | None, spans: list[tuple[int, int]]) -> Any:
        if not spans:
            return numpy.zeros(0)
        n = len(ids)
        ids = numpy.ascontiguousarray(ids, dtype="uint64")
        runs = [ids] if stems is None else [ids, numpy.ascontiguousarray(stems, dtype="uint64")]
        keys = list(runs)
        keys += [self._ops.ngrams(2, run) for run in runs]  # bigram i: tokens (i, i + 1)
        if stems is not None:  # the pair where the words' run meets the stems' run: (ids[e - 1], stems[s])
            pairs = numpy.empty(2 * len(spans), dtype="uint64")
            pairs[0::2] = [ids[e - 1] for _, e in spans]
            pairs[1::2] = [runs[1][s] for s, _ in spans]
            keys.append(self._ops.ngrams(2, pairs)[0::2])
        weights = self._weights(numpy.concatenate(keys))
        width = weights.shape[1]
        at = 0
        unigram = numpy.zeros((n + 1, width))
        for _ in runs:
            unigram[1:] += weights[at : at + n]
            at += n
        bigram = numpy.zeros((n, width))  # row i + 1: the bigram starting at token i
        for _ in runs:
            bigram[1:] += weights[at : at + n - 1]
            at += n - 1
        unigram, bigram = unigram.cumsum(axis=0), bigram.cumsum(axis=0)
        starts = numpy.asarray([s for s, _ in spans])
        ends = numpy.asarray([e for _, e in spans])
        logits = unigram[ends] - unigram[starts] + bigram[ends - 1] - bigram[starts]
        if stems is not None:
            logits += weights[at:]
        logits += numpy.asarray(self._sparse.get_param("b"), dtype="float64")
        logits -= logits.max(axis=1, keepdims=True)
        probs = numpy.exp(logits)
        return probs[:, self._column] / probs.sum(axis=1)

"""A tiny suite the cluster tests' research agent runs as a Ray tool task (unittest, no conftest)."""

import unittest


class Sample(unittest.TestCase):
    def test_adds(self) -> None:
        self.assertEqual(1 + 1, 2)

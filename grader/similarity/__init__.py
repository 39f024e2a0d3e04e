"""Similarity of submissions across a class, past terms and public solutions (issue 14).

Notebook-aware: only code cells, with names, strings and numbers abstracted; what the
course handed out (templates) and what most of the class writes do not count; winnowed
fingerprints in an inverted index find the pairs; exact shares are measured in both
directions. The result is evidence for an instructor, never a grade change.

Entry points (grader.similarity.api):
  compare_class(entries, templates=..., against=..., threshold=...)  for `grader batch`
  compare_source(source, ...)                                        for `grader similarity`
Modules: api, settings, sources (reading; with report, the only ones importing the rest
of the grader), lexer, normalize, fingerprints, index, coverage, compare, result, report,
cli. This file imports nothing: the command line builds its parser from `settings` and
`cli` without loading numpy, which every `grader` command would otherwise pay for.
"""

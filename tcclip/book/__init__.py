"""The book's helpers, on top of the library and the CPU world.

* :mod:`tcclip.book.plotting` - figure helpers and the book's style.
* :mod:`tcclip.book.attention_designs` - chapter 3's attention designs.
* :mod:`tcclip.book.explain` - figures of what TC-CLIP's tokens look at (``predict --explain``).
* :mod:`tcclip.book.experiments` - the experiments in miniature (chapter 10).
* :mod:`tcclip.book.benchmarking` - wall time and FLOPs, shared by ``benchmarks/`` and chapter 12.

The library (``tcclip.models``, ``data``, ``train``, ...) never imports this package.
"""

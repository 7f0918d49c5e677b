"""The CPU world, on top of the library: where the book and the tests run without a GPU or data.

* :mod:`tcclip.world.profile` - the run profiles (``tiny``: CPU, TC-Tiny, the synthetic world;
  ``full``: the paper's setting), read from ``tcclip/configs/profile/*.yaml``.
* :mod:`tcclip.world.synthetic` - the synthetic video world and its captioned stills (the public
  face and command line of ``classes``, ``render``, ``encode``, ``stills``, ``generate`` and
  ``version``, the generator's parts).
* :mod:`tcclip.world.pretrain` - pretraining the tiny CLIP on those stills.
* :mod:`tcclip.world.assets` - the generated assets, made once and cached, and the resolution
  of a run config's ``"auto"`` values.

The library (``tcclip.models``, ``data``, ``train``, ...) never imports this package.
"""

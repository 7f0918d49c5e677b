"""The command line (``python -m tcclip <command>``), on top of the library, the CPU world and
the book helpers. It chooses the profile and resolves a config's ``"auto"`` values
(:func:`tcclip.world.assets.prepare_run_config`) before any training or evaluation starts.
"""

"""Built-in drivers. Each module's ``create(name, options, manager)`` builds a disk.

The table of names lives in ``flystore.registry.BUILTIN_DRIVERS``; modules of
drivers with optional dependencies import them only when a disk is built.
"""

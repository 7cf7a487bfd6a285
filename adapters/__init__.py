"""Built-in baseline adapters, one module per family or engine.

Every module here is imported by ``bench.registry`` to register its adapters, so module top levels
must import nothing heavy: model libraries are imported inside the adapters' methods.
"""

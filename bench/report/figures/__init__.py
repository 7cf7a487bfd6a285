"""The paper's figures, one module each, drawn from stored results only (``bench.report.plots`` runs them).

``style`` holds what every figure shares (the result record, matplotlib set-up, colours), ``cards``
how adapters are presented (featured or not), read from their cards, never from their names.
"""

"""What a run leaves behind and what it may reuse: the results store (``store``) and its typed
records (``records``), the output cache (``cache``) keyed by what decides an adapter's outputs
(``cache_identity``), and the provenance stamped on every record (``provenance``)."""

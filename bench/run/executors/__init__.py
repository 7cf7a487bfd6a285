"""Executors: where a run's units of work run (``local``: here, one adapter after another; ``ray``:
as Ray tasks). ``bench.run.executors.base.pick`` chooses one by name; each runs the same unit code
(``bench.run.adapter_run``), so both write the same records and resume each other's runs."""

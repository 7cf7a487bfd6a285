"""Everything drawn from stored runs, never from a live model: the paper's tables (``tables``), its
figures (``plots``, one module each under ``figures``), the HTML page of ``bench report``
(``gather`` -> ``content`` -> ``page``; commands in ``cli``), and ``bench perf`` (``perf``,
``perf_workers``)."""

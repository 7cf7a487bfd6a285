"""Running a benchmark: plan the jobs (``plan``), open the run (``context``), encode each adapter's
images and texts (``encode``, in ``workers``), turn outputs into records (``evaluate``, ``recorder``),
on this machine or a Ray cluster (``executors``); ``runner`` drives it and ``summary`` reports."""

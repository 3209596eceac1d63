"""The project's tools: notebook execution (``kernel_client``), syncing (``sync_notebooks``), the seed
sweep, the questions page, student copies and lesson statistics.

Run them as scripts (``python tools/seed_sweep.py``) or import them as a package (``from tools import
seed_sweep``): each script puts the repository root on ``sys.path`` and imports its siblings as
``tools.<name>``.
"""

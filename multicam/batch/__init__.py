"""Many games at once: ``multicam batch`` runs each game as a Ray task, on a laptop or a cluster.

* :mod:`.spec`: sources (game files, folders, batch files) -> one :class:`GameJob` per game;
* :mod:`.plan`: skip, resume or start a game's run, from the digests of the runs on disk;
* :mod:`.record`: the typed batch record ``RUNS_DIR/_batches/<name>N/batch.json``;
* :mod:`.tasks`: what runs on a worker (imports Ray);
* :mod:`.runner`: the driver (imports Ray);
* :mod:`.season`: the season report over a batch's games.

Only :mod:`.tasks` and :mod:`.runner` import Ray, so reading records needs no Ray.
"""

from multicam.batch.record import BatchRecord, BatchSettings, GameRecord, read_record, status_table
from multicam.batch.spec import BatchError, BatchFile, GameJob, GameOptions, resolve_sources

__all__ = [
    "BatchError",
    "BatchFile",
    "BatchRecord",
    "BatchSettings",
    "GameJob",
    "GameOptions",
    "GameRecord",
    "read_record",
    "resolve_sources",
    "status_table",
]

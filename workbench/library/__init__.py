"""Preset libraries fitted from folders of recordings, on Dask.

`build` fits every recording in a folder, each clip (and each joint tool/object group)
as a task on ``dask.distributed`` (a local cluster, or a running one at
``scheduler="tcp://HOST:PORT"``), and writes one preset per file under
``<out>/<material>/`` (the material from the manifest, else guessed from the name of the
struck object, `workbench.names.guess_material`; clips of the same name get ``-2``,
``-3``...), plus, for labelled clips (``*_<tool>_on_<object>``, DiffImpact's
``robot/<tool>-<object>/`` folders), joint fits with tool/object separation (DiffImpact
Sec. 4.3): one preset per clip with both modal banks and one tool-free object preset per
object. A thumbnail spectrogram per preset and a generated ``README.md`` table list the
library; ``library.jsonl`` lists every clip with its status (fitted, cached, failed with
the reason, skipped). Finished fits are kept in ``<out>/.fits``, keyed by the clip's
bytes and the fit settings: a build started again (after a kill, or with more
recordings) fits only what is not there yet.

Modules: `layouts` (what a folder holds: layouts, clips, joint groups, ``MANIFEST.md``),
`store` (the results store and the keys), `tasks` (what a worker runs), `assemble` (the
library from the records), `run` (`build`: the Dask client, progress, manifest).

Example:
    >>> from workbench.library import build
    >>> build.__module__
    'workbench.library.run'
"""

from __future__ import annotations

from .assemble import MANIFEST, LibraryEntry, read_manifest_lines, write_index
from .layouts import FORCE_SENSOR_PREFIX, LAYOUTS, ClipSource, detect_layout, read_manifest, scan
from .run import LibraryResult, build, build_library, default_workers

__all__ = ["FORCE_SENSOR_PREFIX", "LAYOUTS", "MANIFEST", "ClipSource", "LibraryEntry", "LibraryResult", "build",
           "build_library", "default_workers", "detect_layout", "read_manifest", "read_manifest_lines", "scan",
           "write_index"]

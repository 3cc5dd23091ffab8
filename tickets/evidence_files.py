"""Evidence files on storage that no Evidence row points at: what a web worker killed mid-upload leaves.

Files are written inside the ticket's transaction; a Python exception deletes them again, but a killed
process (SIGKILL, out of memory, a lost node) cannot, and its rows roll back. Such files are personal
data that retention and erasure would never find, so `sweep_orphans` (Celery beat) deletes every file
under `evidence/` that no row names once it is older than EVIDENCE_ORPHAN_MINUTES, which no upload
in flight can be.
"""

from datetime import timedelta

from django.conf import settings
from django.core.files.storage import default_storage
from django.utils import timezone

from tickets.models import Evidence

ROOT = "evidence"
BATCH = 500


def sweep_orphans(*, now=None):
    """Delete unreferenced evidence files older than EVIDENCE_ORPHAN_MINUTES; returns how many."""
    cutoff = (now or timezone.now()) - timedelta(minutes=settings.EVIDENCE_ORPHAN_MINUTES)
    try:
        folders, _files = default_storage.listdir(ROOT)
    except FileNotFoundError:
        return 0
    deleted = 0
    for start in range(0, len(folders), BATCH):
        batch = folders[start : start + BATCH]
        referenced = _referenced(batch)
        for folder in batch:
            deleted += _sweep_folder(f"{ROOT}/{folder}", referenced, cutoff)
    return deleted


def _referenced(folders):
    """The stored names of every evidence file and thumbnail in these folders (one query)."""
    prefixes = [f"{ROOT}/{folder}/" for folder in folders]
    rows = Evidence.objects.filter(ticket__reference__in=folders).values_list("file", "thumbnail")
    names = {name for row in rows for name in row if name}
    return {name for name in names if name.startswith(tuple(prefixes))}


def _sweep_folder(folder, referenced, cutoff):
    _dirs, files = default_storage.listdir(folder)
    deleted = 0
    for name in files:
        path = f"{folder}/{name}"
        if path not in referenced and default_storage.get_modified_time(path) < cutoff:
            default_storage.delete(path)
            deleted += 1
    if deleted == len(files):
        default_storage.delete(folder)  # an empty folder on local disk; object storage has none
    return deleted

"""The scoreboard: figures per channel, detector, importer and HS chapter, kept up to date
as decisions and inspection results are recorded (``update``) and read cheaply (``figures``).

Importing it is enough for it to listen to what ingest and inspection results store
(``tamis.store.changes``): the CLI, the API and the assessment import it."""

from tamis.store import changes


def _changed(conn, declaration_ids) -> None:
    from tamis.scoreboard.update import changed  # loaded when something changes, not before

    changed(conn, declaration_ids)


changes.listen(_changed)

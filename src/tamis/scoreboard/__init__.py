"""The scoreboard: figures per channel, detector, importer and HS chapter, kept up to date
as decisions and inspection results are recorded (``update``) and read cheaply (``figures``).

Importing it is enough for it to listen to what ingest and inspection results store
(``tamis.store.changes``): the CLI, the API and the assessment import it."""

from tamis.scoreboard import update
from tamis.store import changes

changes.listen(update.changed)

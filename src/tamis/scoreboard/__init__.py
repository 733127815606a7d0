"""The scoreboard: figures per channel, detector, importer and HS chapter, kept up to date
as decisions and inspection results are recorded (``update``) and read cheaply (``figures``)."""

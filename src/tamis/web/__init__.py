"""The web dashboard: server-rendered pages (Jinja2, a little HTMX) over the same core as
the CLI and the API, mounted in the API's app by ``routes.mount``."""

"""Lists of declarations and cases as people ask for them: filters, sorting, a page with
its total, and every selected row streamed for an export. SQL that both stores run on
their indexes; the dashboard and the API call the same functions."""

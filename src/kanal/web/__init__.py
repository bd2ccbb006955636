"""Web pages (Jinja2): for now the dev outbox."""

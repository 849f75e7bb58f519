"""Ways in: the CLI now; the API, web pages and worker later. They never import each other."""

"""Reports (HTML/JSON, methods text) and bioimage.io export."""

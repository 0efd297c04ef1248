"""Models, jobs and provenance in one SQLite file with hashed, atomically written artefacts."""

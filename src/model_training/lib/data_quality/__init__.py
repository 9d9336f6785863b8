"""Stage step 1: data-quality checks, and building an epic's inputs."""

"""Built-in probe families: items in evals/probe_data, graders and metrics here."""

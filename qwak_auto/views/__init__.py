"""Read-only views of the recorded state: status, history, plan, metrics."""

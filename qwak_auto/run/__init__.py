"""One run: the runner, the step contracts, the registry, what each step records."""

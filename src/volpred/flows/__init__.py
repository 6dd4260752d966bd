"""The Prefect flow: seven tasks wired in the specification's order (`pipeline`), the tasks and
their checkpoints (`tasks`), the analyst's pause (`approval`), the run's facts and alerts as
Prefect events (`alerts`), the report's review form, a flow of its own (`review`), and what a
run shows in the UI (`summary`). The application layer: it may import every other
sub-package; nothing in the library imports it except the CLI's `run` command.
"""

"""The Prefect flow: seven tasks wired in the plan's order (`pipeline`). The application layer:
it may import every other sub-package; nothing in the library imports it except the CLI's
`run` command.
"""

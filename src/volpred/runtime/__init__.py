"""What every stage runs on: atomic checkpoint files and the run lock (`storage`), cache keys
(`cachekeys`), background processes (`processes`) and the local Prefect server, work pool and
worker (`orchestration`). May import `volpred.config`; `orchestration` also names the services'
marker files, imported lazily.
"""

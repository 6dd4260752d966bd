"""What users meet over the network: the REST API (`api`, Flask under gunicorn; the only reader
of model files) and the Streamlit dashboard (`dashboard`, a client of the API). May import
`volpred.model`, `volpred.report` (charts), `volpred.runtime` and `volpred.config`.
"""

"""The clinician workspace (`psyscore serve`): a database of clients and visits, and its web app.

`store` is the database layer (SQLite by default, PostgreSQL for a program); it needs the `web`
extra (`pip install "psyscore[web]"`).
"""

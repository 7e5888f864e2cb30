"""The Responses turn loop: engine, ledger, tools and store, for one response at a time."""

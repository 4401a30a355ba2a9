"""Consented public data (无感核查, issue 14): authorisations, connectors, verified facts.

``sources`` defines what can be fetched; ``authorisations`` is who allowed it (the consent
rule); ``connectors`` read exchange files and the exchange API; ``imports`` runs them as
background jobs; ``facts`` says which values are verified and lays them over the profile.
"""

"""Contract-neutral core: use cases, typed errors and the ports adapters implement.

Nothing here imports Falcon, Keycloak or Redis clients.
"""

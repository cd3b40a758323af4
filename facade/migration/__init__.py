"""``facade import``: one app's existing users brought into the realm, keeping their ids and
passwords (rows, hashes, the plan, the Keycloak bulk calls and the run)."""

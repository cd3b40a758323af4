"""keycloak-facade: five client auth APIs over one Keycloak realm."""

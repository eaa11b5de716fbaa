"""The router's roles (architecture.md, "Roles"): names only, so the command line can offer them
without loading the principals file's machinery."""
SITE_ROLE = "site"           # a plant router linked to headquarters (router/sites.py)
ROLES = ("runtime", "bridge", "ide", "dashboard", "registry", "opcua", SITE_ROLE)
ANONYMOUS_ROLES = ("ide", "dashboard")  # what a router may grant a client with no identity

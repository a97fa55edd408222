"""The fixed permission catalogue and default roles, seeded into every tenant.

Endpoints name these permissions; tenants may add their own permission names for their own tooling, but
only catalogue names gate platform endpoints.
"""

PERMISSIONS: dict[str, str] = {
    "user:read": "List and view users of the tenant",
    "user:admin": "Create users and manage their roles",
    "rbac:read": "List roles and permissions",
    "rbac:admin": "Create roles and permissions; attach and assign them",
    "template:read": "List and view templates",
    "template:write": "Create, update and delete templates",
    "dataset:read": "List, view and download datasets and files",
    "dataset:write": "Upload, add, delete datasets and files; run statistics",
    "datalake:read": "Inspect the tenant's Iceberg tables",
    "train:read": "View training runs, metrics and feature importance",
    "train:run": "Create, update, delete and explain training runs",
    "inference:read": "View predictions and batch results",
    "inference:run": "Run real-time, batch and forecast predictions; deploy models",
    "job:admin": "Terminate the tenant's Ray jobs",
}

_READ = ["template:read", "dataset:read", "datalake:read", "train:read", "inference:read"]

# A tenant always keeps an active user with this role, and the role every catalogue permission, so
# someone in the tenant can still manage its users and roles (rbac/service.py).
ADMIN_ROLE = "admin"

DEFAULT_ROLES: dict[str, list[str]] = {
    ADMIN_ROLE: list(PERMISSIONS),
    "data_scientist": [
        *_READ,
        "user:read",
        "rbac:read",
        "template:write",
        "dataset:write",
        "train:run",
        "inference:run",
        "job:admin",
    ],
    "viewer": _READ,
}

DEFAULT_NEW_USER_ROLE = "viewer"

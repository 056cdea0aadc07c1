"""Tenants: a disk per tenant (a prefix or its own bucket), with quotas and usage (docs/tenants.md)."""

from .names import validate_tenant_name
from .quota import QuotaBackend, TenantUsage
from .tenancy import TenantDisk, Tenants, tenants_of

__all__ = ["QuotaBackend", "TenantDisk", "TenantUsage", "Tenants", "tenants_of", "validate_tenant_name"]

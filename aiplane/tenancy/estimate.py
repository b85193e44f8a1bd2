"""What a tenant costs per month, from its plan alone (no graph): what `aiplane blueprints list` shows and
what AIP_FIN_2 holds against the tenant's monthly budget. `aiplane.cost` prices the same resources from the
synthesized graph; a test holds the two equal."""
from __future__ import annotations

from aiplane.planning.node_profiles import NODE_PROFILES
from aiplane.planning.prices import instance_price, load_prices
from aiplane.spec.stack import StackSpec
from aiplane.spec.tenant import Tenant

# Budget periods of gateway keys, as parts of a month.
KEY_PERIODS_PER_MONTH = {"1d": 30.0, "7d": 30.0 / 7, "30d": 1.0}


def tenant_infrastructure_estimate(spec: StackSpec | None, tenant: Tenant) -> float:
    """What a tenant's own resources cost per month, from its plan, priced as `estimate` prices them from
    the graph (a test holds the two equal): its dedicated pool at its desired size with root volumes, its
    own key, and its own vector database's minimum."""
    prices = load_prices()
    hours = prices.hours_per_month
    plan = tenant.plan
    usd = 0.0
    pool = tenant.pool_spec()
    if pool is not None and pool.nodes.desired:
        price = instance_price(pool.instance_types[0]) or 0.0
        disk = pool.disk_size_gib or NODE_PROFILES[pool.profile].disk_gib
        usd += pool.nodes.desired * (price * hours + disk * prices.ebs_gp3_per_gib_month)
    if plan.encryption == "own-key":
        usd += prices.kms_key_per_month
    database = plan.vector_database
    if database is not None and database.engine == "opensearch-serverless":
        ocus = 2 if database.standby_replicas else 1
        usd += prices.kms_key_per_month + 2 * ocus * prices.opensearch_serverless_per_ocu_hour * hours
    elif database is not None and database.engine == "pgvector":
        usd += 3 * prices.kms_key_per_month + database.instances * database.min_capacity_acu * prices.aurora_serverless_v2_per_acu_hour * hours
        log_gib = spec.platform.cost.log_gib_per_group_per_month if spec else 1.0
        usd += log_gib * (prices.log_ingestion_per_gib + prices.log_storage_per_gib_month)
    return round(usd, 2)


def tenant_monthly_estimate(spec: StackSpec | None, tenant: Tenant) -> float:
    """The tenant's own resources plus what its gateway key may spend in a month: what AIP_FIN_2 holds
    against the tenant's monthly budget."""
    gateway = tenant.plan.gateway
    key = gateway.budget_usd * KEY_PERIODS_PER_MONTH[gateway.budget_duration] if gateway else 0.0
    return round(tenant_infrastructure_estimate(spec, tenant) + key, 2)

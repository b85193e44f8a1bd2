"""What every model of a stack file shares: the strict base model and the field types of AWS and Kubernetes names."""
from __future__ import annotations

from ipaddress import AddressValueError, IPv4Network, NetmaskValueError
from typing import Annotated, Any, get_args

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel

from aiplane.errors import FieldValueError

# CloudWatch Logs accepts only these retention periods (PutRetentionPolicy API reference).
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)


class Model(BaseModel):
    """Strict base: camelCase keys in files, unknown keys rejected, immutable once loaded; no infinite or NaN
    number (`.inf`, `1e400`), and no boolean where a number is meant (pydantic would read `true` as 1)."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, alias_generator=to_camel, validate_by_alias=True, validate_by_name=False, allow_inf_nan=False
    )

    @model_validator(mode="before")
    @classmethod
    def _no_boolean_for_a_number(cls, data: Any) -> Any:
        # A model validator, not a field validator on "*": pydantic allows no "before" validator on a
        # discriminator field (`engine`). FieldValueError puts the field back into the reported path.
        if isinstance(data, dict):
            for name, field in cls.model_fields.items():
                key = field.alias or name
                value = data.get(key)
                options = set(get_args(field.annotation)) or {field.annotation}
                if isinstance(value, bool) and options & set(NUMBERS) and bool not in options:
                    raise FieldValueError(key, str(value).lower(), "is a boolean; a number is expected")
        return data


NUMBERS = (int, float)

# Upper bounds on counts and rates: far above any real stack, low enough that a typo (an extra three zeros) is
# refused at the edge instead of sizing a fleet. EKS's default quota is 450 nodes per managed node group
# (Amazon EKS service quotas); 1,000 leaves room for a raised quota.
MAX_NODES_PER_GROUP = 1_000
MAX_REPLICAS = 1_000
MAX_REQUESTS_IN_FLIGHT = 1_000_000
MAX_REQUESTS_PER_SECOND = 100_000
MAX_REQUESTS_PER_MINUTE = 10_000_000
MAX_TOKENS_PER_MINUTE = 10_000_000_000
MAX_USD = 100_000_000
MAX_GIB = 1_000_000_000  # an exabyte
MAX_DAYS = 36_500  # a hundred years


def _ipv4_network(value: str) -> str:
    try:
        network = IPv4Network(value, strict=True)
    except (AddressValueError, NetmaskValueError, ValueError):
        raise ValueError("is not a valid IPv4 network") from None
    return str(network)


def _log_retention(value: int) -> int:
    if value not in LOG_RETENTION_DAYS:
        raise ValueError(f"is not a retention CloudWatch Logs accepts ({', '.join(map(str, LOG_RETENTION_DAYS))})")
    return value


Ipv4Cidr = Annotated[str, AfterValidator(_ipv4_network)]
RetentionDays = Annotated[int, AfterValidator(_log_retention)]
InstanceType = Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]*\.[a-z0-9-]+$")]
IamPrincipalArn = Annotated[str, Field(pattern=r"^arn:aws[a-z-]*:iam::\d{12}:(role|user)/[\w+=,.@/-]+$")]
AvailabilityZone = Annotated[str, Field(pattern=r"^[a-z]{2}(-gov)?-[a-z]+-\d[a-z]$")]


def _user_tag_key(value: str) -> str:
    if value.startswith(("aws:", "aiplane:")):
        raise ValueError("uses a reserved prefix (aws: belongs to AWS, aiplane: to the cost-allocation tags)")
    return value


TagKey = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[\w .:/=+@-]+$"), AfterValidator(_user_tag_key)]


PoolName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]{0,30}$")]
# Model names become Kubernetes Service names (DNS labels) and LiteLLM model groups.
ModelName = Annotated[str, Field(pattern=r"^[a-z]([-a-z0-9]{0,46}[a-z0-9])?$")]
KubernetesName = Annotated[str, Field(pattern=r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")]


def valid_glob(pattern: str) -> str:
    """fnmatch never refuses a pattern; a `[` without its `]` would silently match the bracket literally."""
    depth = 0
    for character in pattern:
        if character == "[":
            if depth:
                raise ValueError("is not a valid glob: '[' inside a [...] set")
            depth = 1
        elif character == "]" and depth:
            depth = 0
    if depth:
        raise ValueError("is not a valid glob: '[' without its ']'")
    return pattern


def collapsed(text: str) -> str:
    """Whitespace runs as one space: a reason or an owner of only spaces is then empty, and refused."""
    return " ".join(text.split())

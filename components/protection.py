"""Which resources hold state, and the stack transformation that protects them: created with Pulumi's
`protect`, `pulumi up` refuses to replace or delete them until someone unprotects them on purpose; with
`retainOnDelete`, deleting one from the program leaves it in AWS, where losing it would lose data."""
from __future__ import annotations

import pulumi

# The types whose replacement or deletion loses data or running workloads (AIP_CHG_1 reviews their changes).
STATEFUL_TYPES = (
    "aws:eks/cluster:Cluster",
    "aws:eks/nodeGroup:NodeGroup",
    "aws:s3/bucket:Bucket",
    "aws:s3/directoryBucket:DirectoryBucket",
    "aws:kms/key:Key",
    "aws:rds/cluster:Cluster",
    "aws:rds/clusterInstance:ClusterInstance",
    "aws:opensearch/serverlessCollection:ServerlessCollection",
    "aws:fsx/lustreFileSystem:LustreFileSystem",
)
# Of those, the ones that are the data: kept in AWS if the program stops declaring them.
RETAINED_TYPES = (
    "aws:s3/bucket:Bucket",
    "aws:s3/directoryBucket:DirectoryBucket",
    "aws:kms/key:Key",
    "aws:rds/cluster:Cluster",
    "aws:opensearch/serverlessCollection:ServerlessCollection",
    "aws:fsx/lustreFileSystem:LustreFileSystem",
)


def protection_transformation():
    """A stack transformation: every stateful resource protected, the data-holding ones retained on delete."""

    def transform(args: pulumi.ResourceTransformationArgs) -> pulumi.ResourceTransformationResult | None:
        if args.type_ not in STATEFUL_TYPES:
            return None
        protected = pulumi.ResourceOptions(protect=True, retain_on_delete=True if args.type_ in RETAINED_TYPES else None)
        return pulumi.ResourceTransformationResult(args.props, pulumi.ResourceOptions.merge(args.opts, protected))

    return transform

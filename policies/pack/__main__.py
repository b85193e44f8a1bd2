"""aiplane's policy gate as a CrossGuard policy pack, run by the Pulumi engine on every preview and update
given `--policy-pack policies/pack` (or enforced by Pulumi Cloud). The policies are the gate's own code
(`aiplane.policy.crossguard`); this file only serves them, judging the stacks of the project two folders up
(or of $AIPLANE_PROJECT_DIR)."""
from pathlib import Path

from pulumi_policy import PolicyPack

from aiplane.policy.crossguard import PACK_NAME, pack_project_dir, stack_policies

POLICIES = stack_policies(pack_project_dir(Path(__file__).resolve().parent))

if __name__ == "__main__":  # `python -m pulumi.policy ENGINE DIR` runs this folder as __main__
    PolicyPack(name=PACK_NAME, policies=POLICIES)

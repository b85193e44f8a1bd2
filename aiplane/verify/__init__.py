"""Verifying a deployed platform from what its nodes and jobs print: parsers of the recorded outputs of the
tools the conformance Jobs run (`nvidia-smi -q -x`, nccl-tests), and the verdicts aiplane draws from them."""

"""Self-hosted token prices: what the gateway charges for a token served on our own GPUs."""
from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from aiplane.planning.prices import self_hosted_usd_per_token


@given(
    price=st.floats(min_value=0.1, max_value=200),
    gpus=st.sampled_from([1, 4, 8]),
    tp=st.sampled_from([1, 2, 4, 8]),
    batch=st.integers(min_value=1, max_value=512),
    latency=st.floats(min_value=0.05, max_value=120),
    prompt=st.integers(min_value=1, max_value=32000),
    completion=st.integers(min_value=1, max_value=8000),
)
def test_a_replica_busy_at_the_peak_for_an_hour_is_charged_what_its_gpus_cost(price, gpus, tp, batch, latency, prompt, completion):
    tp = min(tp, gpus)
    per_token = self_hosted_usd_per_token(price, gpus, tp, batch, latency, prompt, completion)
    tokens_in_an_hour = batch / latency * 3600 * (prompt + completion)
    assert math.isclose(per_token * tokens_in_an_hour, price / gpus * tp, rel_tol=1e-9)


def test_a_bigger_share_of_the_node_costs_more_per_token():
    narrow = self_hosted_usd_per_token(98.32, 8, 1, 64, 10.0, 1000, 200)
    wide = self_hosted_usd_per_token(98.32, 8, 4, 64, 10.0, 1000, 200)
    assert math.isclose(wide, 4 * narrow)

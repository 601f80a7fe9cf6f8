"""The fault matrix's second half (see tests/test_providers.py): every fault injected in each
provider's fake, the adapter inside the real Prefect `generate` task, submissions counted."""

from __future__ import annotations

import pytest

from .test_providers import FAULTS, HALF, PROVIDERS, check_fault, cloud, video_bytes  # noqa: F401 (fixtures)


@pytest.mark.parametrize("fault", list(FAULTS))
@pytest.mark.parametrize("provider", PROVIDERS[HALF:])
def test_fault_matrix(prefect_harness, cloud, tmp_path, provider, fault):  # noqa: F811
    check_fault(cloud, tmp_path, provider, fault)

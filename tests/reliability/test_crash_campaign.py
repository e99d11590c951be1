"""SIGKILL at random moments under a stream of every kind of change (issue 10).
``campaign.py`` says what is checked after each restart; ``benchmarks/chaos.py``
runs the same campaign for hundreds of kills."""

from __future__ import annotations

import pytest
from campaign import Campaign

KILLS = 12


# fsync = "optimized" commits flag changes and expunges without a sync: a
# SIGKILL must still lose none of them (only a power cut may).
@pytest.mark.parametrize("fsync", ["always", "optimized"])
def test_sigkill_campaign_keeps_every_acknowledged_change(tmp_path, fsync):
    campaign = Campaign(tmp_path, seed=1024, server_config=f'fsync = "{fsync}"')
    campaign.setup()
    try:
        for _ in range(KILLS):
            campaign.round()
    finally:
        campaign.stop()
    report = campaign.report
    print(f"\ncrash campaign: {report}")
    assert report.kills == KILLS
    # The kills landed under load, not on an idle server.
    assert report.acknowledged >= KILLS and report.in_flight >= KILLS // 2

"""azure_ha.webfarm.scale_set run by ansible-playbook against the control-plane lab: one write
creates a Rolling set with its probe, NAT pool and repairs; a re-run writes nothing; a new
customData is a new model (seen although Azure never returns it), whose rolling upgrade
scale_set_rolling_upgrade reads and follows; autoscale's capacity stays;
bad parameters are refused before any write, naming the option."""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent


def test_create_idempotent_new_model_refusals_delete(tier):
    lab = tier.lab
    vmss_id = tier.id_of("Microsoft.Compute/virtualMachineScaleSets", f"{tier.app}-vmss").lower()
    mark = lab.mark()
    key = (tier.workdir / "id_ed25519.pub").read_text().strip()
    r = tier.run(HERE / "scale_set.yml", tier_ssh_key=key)
    writes = [(w["method"], w["path"].split("?")[0].lower()) for w in lab.writes_since(mark)
              if "virtualmachinescalesets" in w["path"].lower()]

    assert r["create_check"]["changed"] is True and r["create_check"]["scale_set"] is None
    created = r["create"]["scale_set"]
    assert r["create"]["changed"] is True and r["create"]["model_changed"] is True and r["create"]["created"] is True
    assert created["sku"]["capacity"] == 2 and created["upgrade_policy"]["mode"] == "Rolling"
    assert created["upgrade_policy"]["rollingUpgradePolicy"]["maxBatchInstancePercent"] == 50
    assert created["health_probe_id"].lower().endswith("/probes/web")
    assert created["automatic_repairs_policy"] == {"enabled": True, "gracePeriod": "PT10M", "repairAction": "Replace"}
    assert created["scale_in_policy"]["rules"] == ["OldestVM"] and created["tags"] == {"app": tier.app}

    assert r["again"]["changed"] is False and r["again"]["differences"] == []
    assert r["new_model_check"]["changed"] is True and r["new_model_check"]["model_changed"] is True
    assert r["new_model"]["differences"] == ["virtualMachineProfile (customData or protected settings)"]
    assert r["new_model"]["created"] is False and r["again"]["created"] is False
    status = r["upgrade_status"]["rolling_upgrade"]
    assert r["upgrade_status"]["changed"] is False and status["code"] == "Faulted"
    assert status["policy"]["maxBatchInstancePercent"] == 50 and "no data plane" in status["error"]["message"]
    assert r["upgrade_wait"]["failed"] is True
    assert r["upgrade_wait"]["msg"].startswith(f"the rolling upgrade of {tier.app}-vmss stopped: RollingUpgradeFailed: "
                                               "azlab: this lab runs no data plane")
    assert r["upgrade_cancel"]["changed"] is False, "nothing runs: nothing to cancel"
    assert r["os_upgrade_check"]["changed"] is True
    assert r["kept"]["changed"] is False and r["kept"]["scale_set"]["sku"]["capacity"] == 2

    assert r["refused"]["failed"] is True
    assert r["refused"]["msg"] == (
        "upgrade_policy.rolling.max_batch_instance_percent: 2 is outside 5-100; upgrade_policy.mode Rolling: needs "
        "a health source: health_probe_id (the load balancer probe) or an Application Health extension in "
        "extensions; automatic_repairs.grace_period: 'PT1M' must be PT10M to PT90M")
    assert r["deleted"]["changed"] is True and r["deleted_again"]["changed"] is False

    # create, the new model, delete: check mode, reads, the re-runs and the refusal wrote nothing
    assert writes == [("PUT", vmss_id), ("PUT", vmss_id), ("DELETE", vmss_id)]
    assert "#cloud-config" not in str(r) and "touch" not in str(r), "customData never comes back"

"""Microsoft.Network: virtual networks and subnets, network security groups, application
security groups, route tables, public IP addresses, load balancers (with the rule health API) and network
interfaces."""

from __future__ import annotations

from azlab.models.base import Registry
from azlab.models.network import asg, lb, lb_health, nic, nsg, pip, route_table, vnet


def register(registry: Registry) -> None:
    """Add this provider's types to the registry."""
    for rtype in (
        vnet.VirtualNetworks(), vnet.Subnets(),
        nsg.NetworkSecurityGroups(), nsg.SecurityRules(), nsg.DefaultSecurityRules(), asg.ApplicationSecurityGroups(),
        route_table.RouteTables(), route_table.Routes(),
        pip.PublicIPAddresses(),
        lb.LoadBalancers(), lb.FrontendIPConfigurations(), lb.BackendAddressPools(), lb.Probes(),
        lb_health.LoadBalancingRules(), lb.InboundNatRules(), lb.InboundNatPools(), lb.OutboundRules(),
        nic.NetworkInterfaces(), nic.IpConfigurations(),
    ):
        registry.register(rtype)

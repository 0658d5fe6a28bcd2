"""Load balancers of the lab's data plane: every Azure Standard Load Balancer is a real
HAProxy (master-worker, hitless reloads) on its public IP's loopback address.

``render`` is the pure translation (ARM JSON + resolved view -> haproxy.cfg);
``LoadBalancerManager`` runs the processes and reports health transitions.
See docs/lab-loadbalancer.md.
"""

from azlab.dataplane.lb.manager import ApplyResult, LoadBalancerManager
from azlab.dataplane.lb.paths import RuntimePaths, lb_key
from azlab.dataplane.lb.process import HAProxyError
from azlab.dataplane.lb.render import render
from azlab.dataplane.lb.view import (
    BackendMember, HealthEvent, LoadBalancerView, NatTarget, RenderOptions, Rendering, ServerRef,
)

__all__ = [
    "ApplyResult", "BackendMember", "HAProxyError", "HealthEvent", "LoadBalancerManager", "LoadBalancerView",
    "NatTarget", "RenderOptions", "Rendering", "RuntimePaths", "ServerRef", "lb_key", "render",
]

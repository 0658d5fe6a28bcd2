"""Route ARM paths to the models and serialise the answers as ARM does."""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass

from werkzeug.wrappers import Request

from azlab.arm.operations import Operation
from azlab.models import resource_filter, resources
from azlab.models.base import Context, ResourceType, check_api_version_format, embedded_items, find_named
from azlab.models.errors import ArmError, not_found, resource_group_not_found
from azlab.models.ids import ResourceId

SUB = r"/subscriptions/(?P<sub>[^/]+)"
ROUTES = [
    ("subscriptions", re.compile(r"^/subscriptions/?$", re.I)),
    ("subscription", re.compile(rf"^{SUB}/?$", re.I)),
    ("locations", re.compile(rf"^{SUB}/locations/?$", re.I)),
    ("providers", re.compile(rf"^{SUB}/providers/?$", re.I)),
    ("provider", re.compile(rf"^{SUB}/providers/(?P<ns>[^/]+)/?$", re.I)),
    ("provider_register", re.compile(rf"^{SUB}/providers/(?P<ns>[^/]+)/register/?$", re.I)),
    ("provider_location", re.compile(rf"^{SUB}/providers/(?P<ns>[^/]+)/locations/(?P<loc>[^/]+)/(?P<rest>.+?)/?$", re.I)),
    ("subscription_type_list", re.compile(rf"^{SUB}/providers/(?P<ns>[^/]+)/(?P<type>[^/]+)/?$", re.I)),
    ("subscription_resources", re.compile(rf"^{SUB}/resources/?$", re.I)),
    ("resource_groups", re.compile(rf"^{SUB}/resourcegroups/?$", re.I)),
    ("resource_group", re.compile(rf"^{SUB}/resourcegroups/(?P<rg>[^/]+)/?$", re.I)),
    ("resource_group_resources", re.compile(rf"^{SUB}/resourcegroups/(?P<rg>[^/]+)/resources/?$", re.I)),
    ("resource", re.compile(rf"^{SUB}/resourcegroups/(?P<rg>[^/]+)/providers/(?P<ns>[^/]+)/(?P<rest>.+?)/?$", re.I)),
]


@dataclass
class Reply:
    status: int
    body: object = None
    headers: dict | None = None


class ArmHandlers:
    def __init__(self, lab):
        self.lab = lab

    # -- entry -------------------------------------------------------------------

    def handle(self, request: Request) -> Reply:
        path = request.path
        for name, pattern in ROUTES:
            match = pattern.match(path)
            if match:
                params = match.groupdict()
                if "sub" in params and params["sub"].lower() != self.lab.identity.subscription_id.lower():
                    raise ArmError(404, "SubscriptionNotFound", f"The subscription '{params['sub']}' could not be found.")
                return getattr(self, f"on_{name}")(request, **params)
        raise ArmError(404, "InvalidResourceType", f"The resource path '{path}' is not served by the lab.")

    @property
    def ctx(self) -> Context:
        return self.lab.context()

    def _api_version(self, request: Request) -> str:
        version = request.args.get("api-version")
        check_api_version_format(version)
        return version

    def _json_body(self, request: Request, required: bool = True) -> dict:
        raw = request.get_data(cache=True)
        if not raw.strip():
            if required:
                raise ArmError(400, "InvalidRequestContent", "The request content was invalid and could not be deserialized: the body is empty.")
            return {}
        try:
            body = request.get_json(force=True, silent=False, cache=True)
        except Exception as exc:  # werkzeug raises BadRequest with the parser's message
            raise ArmError(400, "InvalidRequestContent", f"The request content was invalid and could not be deserialized: {getattr(exc, 'description', exc)}") from None
        if not isinstance(body, dict):
            raise ArmError(400, "InvalidRequestContent", "The request content was invalid and could not be deserialized: expected a JSON object.")
        return body

    # -- subscriptions, providers, locations ---------------------------------------------

    def on_subscriptions(self, request: Request) -> Reply:
        self._api_version(request)
        return Reply(200, {"value": [resources.subscription_body(self.lab.identity.subscription_id, self.lab.identity.tenant_id)]})

    def on_subscription(self, request: Request, sub: str) -> Reply:
        self._api_version(request)
        return Reply(200, resources.subscription_body(self.lab.identity.subscription_id, self.lab.identity.tenant_id))

    def on_locations(self, request: Request, sub: str) -> Reply:
        self._api_version(request)
        return Reply(200, {"value": resources.location_list(self.lab.identity.subscription_id)})

    def on_providers(self, request: Request, sub: str) -> Reply:
        self._api_version(request)
        return Reply(200, {"value": resources.provider_list(self.lab.identity.subscription_id, self.lab.registry)})

    def _provider(self, ns: str) -> dict:
        for provider in resources.provider_list(self.lab.identity.subscription_id, self.lab.registry):
            if provider["namespace"].lower() == ns.lower():
                return provider
        raise ArmError(404, "InvalidResourceNamespace", f"The resource namespace '{ns}' is invalid.")

    def on_provider(self, request: Request, sub: str, ns: str) -> Reply:
        self._api_version(request)
        return Reply(200, self._provider(ns))

    def on_provider_register(self, request: Request, sub: str, ns: str) -> Reply:
        self._api_version(request)
        return Reply(200, self._provider(ns))

    def on_provider_location(self, request: Request, sub: str, ns: str, loc: str, rest: str) -> Reply:
        segments = rest.split("/")
        if segments[0].lower() in ("operations", "operationresults") and len(segments) == 2:
            return self._operation(request, segments[0].lower(), segments[1])
        handler = self.lab.registry.location_handlers.get((ns.lower(), segments[0].lower()))
        if handler is None:
            raise ArmError(404, "InvalidResourceType", f"The resource type '{segments[0]}' could not be found in the namespace '{ns}'.")
        self._api_version(request)
        location = loc.replace(" ", "").lower()
        return Reply(200, handler(self.ctx, location, segments[1:], request.args))

    def _operation(self, request: Request, kind: str, op_id: str) -> Reply:
        op = self.lab.operations.get(op_id)
        if op is None:
            raise ArmError(404, "OperationNotFound", f"The operation '{op_id}' could not be found.")
        now = self.lab.operations.now()
        if kind == "operations":
            status = op.status(now)
            body = {"name": op.id, "status": status, "startTime": _iso(op.started)}
            if status != "InProgress":
                body["endTime"] = _iso(op.done_at)
            if op.error:
                body["error"] = op.error
            elif status == "Succeeded" and op.kind == "action" and op.result is not None:
                body["properties"] = {"output": op.result}  # as Compute's status documents carry it
            headers = {"Retry-After": str(op.retry_after(now))} if status == "InProgress" else None
            return Reply(200, body, headers)
        if op.status(now) == "InProgress":
            return Reply(202, None, {"Location": op.location_url(self.lab.identity.subscription_id, request.args.get("api-version", "")),
                                     "Retry-After": str(op.retry_after(now))})
        if op.error:
            return Reply(500 if op.error.get("code") == "InternalServerError" else 400, {"error": op.error})
        return Reply(200, op.result) if op.result is not None else Reply(204)

    # -- resource groups ------------------------------------------------------------

    def _rg_id(self, rg: str) -> str:
        return resources.resource_group_id(self.lab.identity.subscription_id, rg)

    def _require_rg(self, rg: str) -> dict:
        body = self.lab.store.get(self._rg_id(rg))
        if body is None:
            raise resource_group_not_found(rg)
        return body

    def on_resource_groups(self, request: Request, sub: str) -> Reply:
        self._api_version(request)
        groups = [body for _, body in self.lab.store.list(resources.RESOURCE_GROUP_TYPE)]
        return Reply(200, {"value": [self._rg_view(g) for g in groups]})

    def _rg_view(self, body: dict) -> dict:
        op = self.lab.operations.pending_for(body["id"])
        if op and op.kind == "delete":
            body = copy.deepcopy(body)
            body["properties"]["provisioningState"] = "Deleting"
        return body

    def on_resource_group(self, request: Request, sub: str, rg: str) -> Reply:
        self._api_version(request)
        method = request.method
        rg_id = self._rg_id(rg)
        if method in ("GET", "HEAD"):
            body = self.lab.store.get(rg_id)
            if body is None:
                if method == "HEAD":
                    return Reply(404)
                raise resource_group_not_found(rg)
            return Reply(204 if method == "HEAD" else 200, None if method == "HEAD" else self._rg_view(body))
        if method in ("PUT", "PATCH"):
            body = self._json_body(request)
            with self.lab.store.transaction():
                existing = self.lab.store.get(rg_id)
                if method == "PATCH":
                    if existing is None:
                        raise resource_group_not_found(rg)
                    body = {**existing, **body}
                new = resources.build_resource_group(self.ctx, rg, body, existing)
                self.lab.store.put(new["id"], resources.RESOURCE_GROUP_TYPE, new)
            self.lab.sleep_lro(resources.RESOURCE_GROUP_TYPE, "PUT")
            return Reply(201 if existing is None and method == "PUT" else 200, new)
        if method == "DELETE":
            existing = self.lab.store.get(rg_id)
            if existing is None:
                raise resource_group_not_found(rg)
            op = self.lab.start_operation("Microsoft.Resources", existing["location"], rg_id, "delete",
                                          resources.RESOURCE_GROUP_TYPE, "DELETE", lambda: self.lab.delete_resource_group(rg_id))
            return Reply(202, None, {"Location": op.location_url(sub, request.args["api-version"]),
                                     "Retry-After": str(op.retry_after(self.lab.operations.now()))})
        raise _method_not_allowed(method)

    def on_resource_group_resources(self, request: Request, sub: str, rg: str) -> Reply:
        self._api_version(request)
        rg_body = self._require_rg(rg)
        return Reply(200, {"value": self._resources(request, prefix=rg_body["id"])})

    def on_subscription_resources(self, request: Request, sub: str) -> Reply:
        self._api_version(request)
        return Reply(200, {"value": self._resources(request)})

    def _resources(self, request: Request, prefix: str | None = None) -> list[dict]:
        """Resources - List: every resource but the groups, as $filter asks."""
        wanted = resource_filter.parse(request.args["$filter"]) if request.args.get("$filter") else (lambda _: True)
        return [self._generic_view(body) for _, body in self.lab.store.list(prefix=prefix)
                if body.get("type", "").lower() != resources.RESOURCE_GROUP_TYPE.lower() and not body.get("_unlisted")
                and wanted(body)]

    @staticmethod
    def _public(body: dict) -> dict:
        """Types keep lab-internal state under keys starting with '_'; ARM never shows them."""
        return {k: v for k, v in body.items() if not k.startswith("_")}

    @staticmethod
    def _generic_view(body: dict) -> dict:
        return {k: body[k] for k in ("id", "name", "type", "location", "tags", "sku", "kind") if k in body}

    def on_subscription_type_list(self, request: Request, sub: str, ns: str, type: str) -> Reply:
        action = self.lab.registry.provider_actions.get((ns.lower(), type.lower()))
        if action is not None and request.method == "POST":  # e.g. Microsoft.Storage/checkNameAvailability
            self._api_version(request)
            return Reply(200, action(self.ctx, self._json_body(request)))
        api_version = self._api_version(request)
        listing = self.lab.registry.provider_lists.get((ns.lower(), type.lower()))
        if listing is not None and request.method == "GET":
            return Reply(200, listing(self.ctx, request.args))
        if resources.unserved_type(f"{ns}/{type}"):
            return self._unserved(request, f"{ns}/{type}", api_version)
        rtype = self._type(f"{ns}/{type}", api_version)
        rtype.check_api_version(api_version)
        return Reply(200, {"value": [self.render(rtype, body) for _, body in self.lab.store.list(rtype.full_type)]})

    # -- resources under a resource group ---------------------------------------------

    def _type(self, full_type: str, api_version: str = "") -> ResourceType:
        rtype = self.lab.registry.find(full_type)
        if rtype is None:
            ns = full_type.split("/")[0]
            if not any(t.namespace.lower() == ns.lower() for t in self.lab.registry.types.values()):
                raise ArmError(404, "InvalidResourceNamespace", f"The resource namespace '{ns}' is invalid.")
            raise ArmError(404, "InvalidResourceType", f"The resource type '{full_type.split('/', 1)[-1]}' could not "
                           f"be found in the namespace '{ns}' for api version '{api_version}'.")
        return rtype

    def on_resource(self, request: Request, sub: str, rg: str, ns: str, rest: str) -> Reply:
        # the SDKs' generic operations send an empty parent path (providers/{ns}//{type}/{name})
        segments = [segment for segment in rest.split("/") if segment]
        api_version = self._api_version(request)
        types, names = segments[0::2], segments[1::2]
        extra = None
        if len(segments) == 1 and resources.unserved_type(f"{ns}/{types[0]}"):
            self._require_rg(rg)
            return self._unserved(request, f"{ns}/{types[0]}", api_version)
        if len(segments) == 2 and resources.unserved_type(f"{ns}/{types[0]}"):
            self._require_rg(rg)
            if request.method in ("GET", "HEAD"):
                raise not_found(f"{ns}/{types[0]}", names[0], rg)
            return self._unserved(request, f"{ns}/{types[0]}", api_version)
        if len(segments) % 2:  # a collection, or an action/view on the item before it
            collection_type = "/".join((ns, *types))
            if len(segments) == 1 or self.lab.registry.find(collection_type):
                rtype = self._type(collection_type, api_version)
                rtype.check_api_version(api_version)
                self._require_rg(rg)
                parent = ResourceId(sub, rg, ns, tuple(types[:-1]), tuple(names)) if len(types) > 1 else None
                return self._list(request, rtype, rg, parent)
            extra = types.pop()
        rid = ResourceId(sub, self._canonical_rg(rg), ns, tuple(types), tuple(names))
        rtype = self._type(rid.full_type, api_version)
        rtype.check_api_version(api_version)
        self._require_rg(rg)
        if extra is None and rtype.fixed_names:
            extra = rid.name  # e.g. rollingUpgrades/latest: a view or action below the parent
        if extra is not None:
            return self._extra(request, rtype, rid, extra)
        method = request.method
        if method in ("GET", "HEAD"):
            body = rtype.get_item(self.ctx, rid)
            if rtype.embedded_in:
                body = self._embedded_child(rtype, rid.parent, body)
            if request.args.get("$expand"):
                body = rtype.expand(self.ctx, body, request.args["$expand"])
            return Reply(200, None if method == "HEAD" else self.render(rtype, body))
        if method in ("PUT", "PATCH"):
            return self._put(request, rtype, rid, self._json_body(request))
        if method == "DELETE":
            return self._delete(request, rtype, rid)
        raise _method_not_allowed(method)

    @staticmethod
    def _unserved(request: Request, full_type: str, api_version: str) -> Reply:
        """A registered type the lab does not emulate: none exist, none can be made here."""
        if request.method == "GET":
            return Reply(200, {"value": []})
        raise ArmError(400, "ResourceTypeNotEmulated", f"The lab does not emulate '{full_type}' (api version "
                       f"'{api_version}'): it can be listed (always empty) but not created. See docs/lab.md.")

    def _canonical_rg(self, rg: str) -> str:
        body = self.lab.store.get(self._rg_id(rg))
        return body["name"] if body else rg

    def _list(self, request: Request, rtype: ResourceType, rg: str, parent: ResourceId | None) -> Reply:
        if request.method != "GET":
            raise _method_not_allowed(request.method)
        if rtype.embedded_in:
            parent_body = self.lab.store.get(str(parent))
            if parent_body is None:
                raise not_found(parent.full_type, parent.name, rg)
            rendered = self.render(self._type(parent.full_type), parent_body)
            return Reply(200, {"value": [self._embedded_child(rtype, parent, child)
                                         for child in embedded_items(rendered, rtype.embedded_in)]})
        prefix = str(parent) if parent else self._rg_id(rg)
        if parent is not None and not self.lab.store.exists(prefix):
            raise not_found(parent.full_type, parent.name, rg)
        # a scale set's instances and their NICs are listed under their set only, as on Azure
        items = [self.render(rtype, body) for _, body in self.lab.store.list(rtype.stored_type or rtype.full_type,
                                                                              prefix=prefix)
                 if parent is not None or not body.get("_unlisted")]
        return Reply(200, {"value": items})

    def _embedded_child(self, rtype: ResourceType, parent: ResourceId, child: dict) -> dict:
        """A child read on its own names itself (its ID below its parent) where the parent's
        body does not (a scale set's extensions), and shows what its type derives."""
        segment = rtype.full_type.rsplit("/", 1)[1]
        named = child if "id" in child else {"id": f"{parent}/{segment}/{child['name']}", **child}
        return rtype.render(self.ctx, named)

    def render(self, rtype: ResourceType, body: dict) -> dict:
        """What a GET shows: derived fields, and the state of an operation in flight."""
        if rtype.embedded_in:
            return body
        out = self._public(rtype.render(self.ctx, body))
        op = self.lab.operations.pending_for(body["id"])
        if op is not None and op.kind != "read" and isinstance(out.get("properties"), dict):
            out["properties"] = dict(out["properties"])
            out["properties"]["provisioningState"] = {"delete": "Deleting", "put": "Updating"}.get(op.kind, "Updating")
        return out

    def _put(self, request: Request, rtype: ResourceType, rid: ResourceId, body: dict) -> Reply:
        if not rtype.writable:
            raise _method_not_allowed(request.method)
        ctx = self.ctx
        ctx.api_version = request.args.get("api-version")
        with self.lab.store.transaction():
            if rtype.embedded_in:
                created, stored = self._put_embedded(ctx, rtype, rid, body, request.method)
                owner = rid.parent
            else:
                if rid.parent is not None and not self.lab.store.exists(str(rid.parent)):
                    raise not_found(rid.parent.full_type, rid.parent.name, rid.resource_group)
                existing = self.lab.store.get(str(rid))
                created = existing is None
                if request.method == "PATCH":
                    if existing is None:
                        raise not_found(rtype.full_type, rid.name, rid.resource_group)
                    stored = rtype.patch(ctx, rid, body, existing)
                else:
                    rtype.name_rule.check(rid.name, rtype.full_type)
                    stored = rtype.build(ctx, rid, body, existing)
                self.lab.store.put(stored["id"], rtype.full_type, stored)
                owner = rid
        location = stored.get("location") or (self.lab.store.get(str(owner)) or {}).get("location", "global")
        status = rtype.create_status if created else 200
        if not rtype.long_running:
            self.lab.sleep_lro(rtype.full_type, "PUT")
            return Reply(status, self._rendered_item(rtype, rid))
        op = self.lab.start_operation(rtype.namespace, location, str(owner), "put", rtype.full_type, "PUT")
        headers = self._lro_headers(request, op)
        return Reply(status, self._rendered_item(rtype, rid), headers)

    def _put_embedded(self, ctx: Context, rtype: ResourceType, rid: ResourceId, body: dict, method: str) -> tuple[bool, dict]:
        parent_id = rid.parent
        parent_type = self._type(parent_id.full_type)
        parent = self.lab.store.get(str(parent_id))
        if parent is None:
            raise not_found(parent_id.full_type, parent_id.name, rid.resource_group)
        rtype.name_rule.check(rid.name, rtype.full_type)
        candidate = copy.deepcopy(parent)
        items = embedded_items(candidate, rtype.embedded_in, create=True)
        current = find_named(items, rid.name)
        if method == "PATCH":
            if current is None:
                raise not_found(rtype.full_type, rid.name, rid.resource_group)
            body = {**current, **body, "properties": {**current.get("properties", {}), **(body.get("properties") or {})}}
        child = {**body, "name": current["name"] if current else rid.name}
        if current is not None:
            items[items.index(current)] = child
        else:
            items.append(child)
        stored = parent_type.build(ctx, parent_id, candidate, parent)
        self.lab.store.put(stored["id"], parent_type.full_type, stored)
        return current is None, stored

    def _rendered_item(self, rtype: ResourceType, rid: ResourceId) -> dict:
        if rtype.embedded_in:
            parent_type = self._type(rid.parent.full_type)
            rendered = self.render(parent_type, self.lab.store.get(str(rid.parent)))
            return self._embedded_child(rtype, rid.parent,
                                        find_named(embedded_items(rendered, rtype.embedded_in), rid.name))
        return self.render(rtype, self.lab.store.get(str(rid)))

    def _lro_headers(self, request: Request, op: Operation) -> dict:
        api_version = request.args.get("api-version", "")
        sub = self.lab.identity.subscription_id
        return {
            "Azure-AsyncOperation": op.async_url(sub, api_version),
            "Location": op.location_url(sub, api_version),
            "Retry-After": str(op.retry_after(self.lab.operations.now())),
        }

    def _delete(self, request: Request, rtype: ResourceType, rid: ResourceId) -> Reply:
        if not rtype.writable:
            raise _method_not_allowed(request.method)
        ctx = self.ctx
        existing = ctx.lookup(str(rid))
        if existing is None:
            return Reply(204)
        rtype.check_delete(ctx, rid, existing)
        if rtype.embedded_in:
            parent_id = rid.parent
            parent_type = self._type(parent_id.full_type)
            with self.lab.store.transaction():
                parent = self.lab.store.get(str(parent_id))
                candidate = copy.deepcopy(parent)
                items = embedded_items(candidate, rtype.embedded_in)
                items.remove(find_named(items, rid.name))
                stored = parent_type.build(ctx, parent_id, candidate, parent)
                self.lab.store.put(stored["id"], parent_type.full_type, stored)
            action, location = None, parent.get("location", "global")
        else:
            action, location = (lambda: self.lab.delete_resource(rid)), existing.get("location", "global")
        if not rtype.long_running:
            if action:
                action()
            return Reply(200)
        op = self.lab.start_operation(rtype.namespace, location, str(rid), "delete", rtype.full_type, "DELETE", action)
        return Reply(202, None, self._lro_headers(request, op))

    def _extra(self, request: Request, rtype: ResourceType, rid: ResourceId, name: str) -> Reply:
        """POST actions (start, powerOff, health ...) and GET views (instanceView)."""
        ctx = self.ctx
        ctx.api_version = request.args.get("api-version")
        if request.method == "GET" and name.lower() in {k.lower() for k in rtype.views}:
            method = next(v for k, v in rtype.views.items() if k.lower() == name.lower())
            return Reply(200, getattr(rtype, method)(ctx, rid))
        action = next((k for k in rtype.actions if k.lower() == name.lower()), None)
        if request.method == "POST" and action:
            body = self._json_body(request, required=False)
            readonly = action in rtype.read_actions
            if readonly:
                result = getattr(rtype, rtype.actions[action])(ctx, rid, body)
            else:
                with self.lab.store.transaction():
                    result = getattr(rtype, rtype.actions[action])(ctx, rid, body)
            if not rtype.long_running or action in rtype.sync_actions:
                return Reply(200 if result is not None or action in rtype.sync_actions else 204, result)
            owner = rid.parent if rtype.embedded_in or rtype.fixed_names else rid
            location = (self.lab.store.get(str(owner)) or {}).get("location", "global")
            # a read-only action (e.g. LB rule health) must not show its resource as Updating
            kind = "read" if readonly else "action"
            op = self.lab.start_operation(rtype.namespace, location, str(owner), kind, rtype.full_type, "POST",
                                          result=result, action=action)
            return Reply(202, None, self._lro_headers(request, op))
        raise ArmError(404, "InvalidResourceType", f"'{name}' is not an action or view of '{rtype.full_type}' served by the lab.")


def _method_not_allowed(method: str) -> ArmError:
    return ArmError(405, "MethodNotAllowed", f"The HTTP method '{method}' is not supported for this resource.")


def _iso(ts: float) -> str:
    import datetime as dt

    return dt.datetime.fromtimestamp(ts, dt.timezone.utc).isoformat().replace("+00:00", "Z")

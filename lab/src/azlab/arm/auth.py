"""An AAD-shaped token service for the lab's one service principal.

Answers what MSAL (azure-identity, Azure CLI) asks of login.microsoftonline.com:
instance discovery, the OpenID configuration under ``/{tenant}/``, and the
client-credentials grant on the v2 and v1 token endpoints. Tokens are HS256 JWTs with
the claims Azure clients read (tid, oid, appid, aud, exp).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time

from azlab.settings import LOGIN_HOST, MANAGEMENT_HOST, Identity

TOKEN_LIFETIME = 3600
# ARM accepts tokens for either of its two resource IDs (the CLI asks for the second).
AUDIENCES = (f"https://{MANAGEMENT_HOST}/", "https://management.core.windows.net/")


class AuthError(Exception):
    def __init__(self, status: int, error: str, description: str, code: int):
        super().__init__(description)
        self.status = status
        self.body = {
            "error": error,
            "error_description": f"AADSTS{code}: {description}",
            "error_codes": [code],
            "timestamp": time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime()),
        }


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class TokenService:
    def __init__(self, identity: Identity):
        self.identity = identity
        self._key = identity.signing_key.encode()

    # -- discovery -------------------------------------------------------------------

    def openid_configuration(self, tenant: str, v2: bool) -> dict:
        base = f"https://{LOGIN_HOST}/{tenant}"
        suffix = "/v2.0" if v2 else ""
        return {
            "token_endpoint": f"{base}/oauth2{'/v2.0' if v2 else ''}/token",
            "authorization_endpoint": f"{base}/oauth2{'/v2.0' if v2 else ''}/authorize",
            "device_authorization_endpoint": f"{base}/oauth2{'/v2.0' if v2 else ''}/devicecode",
            "issuer": f"https://login.microsoftonline.com/{self.identity.tenant_id}{suffix}",
            "jwks_uri": f"https://{LOGIN_HOST}/{tenant}/discovery{'/v2.0' if v2 else ''}/keys",
            "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
            "response_types_supported": ["code", "id_token", "code id_token", "token id_token", "token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "tenant_region_scope": "NA",
            "cloud_instance_name": "microsoftonline.com",
            "cloud_graph_host_name": "graph.windows.net",
            "msgraph_host": "graph.microsoft.com",
        }

    def instance_discovery(self, authorization_endpoint: str) -> dict:
        tenant = "common"
        parts = authorization_endpoint.split("/")
        if len(parts) > 3:
            tenant = parts[3]
        return {
            "tenant_discovery_endpoint": f"https://{LOGIN_HOST}/{tenant}/v2.0/.well-known/openid-configuration",
            "api-version": "1.1",
            "metadata": [{
                "preferred_network": LOGIN_HOST,
                "preferred_cache": LOGIN_HOST,
                "aliases": [LOGIN_HOST],
            }],
        }

    # -- tokens ----------------------------------------------------------------------

    def issue(self, tenant: str, form: dict, basic_auth: tuple[str, str] | None) -> dict:
        grant = form.get("grant_type")
        if grant != "client_credentials":
            raise AuthError(400, "unsupported_grant_type", f"The lab only supports the client_credentials grant, not '{grant}'.", 70003)
        client_id, secret = form.get("client_id"), form.get("client_secret")
        if basic_auth:
            client_id, secret = basic_auth
        if tenant not in (self.identity.tenant_id, "organizations", "common"):
            raise AuthError(400, "invalid_request", f"Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID.", 90002)
        if client_id != self.identity.client_id:
            raise AuthError(400, "unauthorized_client", f"Application with identifier '{client_id}' was not found in the directory.", 700016)
        if not secret or not hmac.compare_digest(secret, self.identity.client_secret):
            raise AuthError(401, "invalid_client", "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value.", 7000215)
        scope = form.get("scope") or form.get("resource") or ""
        audience = scope.split()[0].removesuffix(".default") if scope else AUDIENCES[0]
        audience = next((a for a in AUDIENCES if a.rstrip("/") == audience.rstrip("/")), None)
        if audience is None:
            raise AuthError(400, "invalid_resource", f"The resource principal named {scope} was not found in the tenant.", 500011)
        now = int(time.time())
        token = self._sign({
            "aud": audience,
            "iss": f"https://sts.windows.net/{self.identity.tenant_id}/",
            "iat": now, "nbf": now, "exp": now + TOKEN_LIFETIME,
            "appid": client_id, "oid": client_id, "sub": client_id,
            "tid": self.identity.tenant_id, "idtyp": "app", "ver": "1.0",
            "jti": secrets.token_hex(8),
        })
        answer = {"token_type": "Bearer", "expires_in": TOKEN_LIFETIME, "ext_expires_in": TOKEN_LIFETIME, "access_token": token}
        if "resource" in form:  # v1 endpoint shape (ADAL)
            answer.update({"expires_on": str(now + TOKEN_LIFETIME), "not_before": str(now), "resource": form["resource"]})
        return answer

    def _sign(self, claims: dict) -> str:
        header = _b64(json.dumps({"typ": "JWT", "alg": "HS256"}).encode())
        payload = _b64(json.dumps(claims).encode())
        signature = hmac.new(self._key, f"{header}.{payload}".encode(), hashlib.sha256).digest()
        return f"{header}.{payload}.{_b64(signature)}"

    def verify(self, authorization: str | None) -> dict:
        """Claims of a valid bearer token; raise AuthError (401) otherwise."""
        if not authorization or not authorization.lower().startswith("bearer "):
            raise AuthError(401, "AuthenticationFailed", "Authentication failed. The 'Authorization' header is missing.", 0)
        token = authorization.split(None, 1)[1]
        try:
            header, payload, signature = token.split(".")
            expected = hmac.new(self._key, f"{header}.{payload}".encode(), hashlib.sha256).digest()
            if not hmac.compare_digest(_unb64(signature), expected):
                raise ValueError("bad signature")
            claims = json.loads(_unb64(payload))
        except ValueError:
            raise AuthError(401, "InvalidAuthenticationToken", "The access token is invalid.", 0) from None
        if claims.get("exp", 0) < time.time():
            raise AuthError(401, "ExpiredAuthenticationToken", "The access token expiry UTC time is earlier than current UTC time.", 0)
        if claims.get("aud") not in AUDIENCES:
            raise AuthError(401, "InvalidAuthenticationTokenAudience", "The access token has been obtained for wrong audience or resource.", 0)
        return claims

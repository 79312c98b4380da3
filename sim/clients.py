"""The official PyPI clients, each on one keep-alive connection.

``retailcrm`` and ``woocommerce`` send every call through the module-level
``requests.get`` / ``requests.request``: a new ``Session``, a new TCP connection
and a fresh read of the proxy and netrc environment on each call. That costs
more than the fakes' own work, so the suite and the benchmarks ran at the speed
of connection set-up. These subclasses change only the transport: the same URL,
query, headers, body and response handling as the parent's code, sent on a
``requests.Session`` the client keeps (``fakes.base.direct_session``: keep-alive,
no proxy from the environment), as any long-lived script would do.
"""

from __future__ import annotations

from json import dumps as jsonencode
from typing import Any
from urllib.parse import urlencode

import requests
from multidimensional_urlencode import urlencode as query_builder
from requests.auth import HTTPBasicAuth
from retailcrm.response import Response
from retailcrm.versions.v5 import Client as RetailCrmV5
from woocommerce import API as WooApi

from fakes.base import direct_session


class KeepAliveRetailCrm(RetailCrmV5):
    """``retailcrm.v5`` whose ``get``/``post`` reuse one connection (``Base.get``/``Base.post`` otherwise)."""

    def __init__(self, crm_url: str, api_key: str, session: requests.Session | None = None) -> None:
        super().__init__(crm_url, api_key)
        self.session = session or direct_session()

    def get(self, url: str, version: bool = True) -> Response:
        base_url = self.api_url + "/" + self.api_version if version else self.api_url
        requests_url = base_url + url if not self.parameters else base_url + url + "?" + query_builder(self.parameters)
        response = self.session.get(requests_url, headers={"X-API-KEY": self.api_key})
        self.parameters = {}
        return Response(response.status_code, response.json())

    def post(self, url: str, version: bool = True) -> Response:
        base_url = self.api_url + "/" + self.api_version if version else self.api_url
        response = self.session.post(base_url + url, data=self.parameters, headers={"X-API-KEY": self.api_key})
        self.parameters = {}
        return Response(response.status_code, response.json())


class KeepAliveWoo(WooApi):
    """``woocommerce.API`` whose requests reuse one connection (``API.__request`` otherwise)."""

    def __init__(self, url: str, consumer_key: str, consumer_secret: str,
                 session: requests.Session | None = None, **kwargs: Any) -> None:
        super().__init__(url, consumer_key, consumer_secret, **kwargs)
        self.session = session or direct_session()

    def _API__request(self, method: str, endpoint: str, data: Any, params: dict[str, Any] | None = None,
                      **kwargs: Any) -> requests.Response:
        # The parent's __request line for line, with self.session.request for requests.request.
        if params is None:
            params = {}
        url = self._API__get_url(endpoint)  # type: ignore[attr-defined]
        auth = None
        headers = {"user-agent": f"{self.user_agent}", "accept": "application/json"}
        if self.is_ssl is True and self.query_string_auth is False:
            auth = HTTPBasicAuth(self.consumer_key, self.consumer_secret)
        elif self.is_ssl is True and self.query_string_auth is True:
            params.update({"consumer_key": self.consumer_key, "consumer_secret": self.consumer_secret})
        else:
            encoded_params = urlencode(params)
            url = f"{url}?{encoded_params}"
            url = self._API__get_oauth_url(url, method, **kwargs)  # type: ignore[attr-defined]
        if data is not None:
            data = jsonencode(data, ensure_ascii=False).encode("utf-8")
            headers["content-type"] = "application/json;charset=utf-8"
        return self.session.request(method=method, url=url, verify=self.verify_ssl, auth=auth, params=params,
                                    data=data, timeout=self.timeout, headers=headers, **kwargs)
